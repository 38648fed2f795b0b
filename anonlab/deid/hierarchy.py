"""Generalisation hierarchies for quasi-identifiers: ARX-format CSV files and built-in ones.

A hierarchy says, for every distinct value of a column, what it becomes at each level of generalisation: level 0
is the value itself and the last level is usually ``*`` (the value hidden). It is what full-domain (global)
generalisation recodes with, and what Mondrian splits along for a categorical column when the user gives one.

File format (as ARX reads and writes it): one row per original value, one column per level, no header, ``;`` or
``,`` as the separator. Built-in hierarchies need no file: intervals for numbers (widths doubling up to the whole
range), day / month / year for dates, masking trailing characters for fixed-length codes such as ZIP codes, and
value / ``*`` for other categories.

A :class:`Hierarchy` is defined over the *codes* of a column (see :mod:`anonlab.deid.quasi`): ``labels[j][c]`` is
the label of code ``c`` at level ``j``, and ``groups[j][c]`` an integer naming that label's group, so generalising
a whole column is one ``take``.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anonlab.errors import InputError

__all__ = [
    "Hierarchy",
    "read_hierarchy_csv",
    "interval_hierarchy",
    "date_hierarchy",
    "masking_hierarchy",
    "flat_hierarchy",
    "from_table",
]

MISSING_LABEL = "NA"


@dataclass(frozen=True)
class Hierarchy:
    """Labels of every code of one column at every generalisation level.

    ``labels``: tuple of object arrays, one per level, each of length ``n_codes``; level 0 is the value itself.
    ``groups``: tuple of int arrays of the same shape; equal numbers mean the same generalised value.
    ``kind``: where it came from (``"file"``, ``"interval"``, ``"date"``, ``"masking"``, ``"flat"``).
    ``widths``: for interval hierarchies, the numeric width of each level's intervals (for information loss).
    """

    column: str
    labels: tuple
    groups: tuple
    kind: str
    widths: tuple = ()

    def __post_init__(self):
        if len(self.labels) != len(self.groups) or not self.labels:
            raise ValueError("a hierarchy needs as many label arrays as group arrays, at least one")
        n = len(self.labels[0])
        if any(len(a) != n for a in self.labels) or any(len(g) != n for g in self.groups):
            raise ValueError("every level of a hierarchy must label every code")

    @property
    def height(self) -> int:
        """Number of levels above the original values (a lattice dimension has ``height + 1`` nodes)."""
        return len(self.labels) - 1

    def group_sizes(self, level: int) -> np.ndarray:
        """For each code, how many codes share its label at ``level`` (the leaves under its node)."""
        g = self.groups[level]
        return np.bincount(g)[g]

    def to_dict(self) -> dict:
        return {"column": self.column, "kind": self.kind, "levels": self.height + 1}


def _groups(labels: np.ndarray) -> np.ndarray:
    """Integer group ids for an array of labels, numbered in order of first appearance along the codes."""
    _, first, inv = np.unique(labels.astype(str), return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inv]


def _build(column, levels, kind, widths=()) -> Hierarchy:
    labels = tuple(np.asarray(lv, dtype=object) for lv in levels)
    return Hierarchy(column, labels, tuple(_groups(lv) for lv in labels), kind, tuple(widths))


def flat_hierarchy(column: str, value_labels: np.ndarray) -> Hierarchy:
    """Two levels: the value, then ``*`` (for categories with no natural structure)."""
    return _build(column, [value_labels, np.full(len(value_labels), "*", dtype=object)], "flat")


def _nice(x: float) -> float:
    """The smallest of 1, 2, 5 x 10^n that is at least ``x``."""
    if x <= 0:
        return 1.0
    e = math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * 10**e >= x:
            return float(m * 10**e)
    return float(10 ** (e + 1))


def _fmt_num(v: float, integer: bool) -> str:
    return str(int(v)) if integer else format(v, "g")


def interval_hierarchy(column: str, values: np.ndarray, has_missing: bool, max_levels: int = 6) -> Hierarchy:
    """Intervals of doubling width for a numeric column: ``[lo, lo + w)`` written ``lo-hi`` (inclusive ends for
    whole numbers, as ``30-39``), then ``*``. ``values`` are the sorted distinct values (the codes' values);
    a missing code, if any, keeps the label ``NA`` until the top level."""
    values = np.asarray(values, dtype=float)
    integer = bool(np.all(np.mod(values, 1) == 0)) if len(values) else True
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 0.0)
    span = hi - lo
    levels, widths = [], []
    base = _nice(span / 32) if span > 0 else 1.0
    if integer:
        base = max(base, 1.0)
        if base == 1.0 and span > 0:
            base = 2.0
    w = base
    value_labels = np.array([_fmt_num(v, integer) for v in values], dtype=object)
    levels.append(value_labels)
    widths.append(0.0)
    while span > 0 and len(levels) < max_levels and w <= span:
        start = math.floor(lo / w) * w
        left = start + np.floor((values - start) / w) * w
        right = left + w - (1 if integer else 0)
        lab = np.array(
            [
                f"{_fmt_num(a, integer)}-{_fmt_num(b, integer)}" if integer else f"[{a:g}, {a + w:g})"
                for a, b in zip(left, right, strict=True)
            ],
            dtype=object,
        )
        levels.append(lab)
        widths.append(w)
        w *= 2
    levels.append(np.full(len(values), "*", dtype=object))
    widths.append(span)
    if has_missing:
        levels = [np.append(lv, MISSING_LABEL if j < len(levels) - 1 else "*") for j, lv in enumerate(levels)]
    return _build(column, levels, "interval", widths)


def date_hierarchy(column: str, values: np.ndarray, has_missing: bool) -> Hierarchy:
    """Day, month (``2020-03``), year (``2020``), then ``*`` for a date column (``values`` sorted datetime64)."""
    import pandas as pd

    d = pd.DatetimeIndex(values)
    levels = [
        np.asarray(d.strftime("%Y-%m-%d"), dtype=object),
        np.asarray(d.strftime("%Y-%m"), dtype=object),
        np.asarray(d.strftime("%Y"), dtype=object),
        np.full(len(d), "*", dtype=object),
    ]
    if has_missing:
        levels = [np.append(lv, MISSING_LABEL if j < 3 else "*") for j, lv in enumerate(levels)]
    return _build(column, levels, "date")


def masking_hierarchy(column: str, value_labels: np.ndarray) -> Hierarchy:
    """Mask trailing characters one at a time (``02139``, ``0213*``, ... ``*****``), for codes of equal length."""
    s = np.asarray(value_labels, dtype=str)
    width = max((len(x) for x in s), default=1)
    levels = [np.asarray(value_labels, dtype=object)]
    for j in range(1, width + 1):
        levels.append(np.array([x[: max(len(x) - j, 0)] + "*" * min(j, len(x)) for x in s], dtype=object))
    return _build(column, levels, "masking")


def looks_like_code(value_labels: np.ndarray) -> bool:
    """True for values that are all the same length (3+) of letters and digits with at least one digit: ZIP
    codes, postcodes without spaces, ICD-like codes. Such a column gets a masking hierarchy by default."""
    s = [str(x) for x in value_labels if str(x) != MISSING_LABEL]
    if len(s) < 2:
        return False
    n = len(s[0])
    return (
        n >= 3 and all(len(x) == n and x.isalnum() for x in s) and any(ch.isdigit() for ch in "".join(s[:50]))
    )


def from_table(column: str, rows: list[list[str]], value_labels: np.ndarray, source: str) -> Hierarchy:
    """Build a hierarchy over a column's codes from ARX-style rows (first cell: the original value)."""
    width = max(len(r) for r in rows)
    table = {}
    for r in rows:
        r = [c.strip() for c in r]
        r = r + [r[-1]] * (width - len(r))  # ragged rows: the last label carries on upward
        if r[0] in table and table[r[0]] != r:
            raise InputError(f"{source}: value {r[0]!r} appears twice with different labels")
        table[r[0]] = r
    missing = [v for v in value_labels if str(v) not in table and str(v) != MISSING_LABEL]
    if missing:
        raise InputError(
            f"{source}: column {column!r} has value {str(missing[0])!r} that the hierarchy does not list "
            f"({len(missing)} value(s) missing)"
        )
    levels = []
    for j in range(width):
        lab = [
            table[str(v)][j] if str(v) in table else (MISSING_LABEL if j < width - 1 else "*")
            for v in value_labels
        ]
        levels.append(np.array(lab, dtype=object))
    levels[0] = np.asarray(value_labels, dtype=object)
    return _build(column, levels, "file")


def read_rows(path: str | os.PathLike) -> list[list[str]]:
    """The rows of an ARX-format hierarchy CSV (``;`` or ``,`` separated, no header), as lists of text."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such hierarchy file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not valid UTF-8") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise InputError(f"{path}: empty hierarchy file")
    sep = ";" if ";" in lines[0] else ","
    return list(csv.reader(lines, delimiter=sep))


def read_hierarchy_csv(path: str | os.PathLike, column: str, value_labels: np.ndarray) -> Hierarchy:
    """Read an ARX-format hierarchy CSV for ``column`` (``value_labels``: the column's distinct values as text).

    Raises :class:`InputError` naming the file and the first value of the data it does not list.
    """
    return from_table(column, read_rows(path), value_labels, str(path))
