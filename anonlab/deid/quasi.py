"""Quasi-identifiers and sensitive attributes as integer codes, the form every k-anonymity algorithm here works on.

Each quasi-identifier becomes codes ``0..m-1`` in a meaningful order: numbers and dates by value, categories by
their hierarchy's path when one is given (so siblings are adjacent and a cut between codes follows the tree), else
by value. A missing value gets its own last code. ``pos`` places every code on [0, 1] so ranges of different
columns compare (Mondrian's normalised width). Sensitive attributes become codes ordered by value, which is what
the ordered Earth Mover's Distance of t-closeness needs.

Encoding is done once, vectorised (``pandas.factorize`` / ``numpy.unique``); nothing here loops over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anonlab.deid.hierarchy import (
    MISSING_LABEL,
    Hierarchy,
    balanced_hierarchy,
    date_hierarchy,
    integer_coded,
    interval_hierarchy,
    looks_like_code,
    masking_hierarchy,
    ordered_hierarchy,
)

__all__ = [
    "QuasiColumn",
    "SensitiveColumn",
    "encode_quasi",
    "encode_sensitive",
    "apply_order",
    "default_hierarchy",
]


@dataclass(frozen=True)
class QuasiColumn:
    """One quasi-identifier as codes.

    ``kind``: ``"numeric"``, ``"date"`` or ``"category"``. ``values``: the distinct non-missing values in code
    order. ``labels``: the same as text. ``has_missing``: whether code ``len(values)`` stands for missing.
    ``codes``: one code per row (int32). ``pos``: each code's place on [0, 1]. ``hierarchy``: the user's, if given.
    """

    name: str
    kind: str
    values: np.ndarray
    labels: np.ndarray
    has_missing: bool
    codes: np.ndarray
    pos: np.ndarray
    integer: bool = False
    hierarchy: Hierarchy | None = None

    @property
    def n_codes(self) -> int:
        return len(self.values) + int(self.has_missing)

    @property
    def code_labels(self) -> np.ndarray:
        """Text label of every code, the missing code included."""
        return np.append(self.labels, MISSING_LABEL) if self.has_missing else self.labels


@dataclass(frozen=True)
class SensitiveColumn:
    """A sensitive attribute as codes ordered by value (missing last); ``ordered`` for numbers and dates."""

    name: str
    codes: np.ndarray
    n_values: int
    ordered: bool
    hierarchy: Hierarchy | None = None


def _value_labels(values: np.ndarray, kind: str, integer: bool) -> np.ndarray:
    if kind == "date":
        return np.asarray(pd.DatetimeIndex(values).strftime("%Y-%m-%d"), dtype=object)
    if kind == "numeric":
        if integer:
            return np.asarray(values.astype(np.int64).astype(str), dtype=object)
        return np.array([format(v, "g") for v in values], dtype=object)
    return np.asarray(values.astype(str), dtype=object)


def _as_text(s: pd.Series) -> pd.Series:
    """Values as text, missing kept missing (None), without a Python call per row."""
    out = s.astype(str).astype(object)
    out[s.isna().to_numpy()] = None
    return out


def _kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "category"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    return "category"


def encode_quasi(s: pd.Series, hierarchy_rows=None, hierarchy_source: str = "") -> QuasiColumn:
    """Encode one quasi-identifier column. ``hierarchy_rows``: ARX-style rows read from the user's file."""
    from anonlab.deid.hierarchy import from_table

    kind = _kind(s)
    name = str(s.name)
    if kind == "category":
        text = s if pd.api.types.infer_dtype(s, skipna=True) == "string" else _as_text(s)
        codes, uniques = pd.factorize(text, sort=True)
        values = np.asarray(uniques, dtype=object)
    else:
        arr = s.to_numpy()
        codes, uniques = pd.factorize(arr, sort=True)
        values = np.asarray(uniques)
    codes = np.asarray(codes, dtype=np.int64)
    has_missing = bool((codes < 0).any())
    m = len(values)
    codes[codes < 0] = m
    integer = False
    if kind == "numeric":
        values = values.astype(float)
        integer = bool(np.all(np.mod(values, 1) == 0))
    labels = _value_labels(values, kind, integer)
    hierarchy = None
    if hierarchy_rows is not None:
        full_labels = np.append(labels, MISSING_LABEL) if has_missing else labels
        hierarchy = from_table(name, hierarchy_rows, full_labels, hierarchy_source)
        if kind == "category":
            # order codes by the hierarchy's path, top level first, so each subtree is a run of codes; the
            # missing code stays last
            is_missing = np.arange(m + int(has_missing)) == m
            order = np.lexsort([np.asarray(lv, dtype=str) for lv in hierarchy.labels] + [is_missing])
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            codes = rank[codes]
            keep = order[order < m]
            values, labels = values[keep], labels[keep]
            hierarchy = Hierarchy(
                name,
                tuple(lv[order] for lv in hierarchy.labels),
                tuple(g[order] for g in hierarchy.groups),
                hierarchy.kind,
            )
    n_codes = m + int(has_missing)
    if kind == "numeric" and m > 1:
        pos = (values - values[0]) / (values[-1] - values[0])
    elif kind == "date" and m > 1:
        v = values.astype("datetime64[ns]").astype(np.int64).astype(float)
        pos = (v - v[0]) / (v[-1] - v[0])
    else:
        pos = np.arange(m, dtype=float) / max(m - 1, 1)
    if has_missing:
        pos = np.append(pos, 1.0)
    assert len(pos) == n_codes
    return QuasiColumn(
        name, kind, values, labels, has_missing, codes.astype(np.int32), pos, integer, hierarchy
    )


