"""The privacy a release spent, as the command that made it reported it: read back for the evaluation's report.

An evaluation copies this into its report (and, when it states an epsilon, spends that budget on its DP 1-way
baseline); it is the maker's claim, not something the evaluation measures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anonlab.errors import InputError

__all__ = ["read_privacy_report", "sidecar"]


def sidecar(release: str | Path) -> Path | None:
    """The JSON report ``anonlab synth`` writes beside a release (``RELEASE.json``), when it exists."""
    p = Path(str(release) + ".json")
    return p if p.is_file() else None


def read_privacy_report(path: str | Path | None) -> dict[str, Any] | None:
    """The privacy section of a release's JSON report (``privacy``, ``privacy_spent``, ``spent`` or ``budget``, else
    its top-level ``epsilon`` / ``delta`` / ``rho``); ``None`` when ``path`` is ``None`` or the report states that
    no formal guarantee was spent (a non-DP method). Raises :class:`~anonlab.errors.InputError` naming the file
    when it is missing, not JSON, or holds no privacy section."""
    if path is None:
        return None
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a JSON report ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    for key in ("privacy", "privacy_spent", "spent", "budget"):
        if isinstance(data.get(key), dict):
            return data[key]
    if isinstance(data.get("privacy"), str) or "privacy_note" in data:
        return None  # the maker states that no formal guarantee was spent (a non-DP method)
    found = {k: data[k] for k in ("epsilon", "delta", "rho", "mechanism", "accountant") if k in data}
    if not found:
        raise InputError(f"{path}: no privacy section (privacy / epsilon / delta) found")
    return found
