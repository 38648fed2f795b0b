"""docs/python.md runs end to end: every ```python block, in order, in one namespace, in a fresh folder.

The tutorial is the contract of the Python API: if a name in it moves or a signature changes, this fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "python.md"


def _blocks() -> list[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        out.append((text.count("\n", 0, m.start()) + 2, m.group(1)))
    return out


def test_tutorial_has_code():
    assert len(_blocks()) >= 5


def test_tutorial_runs(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__tutorial__"}
    for line, code in _blocks():
        try:
            exec(compile(code, f"{DOC}:{line}", "exec"), namespace)  # noqa: S102 - our own tutorial
        except Exception as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(
                f"docs/python.md, block at line {line} failed: {type(exc).__name__}: {exc}"
            ) from exc