def apply_order(q: QuasiColumn, order) -> QuasiColumn:
    """``q`` (a category without hierarchy) with its codes in the order of ``order``, the values in their order
    (values of the order absent from the data are skipped; the missing code stays last). Mondrian then cuts
    between adjacent values of the order, and a built-in hierarchy groups adjacent values.

    Raises :class:`~anonlab.errors.InputError` for a value of the data that ``order`` does not list."""
    from anonlab.errors import InputError

    rank = {str(v): i for i, v in enumerate(order)}
    labels = [str(x) for x in q.labels]
    unknown = [x for x in labels if x not in rank]
    if unknown:
        raise InputError(
            f"column {q.name!r}: value {unknown[0]!r} is not among the categories of its order "
            f"({len(unknown)} value(s) missing)"
        )
    m = len(labels)
    perm = np.argsort(np.array([rank[x] for x in labels], dtype=np.int64), kind="stable")
    if q.has_missing:
        perm = np.append(perm, m)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    pos = np.arange(m, dtype=float) / max(m - 1, 1)
    if q.has_missing:
        pos = np.append(pos, 1.0)
    return QuasiColumn(
        q.name,
        q.kind,
        q.values[perm[:m]],
        q.labels[perm[:m]],
        q.has_missing,
        inv[q.codes].astype(np.int32),
        pos,
        q.integer,
        None,
    )


def default_hierarchy(q: QuasiColumn, order=None, bounds=None) -> Hierarchy:
    """The built-in hierarchy for a column the user gave none for.

    Numbers: intervals of doubling width (aligned on ``bounds``, the schema's public range, when given); dates:
    day / month / year; codes (:func:`~anonlab.deid.hierarchy.looks_like_code`): right-to-left masking; ordered
    categories (an explicit ``order`` of the values, or integer-coded values): grouping of adjacent values;
    other categories: frequency-balanced grouping. The last two read the values' frequencies from the data
    (fine for k-anonymity; such a hierarchy is not a public fact).
    """
    from anonlab.errors import InputError

    if q.hierarchy is not None:
        return q.hierarchy
    if q.kind == "numeric":
        return interval_hierarchy(q.name, q.values, q.has_missing, bounds=bounds)
    if q.kind == "date":
        return date_hierarchy(q.name, q.values, q.has_missing)
    counts = np.bincount(q.codes, minlength=q.n_codes)
    labels = [str(x) for x in q.labels]
    if order is not None:
        rank = {str(v): i for i, v in enumerate(order)}
        unknown = [x for x in labels if x not in rank]
        if unknown:
            raise InputError(
                f"column {q.name!r}: value {unknown[0]!r} is not among the categories of its order "
                f"({len(unknown)} value(s) missing)"
            )
        return _ordered(q, np.array([rank[x] for x in labels]), counts)
    if looks_like_code(q.labels):
        return masking_hierarchy(q.name, q.code_labels, has_missing=q.has_missing)
    if integer_coded(q.labels) and len(labels) > 2:
        return _ordered(q, np.array([int(x) for x in labels]), counts)
    return balanced_hierarchy(q.name, q.code_labels, counts, has_missing=q.has_missing)


def _ordered(q: QuasiColumn, key: np.ndarray, counts: np.ndarray) -> Hierarchy:
    """An ordered grouping over ``q``'s codes, the values sorted by ``key`` (missing code kept last)."""
    m = len(q.labels)
    perm = np.argsort(key, kind="stable")
    if q.has_missing:
        perm = np.append(perm, m)
    h = ordered_hierarchy(q.name, q.code_labels[perm], counts[perm], has_missing=q.has_missing)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    return _rebuild(h, inv)


def _rebuild(h: Hierarchy, idx: np.ndarray) -> Hierarchy:
    """``h`` re-indexed so that code ``c`` takes what position ``idx[c]`` of ``h`` had."""
    from anonlab.deid.hierarchy import _build

    return _build(h.column, [np.asarray(lv, dtype=object)[idx] for lv in h.labels], h.kind, h.widths)


def encode_sensitive(s: pd.Series) -> SensitiveColumn:
    """Encode a sensitive attribute: codes by sorted value, missing as one more value (last)."""
    kind = _kind(s)
    if kind == "category":
        s = _as_text(s)
    codes, uniques = pd.factorize(s, sort=True)
    codes = np.asarray(codes, dtype=np.int64)
    m = len(uniques)
    if (codes < 0).any():
        codes[codes < 0] = m
        m += 1
    return SensitiveColumn(str(s.name), codes, max(m, 1), kind != "category")
