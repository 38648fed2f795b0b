"""What a DP release may publish: every artifact is built from an allow-list of public parameters and DP outputs.

A DP release's guarantee covers only what passed through its mechanisms. Everything else written around it (a
sidecar, a saved model, a report section, ``--json``, a summary line) must be a public parameter (chosen by the
user, or a fact that does not depend on the data: the method, epsilon, delta, bins, the public schema, package
versions) or a DP output (a noisy answer whose cost the ledger was charged for). A seed, a fingerprint of the
table, an exact count, a training loss or a wall-clock time is neither, and would undo the guarantee.

:func:`published` enforces this structurally: an artifact is a nested dict whose every leaf must match a declared
field of the allow-list, each marked :data:`PUBLIC` or :data:`DP_OUTPUT`. A field not on the list raises
:class:`ArtifactError`, so adding a field to a sidecar without classifying it fails the tests rather than leaking.

Paths are dotted (``privacy.epsilon``); ``*`` matches one key or a list position and ``**`` any remainder, so
``answers.*.value`` covers every answer's value and ``versions.**`` every entry under ``versions``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from anonlab.errors import AnonlabError

__all__ = ["PUBLIC", "DP_OUTPUT", "AllowList", "ArtifactError", "published", "leaf_paths"]

#: A parameter the user chose, or a fact that does not depend on the private data.
PUBLIC = "public"
#: Computed from the private data through a DP mechanism whose cost was charged.
DP_OUTPUT = "dp"
_KINDS = (PUBLIC, DP_OUTPUT)


class ArtifactError(AnonlabError):
    """A DP artifact holds a field that is on no allow-list: a bug in anonlab, never released.

    The exit code is 70 (internal software error), not 2: the user did nothing wrong.
    """

    exit_code = 70


@dataclass(frozen=True)
class AllowList:
    """The fields one kind of DP artifact may hold.

    name : what the artifact is (``"synth sidecar"``), for messages.
    fields : dotted path pattern -> :data:`PUBLIC` or :data:`DP_OUTPUT`.
    """

    name: str
    fields: Mapping[str, str]

    def __post_init__(self) -> None:
        bad = {p: k for p, k in self.fields.items() if k not in _KINDS}
        if bad:
            raise ValueError(f"{self.name}: fields must be {PUBLIC!r} or {DP_OUTPUT!r}: {bad}")

    def kind(self, path: str) -> str | None:
        """The kind of the field at ``path`` (a leaf's dotted path), or ``None`` if it is not allowed. Where several
        patterns match, the most specific one decides (most literal parts, then most parts), so
        ``a.measured: DP_OUTPUT`` overrides ``a.**: PUBLIC`` whatever their order."""
        best: tuple[int, int] | None = None
        found = None
        for pattern, kind in self.fields.items():
            if _match(path, pattern):
                parts = pattern.split(".")
                score = (sum(1 for p in parts if "*" not in p), len(parts))
                if best is None or score > best:
                    best, found = score, kind
        return found

    def extend(self, name: str, fields: Mapping[str, str]) -> AllowList:
        """A new allow-list with these fields added (for an artifact that holds another's fields and more)."""
        return AllowList(name, {**self.fields, **fields})

    def dp_outputs(self, record: Mapping[str, Any]) -> list[str]:
        """The leaf paths of ``record`` that are DP outputs (the fields two neighbouring releases may differ in)."""
        return [p for p, _ in leaf_paths(record) if self.kind(p) == DP_OUTPUT]


def _match(path: str, pattern: str) -> bool:
    parts, pats = path.split("."), pattern.split(".")
    for i, pat in enumerate(pats):
        if pat == "**":
            return len(parts) > i
        if i >= len(parts) or not fnmatch.fnmatchcase(parts[i], pat):
            return False
    return len(parts) == len(pats)


def leaf_paths(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a nested dict/list as (dotted path, value); list positions are numbers; an empty dict or
    list is a leaf of its own."""
    if isinstance(obj, Mapping) and obj:
        for k, v in obj.items():
            yield from leaf_paths(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list | tuple) and obj:
        for i, v in enumerate(obj):
            yield from leaf_paths(v, f"{prefix}.{i}" if prefix else str(i))
    else:
        yield prefix, obj


def published(record: Mapping[str, Any], allow: AllowList) -> dict[str, Any]:
    """Return ``record`` (as a plain dict) after checking every leaf against ``allow``.

    Raises :class:`ArtifactError` naming the first field that is on no allow-list; nothing is written then.
    """
    for path, _ in leaf_paths(record):
        if allow.kind(path) is None:
            raise ArtifactError(
                f"internal error: the {allow.name} would publish {path!r}, which is neither a declared public "
                "parameter nor a DP output; nothing was written (please report this bug)"
            )
    return dict(record)
