"""Generalisation hierarchies for quasi-identifiers: ARX-format CSV files and built-in ones.

A hierarchy says, for every distinct value of a column, what it becomes at each level of generalisation: level 0
is the value itself and the last level is usually ``*`` (the value hidden). It is what full-domain (global)
generalisation recodes with, and what Mondrian splits along for a categorical column when the user gives one.

File format (as ARX reads and writes it): one row per original value, one column per level, no header, ``;`` or
``,`` as the separator. Built-in hierarchies need no file: intervals for numbers (widths doubling up to the whole
range, from the schema's public bounds when given), day / month / year for dates, masking trailing characters for
codes such as ZIP codes, ID or ICD codes (``02140``, ``0214*``, ``021**`` ...; codes are text, leading zeros
kept), grouping of adjacent values for ordered categories (an explicit order, or integer-coded values), and
frequency-balanced grouping for other categories (:func:`balanced_hierarchy`: at each level, groups of similar
total frequency, so a full-domain search has intermediate choices between the values and ``*``).

Frequency-balanced grouping reads the values' frequencies from the data: the hierarchy itself depends on the
table. That is fine for k-anonymity, whose guarantee is about the released table's classes, but such a hierarchy
is not a public fact and must not be reused by a differentially private step.

ARX's hierarchy builders are library functions here (and ``anonlab hierarchy build`` on the command line):
:func:`build_intervals` (numbers: intervals of given widths, each a multiple of the one below),
:func:`build_masking` (codes: right-to-left masking with a mask character), :func:`build_grouping` (categories: an
order and group sizes per level), and :func:`write_hierarchy_csv` writes any of them as an ARX-format CSV that
``anonymize --hierarchy`` reads back.

A :class:`Hierarchy` is defined over the *codes* of a column (see :mod:`anonlab.deid.quasi`): ``labels[j][c]`` is
the label of code ``c`` at level ``j``, and ``groups[j][c]`` an integer naming that label's group, so generalising
a whole column is one ``take``.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from anonlab.errors import InputError, UsageError

__all__ = [
    "Hierarchy",
    "read_hierarchy_csv",
    "write_hierarchy_csv",
    "interval_hierarchy",
    "date_hierarchy",
    "masking_hierarchy",
    "flat_hierarchy",
    "balanced_hierarchy",
    "ordered_hierarchy",
    "looks_like_code",
    "integer_coded",
    "build_intervals",
    "build_masking",
    "build_grouping",
    "build_hierarchy",
    "BUILDERS",
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

    def _repr_html_(self, max_rows: int = 20) -> str:
        import html

        rows = self.to_rows()
        head = "".join(f"<th>level {j}</th>" for j in range(self.height + 1))
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[:max_rows]
        )
        more = f"<p>... {len(rows) - max_rows} more values</p>" if len(rows) > max_rows else ""
        title = html.escape(f"hierarchy of {self.column!r} ({self.kind}, {len(rows)} values)")
        return f"<div><strong>{title}</strong><table><tr>{head}</tr>{body}</table>{more}</div>"

    def to_rows(self) -> list[list[str]]:
        """ARX-format rows: one per code, its label at every level (level 0 first)."""
        table = np.stack([np.asarray(lv, dtype=object).astype(str) for lv in self.labels], axis=1)
        return table.tolist()


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


def interval_hierarchy(
    column: str,
    values: np.ndarray,
    has_missing: bool,
    max_levels: int = 6,
    bounds: tuple[float, float] | None = None,
) -> Hierarchy:
    """Intervals of doubling width for a numeric column: ``[lo, lo + w)`` written ``lo-hi`` (inclusive ends for
    whole numbers, as ``30-39``), then ``*``. ``values`` are the sorted distinct values (the codes' values);
    a missing code, if any, keeps the label ``NA`` until the top level. ``bounds``: the column's public range
    (from a schema); the widths and the intervals' alignment then depend on it, not on the data's extremes."""
    values = np.asarray(values, dtype=float)
    integer = bool(np.all(np.mod(values, 1) == 0)) if len(values) else True
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 0.0)
    if bounds is not None:
        lo, hi = float(min(bounds[0], lo)), float(max(bounds[1], hi))
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
        levels.append(_interval_labels(values, start, w, integer))
        widths.append(w)
        w *= 2
    levels.append(np.full(len(values), "*", dtype=object))
    widths.append(span)
    if has_missing:
        levels = [np.append(lv, MISSING_LABEL if j < len(levels) - 1 else "*") for j, lv in enumerate(levels)]
    return _build(column, levels, "interval", widths)


def _interval_labels(values: np.ndarray, start: float, w: float, integer: bool) -> np.ndarray:
    left = start + np.floor((values - start) / w) * w
    if integer:
        right = left + w - 1
        return np.array(
            [f"{_fmt_num(a, True)}-{_fmt_num(b, True)}" for a, b in zip(left, right, strict=True)],
            dtype=object,
        )
    return np.array([f"[{a:g}, {a + w:g})" for a in left], dtype=object)


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


def _mask_levels(s: list[str], mask: str, n_levels: int | None) -> list[np.ndarray]:
    """Right-to-left masking of text codes: level ``j`` keeps the first ``L - j`` characters (``L``: the longest
    code) and pads with ``mask`` to ``L`` characters, so codes of different lengths that share a prefix
    (``E11``, ``E119``) meet at ``E11*``."""
    width = max((len(x) for x in s), default=1)
    n_levels = width if n_levels is None else min(n_levels, width)
    levels = [np.asarray(s, dtype=object)]
    for j in range(1, n_levels + 1):
        keep = width - j
        levels.append(np.array([x[:keep] + mask * (width - min(keep, len(x))) for x in s], dtype=object))
    return levels


def masking_hierarchy(
    column: str, value_labels: np.ndarray, *, has_missing: bool = False, mask: str = "*"
) -> Hierarchy:
    """Mask trailing characters one at a time (``02139``, ``0213*``, ... ``*****``) for codes (text, leading zeros
    kept). Codes of unequal length are padded with the mask character to the longest. With ``has_missing`` the
    last label of ``value_labels`` is the missing code: it stays ``NA`` until the top level."""
    s = [str(x) for x in value_labels]
    if has_missing:
        s = s[:-1]
    levels = _mask_levels(s, mask, None)
    if has_missing:
        levels = [
            np.append(lv, MISSING_LABEL if j < len(levels) - 1 else mask) for j, lv in enumerate(levels)
        ]
    return _build(column, levels, "masking")


_CODE_CHARS = re.compile(r"^[A-Za-z0-9]+$")
_INTEGER = re.compile(r"^[+-]?\d+$")


def looks_like_code(value_labels: np.ndarray) -> bool:
    """True for codes: values of letters and digits, at least three characters each, with digits, that are all
    the same length (ZIP codes, postcodes without spaces, IDs), or that start with a zero (leading zeros: a
    fixed-width code), or that mix letters and digits (ICD-like codes such as ``E119``). Such a column gets a
    masking hierarchy by default."""
    s = [str(x) for x in value_labels if str(x) != MISSING_LABEL]
    if len(s) < 2 or not all(len(x) >= 3 and _CODE_CHARS.match(x) for x in s):
        return False
    if not any(ch.isdigit() for ch in "".join(s[:200])):
        return False
    if len({len(x) for x in s}) == 1:
        return True
    lead_zero = any(x[0] == "0" for x in s)
    mixed = any(not x.isdigit() and not x.isalpha() for x in s[:200])
    return lead_zero or mixed


def integer_coded(value_labels: np.ndarray) -> bool:
    """True when every value is written as a whole number (``1``, ``2``, ``10``): an integer-coded category,
    ordered by its numbers."""
    s = [str(x) for x in value_labels if str(x) != MISSING_LABEL]
    return bool(s) and all(_INTEGER.match(x) for x in s)


def _set_label(members: list[str]) -> str:
    """A group of unordered values is released as the full set (as Mondrian releases categories), so an
    analyst knows exactly which values it stands for."""
    return members[0] if len(members) == 1 else "{" + ",".join(members) + "}"


def _range_label(members: list[str]) -> str:
    return members[0] if len(members) == 1 else f"{members[0]}..{members[-1]}"


def _default_targets(m: int, n_levels: int | None) -> list[int]:
    """Numbers of groups at the intermediate levels: geometric from ``m`` down to 1, at most three levels."""
    if m <= 2:
        return []
    inter = max(1, min(3, math.ceil(math.log2(m)) - 1)) if n_levels is None else max(0, n_levels - 2)
    out = []
    for j in range(1, inter + 1):
        t = int(math.floor(m ** (1 - j / (inter + 1)) + 0.5))
        t = min(t, (out[-1] if out else m) - 1)
        if t > 1:
            out.append(t)
    return out


def _merge_unordered(groups: list[list[int]], freq: list[float], target: int):
    """Merge the two least frequent groups until ``target`` groups remain (Huffman-like: groups end up of
    similar total frequency; a value more frequent than the target share stays alone)."""
    import heapq

    heap = [(f, min(g), i) for i, (g, f) in enumerate(zip(groups, freq, strict=True))]
    heapq.heapify(heap)
    store = dict(enumerate(groups))
    nxt = len(groups)
    while len(heap) > target:
        f1, _, a = heapq.heappop(heap)
        f2, _, b = heapq.heappop(heap)
        merged = sorted(store.pop(a) + store.pop(b))
        store[nxt] = merged
        heapq.heappush(heap, (f1 + f2, merged[0], nxt))
        nxt += 1
    items = sorted((store[i], f) for f, _, i in heap)
    return [g for g, _ in items], [f for _, f in items]


def _merge_ordered(groups: list[list[int]], freq: list[float], target: int):
    """Merge the adjacent pair of least total frequency until ``target`` groups remain."""
    groups, freq = list(groups), list(freq)
    while len(groups) > target:
        pair = np.asarray(freq[:-1]) + np.asarray(freq[1:])
        i = int(np.argmin(pair))
        groups[i : i + 2] = [groups[i] + groups[i + 1]]
        freq[i : i + 2] = [freq[i] + freq[i + 1]]
    return groups, freq


def _grouping_levels(labels: list[str], partitions: list[list[list[int]]], ordered: bool) -> list[np.ndarray]:
    out = [np.asarray(labels, dtype=object)]
    for part in partitions:
        lab = np.empty(len(labels), dtype=object)
        for g in part:
            members = [labels[i] for i in g]
            lab[g] = _range_label(members) if ordered else _set_label(members)
        out.append(lab)
    return out


def balanced_hierarchy(
    column: str,
    value_labels: np.ndarray,
    counts: np.ndarray,
    *,
    has_missing: bool = False,
    ordered: bool = False,
    n_levels: int | None = None,
) -> Hierarchy:
    """Frequency-balanced grouping of a category's values: at each level the groups of the level below are
    merged, least frequent first, until the level's number of groups is reached (geometric from the number of
    values down to one: e.g. 42 -> 16 -> 6 -> 3 -> ``*``), so every level holds groups of similar total
    frequency. ``ordered``: only adjacent values (in the order of ``value_labels``) are merged, labelled
    ``first..last``; otherwise labels are sets ``{a,b}``. ``counts``: each value's frequency (the codes' counts).

    The hierarchy depends on the data's frequencies: fine for k-anonymity, not a public fact for DP.
    With ``has_missing`` the last value is the missing code: for ``ordered`` it stays ``NA`` until the top;
    otherwise it is grouped like any value."""
    labels = [str(x) for x in value_labels]
    counts = np.asarray(counts, dtype=float)
    keep_na_apart = has_missing and ordered
    m = len(labels) - int(keep_na_apart)
    groups: list[list[int]] = [[i] for i in range(m)]
    freq = [float(c) for c in counts[:m]]
    partitions = []
    for t in _default_targets(m, n_levels):
        groups, freq = (_merge_ordered if ordered else _merge_unordered)(groups, freq, t)
        partitions.append([list(g) for g in groups])
    levels = _grouping_levels(labels[:m], partitions, ordered)
    levels.append(np.full(m, "*", dtype=object))
    if keep_na_apart:
        levels = [np.append(lv, MISSING_LABEL if j < len(levels) - 1 else "*") for j, lv in enumerate(levels)]
    return _build(column, levels, "ordered" if ordered else "balanced")


def ordered_hierarchy(
    column: str, value_labels: np.ndarray, counts: np.ndarray, *, has_missing: bool = False
) -> Hierarchy:
    """Grouping of adjacent values of an ordered category (``value_labels`` in their order), balanced by
    frequency: see :func:`balanced_hierarchy`."""
    return balanced_hierarchy(column, value_labels, counts, has_missing=has_missing, ordered=True)


# ---- ARX's hierarchy builders ----------------------------------------------------------------------------


def _is_multiple(a: float, b: float) -> bool:
    r = a / b
    return abs(r - round(r)) < 1e-9


def build_intervals(
    values=None,
    widths=(5, 10, 20),
    *,
    lower: float | None = None,
    upper: float | None = None,
    column: str = "value",
) -> Hierarchy:
    """ARX's interval builder: level ``j`` puts every value in an interval of width ``widths[j-1]``, aligned on
    ``lower`` (or on a multiple of the first width below the smallest value), then ``*``. Each width must be a
    multiple of the one below, so the levels nest. Whole numbers are labelled ``15-19``, others ``[1.5, 2)``.

    ``values``: the distinct values to cover (e.g. a column's); without them, ``lower`` and ``upper`` (whole
    numbers) give every integer in the public range, so the hierarchy reads nothing from the data.
    Raises :class:`UsageError` for widths that do not nest, :class:`InputError` for a value outside the bounds.
    """
    widths = [float(w) for w in widths]
    if not widths or any(not w > 0 for w in widths):
        raise UsageError("interval widths must be positive numbers, e.g. 5,10,20")
    for a, b in zip(widths, widths[1:], strict=False):
        if not b > a or not _is_multiple(b, a):
            raise UsageError(
                f"interval width {b:g} is not a larger multiple of {a:g}: each level's intervals must nest in "
                "the next"
            )
    if (lower is None) != (upper is None):
        raise UsageError("give both lower and upper bounds, or neither")
    if lower is not None and upper < lower:
        raise UsageError(f"lower bound {lower:g} is above upper bound {upper:g}")
    if values is None:
        if lower is None:
            raise UsageError("give the values (a column of a table) or the bounds lower and upper")
        if lower != int(lower) or upper != int(upper):
            raise UsageError(
                "without values the bounds must be whole numbers (every integer between is covered)"
            )
        vals = np.arange(int(lower), int(upper) + 1, dtype=float)
    else:
        vals = np.unique(np.asarray(values, dtype=float))
        vals = vals[~np.isnan(vals)]
        if not len(vals):
            raise InputError(f"column {column!r}: no numbers to build intervals over")
    if lower is not None:
        out = vals[(vals < lower) | (vals > upper)]
        if len(out):
            raise InputError(
                f"column {column!r}: value {out[0]:g} lies outside the bounds {lower:g} to {upper:g}"
            )
    integer = bool(np.all(np.mod(vals, 1) == 0)) and all(w == int(w) for w in widths)
    origin = float(lower) if lower is not None else math.floor(vals.min() / widths[0]) * widths[0]
    levels = [np.array([_fmt_num(v, integer) for v in vals], dtype=object)]
    for w in widths:
        levels.append(_interval_labels(vals, origin, w, integer))
    levels.append(np.full(len(vals), "*", dtype=object))
    span = float(upper - lower) if lower is not None else float(vals.max() - vals.min())
    return _build(column, levels, "interval", [0.0, *widths, span])


def build_masking(codes, *, mask: str = "*", levels: int | None = None, column: str = "code") -> Hierarchy:
    """ARX's masking builder: right-to-left masking of text codes with ``mask``, one character per level
    (``02140``, ``0214*``, ``021**`` ...), codes of unequal length padded with ``mask`` to the longest.
    ``levels``: how many characters to mask at most (default: all); a ``*`` level is added on top when the last
    level still has more than one label. Codes are text: leading zeros are kept."""
    if len(mask) != 1:
        raise UsageError(f"the mask must be one character, not {mask!r}")
    s = sorted({str(x) for x in codes if x is not None and str(x) != "" and str(x) != "nan"})
    if not s:
        raise InputError(f"column {column!r}: no codes to mask")
    if levels is not None and levels < 1:
        raise UsageError("mask at least one character (levels >= 1)")
    lv = _mask_levels(s, mask, levels)
    if len(set(lv[-1].tolist())) > 1:
        lv.append(np.full(len(s), "*", dtype=object))
    return _build(column, lv, "masking")


def build_grouping(
    values,
    sizes=None,
    *,
    order=None,
    counts=None,
    ordered: bool | None = None,
    column: str = "value",
) -> Hierarchy:
    """ARX's order-based builder: values in an order, then groups of ``sizes[0]`` adjacent values, groups of
    ``sizes[1]`` adjacent groups of the level below, ... (a last, smaller group takes the remainder), then ``*``.
    Groups of ordered values are labelled ``first..last``.

    ``order``: the values in their order (every value of ``values`` must be in it; values absent from the data
    stay in the hierarchy). Without it, integer-coded values are ordered by number and other text
    alphabetically. Without ``sizes``, the groups are frequency-balanced from ``counts`` (a value -> count
    mapping, read from the data: see :func:`balanced_hierarchy`), adjacent in the order when ``ordered`` (the
    default when an order is given or the values are integer-coded), else any values, labelled as sets.
    """
    vals = [str(v) for v in values if v is not None and str(v) != "" and str(v) != "nan"]
    vals = list(dict.fromkeys(vals))
    if order is not None:
        order = [str(v) for v in order]
        if len(set(order)) != len(order):
            raise UsageError("a value is listed twice in the order")
        missing = [v for v in vals if v not in set(order)]
        if missing:
            raise InputError(
                f"column {column!r}: value {missing[0]!r} is not in the order given ({len(missing)} missing)"
            )
        seq = order
    elif integer_coded(np.asarray(vals, dtype=object)):
        seq = sorted(vals, key=int)
    else:
        seq = sorted(vals)
    if not seq:
        raise InputError(f"column {column!r}: no values to group")
    if ordered is None:
        ordered = order is not None or integer_coded(np.asarray(seq, dtype=object))
    if sizes is None:
        if counts is None:
            raise UsageError("give group sizes per level, or the data's frequencies for balanced groups")
        cnt = np.array([float(counts.get(v, 0)) for v in seq])
        h = balanced_hierarchy(column, np.asarray(seq, dtype=object), cnt, ordered=ordered)
        return replace(h, kind="grouping")
    sizes = [int(x) for x in sizes]
    if not sizes or any(x < 2 for x in sizes):
        raise UsageError("group sizes must be whole numbers of at least 2, e.g. 2,2")
    groups = [[i] for i in range(len(seq))]
    partitions = []
    for size in sizes:
        if len(groups) <= 1:
            break
        groups = [sum(groups[i : i + size], []) for i in range(0, len(groups), size)]
        partitions.append([list(g) for g in groups])
    levels = _grouping_levels(seq, partitions, True)
    if len(set(levels[-1].tolist())) > 1:
        levels.append(np.full(len(seq), "*", dtype=object))
    return _build(column, levels, "grouping")


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
        err = InputError(
            f"{source}: column {column!r} has value {str(missing[0])!r} that the hierarchy does not list "
            f"({len(missing)} value(s) missing)"
        )
        # a DP caller (SafePub) names no data value: it rewrites the message from these parts
        err.unlisted = {"source": source, "column": column, "values": [str(v) for v in missing]}
        raise err
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


def write_hierarchy_csv(
    h: Hierarchy,
    path: str | os.PathLike,
    *,
    force: bool = False,
    sep: str = ";",
    protect: tuple = (),
) -> Path:
    """Write ``h`` as an ARX-format hierarchy CSV (one row per value, one column per level, no header, ``;``
    separated by default), atomically through :func:`anonlab.io.write_text`; refused if ``path`` exists (unless
    ``force``) or is one of ``protect`` (the inputs it was built from: never overwritten, ``force`` or not)."""
    from anonlab.io import write_text

    target = Path(path).resolve()
    for p in protect:
        if p is not None and Path(p).resolve() == target:
            raise UsageError(f"{path}: is an input of this command; refusing to overwrite it")
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerows(h.to_rows())
    return write_text(path, buf.getvalue(), force=force)


BUILDERS = ("intervals", "masking", "grouping")


def build_hierarchy(
    kind: str,
    input: str | os.PathLike | None = None,
    column: str | None = None,
    *,
    values=None,
    widths=None,
    lower: float | None = None,
    upper: float | None = None,
    mask: str = "*",
    levels: int | None = None,
    order=None,
    sizes=None,
) -> Hierarchy:
    """Build a hierarchy with one of ARX's builders (``kind``: ``intervals``, ``masking`` or ``grouping``) over
    the values of ``column`` in the table ``input`` (read with :func:`anonlab.io.read_table`, never modified), or
    over ``values`` / ``order`` / the bounds given, without reading any data.

    Only ``grouping`` without ``sizes`` reads frequencies (balanced groups); every other hierarchy depends on the
    data only through which values it lists, and on nothing at all when built from public bounds or an order.
    """
    import pandas as pd

    if kind not in BUILDERS:
        raise UsageError(f"unknown hierarchy builder {kind!r} (use one of {', '.join(BUILDERS)})")
    if (input is None) != (column is None):
        raise UsageError("give the table and its column together (--input FILE --column COL)")
    name = column or "value"
    series = None
    if input is not None:
        from anonlab.io import read_table

        series = read_table(input, columns=[column])[column].dropna()
        if not len(series):
            raise InputError(f"{input}: column {column!r} has no values")
    elif values is not None:
        series = pd.Series([str(v) for v in values], dtype=object)
    if kind == "intervals":
        nums = None
        if series is not None:
            nums = pd.to_numeric(series, errors="coerce")
            bad = nums.isna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                where = f"{input}: " if input is not None else ""
                raise InputError(f"{where}column {name!r}: {str(series.iloc[i])!r} is not a number")
            nums = nums.to_numpy(dtype=float)
        return build_intervals(nums, widths or (5, 10, 20), lower=lower, upper=upper, column=name)
    if kind == "masking":
        if series is None:
            raise UsageError("masking needs the codes: a table's column (--input, --column) or --values")
        return build_masking(series.astype(str).tolist(), mask=mask, levels=levels, column=name)
    text = series.astype(str) if series is not None else None
    if text is None and order is None:
        raise UsageError(
            "grouping needs the values: a table's column (--input, --column), --values or --order"
        )
    vals = text.tolist() if text is not None else list(order)
    # frequencies only from a table: without one, group sizes must be given
    counts = text.value_counts().to_dict() if (input is not None and sizes is None) else None
    return build_grouping(vals, sizes, order=order, counts=counts, column=name)
