"""Local suppression to k-anonymity: blank (``*``) as few quasi-identifier cells as possible, weighted by importance.

sdcMicro's ``localSuppression`` suppresses single values (not whole records, not whole columns) until every record
shares its key with at least ``k - 1`` others. Finding the fewest cells is NP-hard (Meyerson and Williams, PODS
2004), so this is a greedy heuristic, vectorised over *suppression patterns*: a pattern is a set of columns to
blank. Patterns are tried from the cheapest (no cell blanked) to the dearest (every quasi-identifier blanked),
the cost of a pattern being the sum of its columns' weights (``importance``: a column that matters more costs
more to blank, so it is blanked last; equal weights mean "fewest cells"). At each pattern, the records still
unsafe are grouped on the columns the pattern keeps; every group of at least ``k`` becomes a released class under
that pattern, the rest go on to dearer patterns. If fewer than ``k`` records are left after the all-blank pattern,
surplus records (beyond ``k``) of the dearest classes join them, so the all-blank class also has ``k``.

Meaning of ``*``: a blanked cell is a value of its own, as ARX treats suppression, so the released table is
k-anonymous in the plain sense (checked by pycanon in the tests): records that share their released values,
stars included, number at least ``k``. sdcMicro instead lets a blank match any value when it counts keys, which
blanks fewer cells but protects less (a blank can be filled in from the other records). The released table is still
personal data; this is not differential privacy.
"""

from __future__ import annotations

import itertools

import numpy as np

from anonlab.deid.methods import SUPPRESSED, Anonymizer, Classes, NotSatisfiable, Partition
from anonlab.errors import UsageError

__all__ = ["LocalSuppression", "suppression_patterns", "MAX_COLUMNS"]

#: Beyond this many quasi-identifiers the 2**d patterns are too many to try.
MAX_COLUMNS = 16


class LocalSuppression(Anonymizer):
    """Local suppression (sdcMicro's ``localSuppression``): blank the fewest (importance-weighted) quasi-identifier
    cells so that every released key is shared by at least ``k`` records; no record is removed.

    Parameters (keyword only):

    - ``k``: as in :class:`~anonlab.deid.methods.Anonymizer` (a star is a value of its own).
    - ``importance``: ``{column: weight}`` (positive numbers; missing columns weigh 1): the cost of blanking one
      cell of that column. Higher means more important, blanked later. ``None``: every cell costs 1, so the fewest
      cells are blanked.
    - ``progress``: accepted for the contract; the search is short.

    l-diversity and t-closeness are not offered here (give ``l`` / ``t`` to ``mondrian`` or ``global``).

    >>> released, report = LocalSuppression(k=5, importance={"age": 3}).apply(df, quasi=q)  # doctest: +SKIP
    """

    name = "suppression"

    def __init__(self, *, k: int, importance: dict | None = None, progress: bool = False):
        self.importance = importance
        super().__init__(k=k, progress=progress)

    def _validate(self) -> None:
        super()._validate()
        imp = self.importance
        if imp is None:
            return
        if not isinstance(imp, dict):
            raise UsageError(f"importance={imp!r}: must map a column to a positive weight")
        for col, w in imp.items():
            if isinstance(w, bool) or not isinstance(w, int | float | np.number) or not w > 0:
                raise UsageError(f"importance={{{col!r}: {w!r}}}: a weight must be a positive number")

    def _partition(self, table, criteria) -> Partition:
        quasi = table.quasi
        names = table.quasi_names
        unknown = sorted(set(self.importance or {}) - set(names))
        if unknown:
            raise UsageError(f"importance= names {unknown[0]!r}, which is not a quasi-identifier (quasi=)")
        if len(quasi) > MAX_COLUMNS:
            raise UsageError(f"suppression takes at most {MAX_COLUMNS} quasi-identifiers, got {len(quasi)}")
        weights = np.array([float((self.importance or {}).get(c, 1.0)) for c in names])
        codes = np.stack([q.codes.astype(np.int64) for q in quasi], axis=1)
        cards = np.array([q.n_codes for q in quasi], dtype=np.int64)
        pats = suppression_patterns(weights)
        pattern_of, group_of = _greedy(codes, cards, pats, int(criteria.k))
        return _as_partition(quasi, codes, pats, pattern_of, group_of)


def suppression_patterns(weights: np.ndarray) -> list[tuple[int, ...]]:
    """Every set of columns (as a sorted tuple of column numbers), cheapest first: by total weight, then by number
    of columns, then in lexicographic order (so the order is fixed)."""
    d = len(weights)
    pats = [p for r in range(d + 1) for p in itertools.combinations(range(d), r)]
    return sorted(pats, key=lambda p: (float(sum(weights[list(p)])), len(p), p))


def _keys(codes: np.ndarray, cards: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """One integer key per row over the columns ``keep`` (mixed radix, re-factorised before it could overflow)."""
    key = np.zeros(len(codes), dtype=np.int64)
    span = 1
    for j in np.nonzero(keep)[0]:
        if span * int(cards[j]) >= 2**62:
            _, key = np.unique(key, return_inverse=True)
            key = key.astype(np.int64)
            span = int(key.max()) + 1
        key = key * int(cards[j]) + codes[:, j]
        span *= int(cards[j])
    return key


def _greedy(codes: np.ndarray, cards: np.ndarray, pats: list, k: int):
    """Pattern number of every row (index into ``pats``) and its group id (unique over the table)."""
    n, d = codes.shape
    if n < k:
        raise NotSatisfiable(f"the table has {n} records, fewer than k={k}")
    pattern_of = np.full(n, -1, dtype=np.int64)
    group_of = np.full(n, -1, dtype=np.int64)
    left = np.arange(n)
    next_group = 0
    for pi, pat in enumerate(pats):
        if not len(left):
            break
        keep = np.ones(d, dtype=bool)
        keep[list(pat)] = False
        key = _keys(codes[left], cards, keep)
        _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
        safe = counts[inv] >= k
        if pi == len(pats) - 1:
            safe[:] = True  # the all-blank pattern takes whatever is left (topped up below)
        rows = left[safe]
        pattern_of[rows] = pi
        group_of[rows] = next_group + inv[safe]
        next_group += len(counts)
        left = left[~safe]
    last = len(pats) - 1
    short = k - int((pattern_of == last).sum())
    if 0 < short < k:
        _top_up(pattern_of, group_of, short, k, last)
    return pattern_of, group_of


def _top_up(pattern_of, group_of, short: int, k: int, last: int) -> None:
    """Bring ``short`` more records into the all-blank class: first surplus records (those beyond ``k`` in their
    class), dearest classes first; if there are not enough, whole classes, dearest first (a class moved whole
    leaves nothing small behind). The table has at least ``k`` records, so this always succeeds."""
    gid = np.where(pattern_of == last, -1, group_of)
    order = np.lexsort((np.arange(len(gid)), gid, -pattern_of))  # dearest pattern first, rows grouped
    order = order[gid[order] >= 0]
    g = gid[order]
    first = np.r_[True, g[1:] != g[:-1]]
    rank = np.arange(len(g)) - np.maximum.accumulate(np.where(first, np.arange(len(g)), 0))
    surplus = order[rank >= k]
    pattern_of[surplus[:short]] = last
    short -= min(short, len(surplus))
    if short <= 0:
        return
    for grp in dict.fromkeys(g[rank < k].tolist()):  # whole classes (now of exactly k), dearest first
        pattern_of[gid == grp] = last
        short -= k
        if short <= 0:
            return
    raise NotSatisfiable(f"the records cannot be grouped into classes of k={k}")  # pragma: no cover


def _as_partition(quasi, codes, pats, pattern_of, group_of) -> Partition:
    """Classes are the released keys (pattern, group); the all-blank records form one class whatever their group.
    Labels: the value's text, or ``*`` where the class's pattern blanks the column; NCP 1 there, else 0."""
    n, d = codes.shape
    last = len(pats) - 1
    gid = np.where(pattern_of == last, -1, group_of)
    _, cls = np.unique(np.stack([pattern_of, gid], axis=1), axis=0, return_inverse=True)
    cls = cls.ravel()
    order = np.argsort(cls, kind="stable")
    sizes = np.bincount(cls)
    ends = np.cumsum(sizes)
    classes = Classes(order, ends - sizes, ends)
    first = order[ends - sizes]
    blank = np.zeros((len(pats), d), dtype=bool)
    for pi, pat in enumerate(pats):
        blank[pi, list(pat)] = True
    cls_blank = blank[pattern_of[first]]  # classes x columns
    labels = []
    for j, q in enumerate(quasi):
        lab = np.asarray(q.code_labels, dtype=object)[codes[first, j]]
        lab[cls_blank[:, j]] = SUPPRESSED
        labels.append(lab)
    ncp = cls_blank.astype(np.float64)
    cells = (cls_blank * sizes[:, None]).sum(axis=0)
    generalisation = {
        q.name: {
            "kind": "local suppression",
            "cells_suppressed": int(cells[j]),
            "distinct_released": len(set(labels[j].tolist())),
            "distinct_original": int(q.n_codes),
        }
        for j, q in enumerate(quasi)
    }
    used = np.bincount(pattern_of, minlength=len(pats))
    search = {
        "cells_suppressed": int(cells.sum()),
        "records_touched": int((used[1:]).sum()),
        "patterns_used": int((used > 0).sum()),
        "patterns_tried": len(pats),
    }
    return Partition(classes, labels, ncp, generalisation, search)
