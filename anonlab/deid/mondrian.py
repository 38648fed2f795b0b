"""Mondrian multidimensional partitioning (LeFevre, DeWitt and Ramakrishnan, ICDE 2006), vectorised by level.

Mondrian cuts the table recursively: a partition is split on the quasi-identifier with the widest normalised
range, at the median, as long as both halves still satisfy the privacy criteria; when no quasi-identifier can be
cut, the partition becomes an equivalence class and its records are released with the class's ranges / sets.

*Relaxed* partitioning (the default) may place records sharing the median value on both sides, so both halves
have at least ``k`` records whenever the partition has ``2k``; the cut goes at the multiple of ``k`` nearest the
median, so that halves keep dividing down to classes of about ``k`` records (not ``1.5k`` on average); *strict* partitioning keeps equal values
together (the classes' regions then never overlap). A categorical quasi-identifier with a user hierarchy is
always cut between subtrees: at the coarsest level of the hierarchy where the partition spans more than one
node, at the subtree boundary nearest the median.

l-diversity and t-closeness are checked on both halves of every candidate cut (by :mod:`anonlab.deid.criteria`),
so every class satisfies them by construction. When the first-ranked quasi-identifier cannot be cut the next is
tried, as in the paper.

Speed: instead of recursing partition by partition (a Python call per partition, far too slow for a million
rows), all partitions of one depth are handled together. The active records are kept in one order array where
each partition is a contiguous run; per-partition minima / maxima are ``reduceat`` calls, and the median of every
partition on its chosen column comes from one stable ``argsort`` of ``partition * M + code``. The work per depth
is O(n log n) and there are about ``log2(n / k)`` depths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anonlab.deid.criteria import Criteria, _ranges, check_groups, distribution
from anonlab.deid.methods import Anonymizer, Classes, NotSatisfiable, Partition
from anonlab.deid.quasi import QuasiColumn, SensitiveColumn

__all__ = ["Mondrian", "Classes", "NotSatisfiable", "mondrian", "describe_classes"]

_ALL = slice(None)
_BIG = np.iinfo(np.int64).max


class Mondrian(Anonymizer):
    """Mondrian multidimensional partitioning (LeFevre, DeWitt and Ramakrishnan, ICDE 2006): each class gets
    its own ranges / sets, so it loses least of the methods here.

    Parameters (keyword only): ``k``, ``l``, ``l_kind``, ``c``, ``t``, ``max_suppression``, ``suppress_mark``
    as in :class:`~anonlab.deid.methods.Anonymizer`, and:

    - ``strict``: equal values of a quasi-identifier never go to both sides of a cut, so the classes' regions
      never overlap (relaxed cuts, the default, may split ties and give finer classes).
    - ``max_suppression``: here, the records of the coarsest classes (outliers that widen them) are withheld
      within this fraction and the rest partitioned again; the budget is a ceiling, used only when it lowers GCP.
    - ``progress``: a progress bar on stderr.

    >>> released, report = Mondrian(k=10, l=2).apply(df, quasi=q, sensitive=["income"])  # doctest: +SKIP
    """

    name = "mondrian"

    def __init__(
        self,
        *,
        k: int,
        l: float | None = None,  # noqa: E741
        l_kind: str = "distinct",
        c: float = 2.0,
        t: float | None = None,
        strict: bool = False,
        max_suppression: float = 0.0,
        suppress_mark: bool = False,
        progress: bool = False,
    ):
        self.strict = strict
        super().__init__(
            k=k,
            l=l,
            l_kind=l_kind,
            c=c,
            t=t,
            max_suppression=max_suppression,
            suppress_mark=suppress_mark,
            progress=progress,
        )

    def _partition(self, table, criteria: Criteria) -> Partition:
        quasi, sens = table.quasi, table.sensitive
        classes = mondrian(quasi, sens, criteria, strict=bool(self.strict), progress=bool(self.progress))
        if self.max_suppression > 0:
            classes = _with_suppression(
                classes, quasi, sens, criteria, self.max_suppression, bool(self.strict)
            )
        labels, ncp = describe_classes(classes, quasi)
        generalisation = {
            q.name: {
                "kind": "hierarchy"
                if q.hierarchy is not None and q.kind == "category"
                else ("set" if q.kind == "category" else "range"),
                "distinct_released": len(set(lab.tolist())),
                "distinct_original": int(q.n_codes),
            }
            for q, lab in zip(quasi, labels, strict=True)
        }
        return Partition(classes, labels, ncp, generalisation)


def _with_suppression(classes, quasi, sensitive, crit, max_suppression: float, strict: bool) -> Classes:
    """Withhold the records of the coarsest classes (outliers that widen them) within the budget, then
    partition the rest again: with the outliers gone the remaining classes come out finer. The budget is a
    ceiling: the second partition is kept only when its GCP (withheld records costing 1) is lower."""
    n = len(quasi[0].codes)
    budget = int(np.floor(max_suppression * n + 1e-9))
    if budget < 1:
        return classes
    _, ncp = describe_classes(classes, quasi, with_labels=False)
    score = ncp.mean(axis=1)
    sizes = classes.sizes
    mean = float((score * sizes).sum() / sizes.sum())
    rank = np.argsort(-score, kind="stable")
    cum = np.cumsum(sizes[rank])
    pick = rank[(cum <= budget) & (score[rank] > mean)]
    if not len(pick):
        return classes
    drop = np.zeros(classes.n_classes, dtype=bool)
    drop[pick] = True
    keep_rows = classes.order[~np.repeat(drop, sizes)]
    try:
        again = mondrian(quasi, sensitive, crit, strict=strict, rows=np.sort(keep_rows))
    except NotSatisfiable:
        return classes
    # keep the second partition only if it loses less information, withheld records counted at full loss
    _, ncp2 = describe_classes(again, quasi, with_labels=False)
    gcp1 = float((ncp.mean(axis=1) * sizes).sum()) / n
    gcp2 = (float((ncp2.mean(axis=1) * again.sizes).sum()) + (n - int(again.sizes.sum()))) / n
    return again if gcp2 < gcp1 else classes


def _cut_tables(quasi: list[QuasiColumn], M: int):
    """Hierarchy cut tables of all columns, padded to one shape (columns x levels x codes), or None.

    ``G[j, lev, c]``: group of code ``c`` at level ``lev`` of column ``j``'s hierarchy; ``FIRST`` / ``NXT``: the
    first code of that group and the first code of the next. Levels above a hierarchy's top are padded with one
    root group, which never differs between two codes and so is never chosen as a cut level. ``HAS[j]``: whether
    column ``j`` is cut along a hierarchy."""
    hier = [(j, q) for j, q in enumerate(quasi) if q.kind == "category" and q.hierarchy]
    if not hier:
        return None
    L = max(len(q.hierarchy.groups) for _, q in hier)
    d = len(quasi)
    G = np.zeros((d, L, M), dtype=np.int64)
    FIRST = np.zeros((d, L, M), dtype=np.int64)
    NXT = np.zeros((d, L, M), dtype=np.int64)
    HAS = np.zeros(d, dtype=bool)
    for j, q in hier:
        g = np.stack([np.asarray(x) for x in q.hierarchy.groups])
        n = g.shape[1]
        ar = np.arange(n)
        NXT[j, :, :n] = n
        HAS[j] = True
        for lev in range(g.shape[0]):
            G[j, lev, :n] = g[lev]
            b = np.r_[True, g[lev, 1:] != g[lev, :-1]]
            FIRST[j, lev, :n] = np.maximum.accumulate(np.where(b, ar, 0))
            e = np.r_[g[lev, 1:] != g[lev, :-1], True]
            NXT[j, lev, :n] = np.minimum.accumulate(np.where(e, ar, n)[::-1])[::-1] + 1
    return G, FIRST, NXT, HAS


@dataclass
class _Space:
    """The records as Mondrian cuts them: ``X`` (rows x columns, as narrow as the codes allow, so one gather per
    level fetches whole records), ``POS`` (each code's place on [0, 1], one padded row per column), the
    hierarchy cut tables, and the sensitive columns with their reference distributions (those of the rows to
    release)."""

    X: np.ndarray
    POS: np.ndarray
    M: int
    tabs: tuple | None
    refs: list
    crit: Criteria
    strict: bool

    @classmethod
    def build(cls, quasi, sensitive, crit, order, strict, reference=None) -> _Space:
        n_all = len(quasi[0].codes)
        M = int(max(q.n_codes for q in quasi)) + 1
        X = np.empty((n_all, len(quasi)), dtype=np.int16 if M < 2**15 else np.int32)
        POS = np.zeros((len(quasi), M))
        for j, q in enumerate(quasi):
            X[:, j] = q.codes
            POS[j, : len(q.pos)] = q.pos
        if reference is not None:
            refs = list(zip(sensitive, reference, strict=True)) if crit.needs_sensitive else []
        else:
            refs = (
                [(s, distribution(s.codes[order], s.n_values)) for s in sensitive]
                if crit.needs_sensitive
                else []
            )
        return cls(X, POS, M, _cut_tables(quasi, M), refs, crit, strict)

    def sens_at(self, o):
        return [(s, s.codes[o], p) for s, p in self.refs]


class _Leaves:
    """The finished classes, collected level by level (with an optional progress bar)."""

    def __init__(self, n: int, progress: bool):
        self.rows: list = []
        self.sizes: list = []
        self.bar = None
        if progress:
            from anonlab.progress import bar

            self.bar = bar(n, desc="mondrian", unit="record")

    def add(self, order, starts, ends, mask) -> None:
        self.rows.append(order[_ranges(starts[mask], ends[mask])])
        self.sizes.append((ends - starts)[mask])
        if self.bar is not None:
            self.bar.update(int((ends - starts)[mask].sum()))

    def classes(self) -> Classes:
        if self.bar is not None:
            self.bar.close()
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, dtype=np.int64)
        sizes = np.concatenate(self.sizes) if self.sizes else np.zeros(0, dtype=np.int64)
        ends = np.cumsum(sizes)
        return Classes(rows, ends - sizes, ends)


def _tile(sizes):
    ends = np.cumsum(sizes)
    return ends - sizes, ends


def mondrian(
    quasi: list[QuasiColumn],
    sensitive: list[SensitiveColumn],
    crit: Criteria,
    *,
    strict: bool = False,
    rows: np.ndarray | None = None,
    progress: bool = False,
    reference: list[np.ndarray] | None = None,
) -> Classes:
    """Partition ``rows`` (default: all) into classes that each meet ``crit``.

    The t-closeness reference distribution is that of ``rows`` (the records to be released), or ``reference``
    (one distribution per sensitive column: the whole table's, when ``rows`` are one part of a larger release, as
    in :mod:`anonlab.distributed`'s per-partition Mondrian). Raises :class:`NotSatisfiable` when ``rows`` as a
    whole do not meet ``crit``.
    """
    n_all = len(quasi[0].codes)
    order = np.arange(n_all, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64).copy()
    n = len(order)
    space = _Space.build(quasi, sensitive, crit, order, strict, reference)
    if n == 0 or not check_groups(np.array([0]), np.array([n]), crit, space.sens_at(order))[0]:
        raise NotSatisfiable(f"the {n:,} records to release do not, all together, meet {_describe(crit)}")
    starts, ends = np.array([0], dtype=np.int64), np.array([n], dtype=np.int64)
    leaves = _Leaves(n, progress)
    while len(starts):
        small = (ends - starts) < 2 * crit.k
        if small.any():  # too small to cut: a class
            leaves.add(order, starts, ends, small)
            order = order[_ranges(starts[~small], ends[~small])]
            starts, ends = _tile((ends - starts)[~small])
            if not len(starts):
                break
        order, starts, ends = _split_level(space, order, starts, ends, leaves)
    return leaves.classes()


def _split_level(space: _Space, order, starts, ends, leaves: _Leaves):
    """Cut every partition of one depth on the widest column that can be cut (the next when it cannot, as in
    the paper); partitions no column can cut become classes. Returns the next depth's (order, starts, ends)."""
    nseg, d = len(starts), space.X.shape[1]
    Xo = space.X[order]
    mins = np.minimum.reduceat(Xo, starts, axis=0).T.astype(np.int64)
    maxs = np.maximum.reduceat(Xo, starts, axis=0).T.astype(np.int64)
    del Xo
    col = np.arange(d)[:, None]
    width = space.POS[col, maxs] - space.POS[col, mins] + 1e-9 * (maxs > mins)
    ranked = np.argsort(-width, axis=0, kind="stable")
    cut = np.full(nseg, -1, dtype=np.int64)
    undecided = np.ones(nseg, dtype=bool)
    for r in range(d):
        dims_all = ranked[r]
        cand = undecided & (width[dims_all, np.arange(nseg)] > 0)
        if not cand.any():
            break
        segs = np.nonzero(cand)[0]
        cut[segs] = _try_cut(
            space,
            order,
            len(segs) == nseg,
            starts[segs],
            ends[segs],
            dims_all[segs],
            mins[:, segs],
            maxs[:, segs],
        )
        undecided[segs[cut[segs] >= 0]] = False
    if undecided.any():
        leaves.add(order, starts, ends, undecided)
    go = ~undecided
    s2, c2, e2 = starts[go], cut[go], ends[go]
    new_starts = np.column_stack([s2, c2]).ravel()
    new_ends = np.column_stack([c2, e2]).ravel()
    if undecided.any():
        order = order[_ranges(new_starts, new_ends)]
    starts, ends = _tile(new_ends - new_starts)
    return order, starts, ends


def _pick(a, b, sizes, half, k):
    """The more balanced of two candidate left sizes that leave k on each side (else -1)."""
    va = (a >= k) & (sizes - a >= k)
    vb = (b >= k) & (sizes - b >= k)
    da = np.where(va, np.abs(a - half), _BIG)
    db = np.where(vb, np.abs(b - half), _BIG)
    return np.where(va | vb, np.where(da <= db, a, b), -1)


def _try_cut(space: _Space, order, whole, ss, ee, dims, mins, maxs):
    """Cut each segment ``[ss, ee)`` of ``order`` on its dimension; returns the cut position or -1.

    Reorders ``order`` inside these segments by the chosen dimension (harmless: order inside a partition does
    not matter). Every step is one numpy operation over all segments at once, hierarchies included."""
    X, M, k, crit, tabs = space.X, space.M, space.crit.k, space.crit, space.tabs
    nseg = len(ss)
    sizes = ee - ss
    ar = np.arange(nseg, dtype=np.int64)
    idx = _ALL if whole else _ranges(ss, ee)  # whole: the segments tile ``order``
    local = np.repeat(ar, sizes)
    sub = order[idx]
    key = local * M + X[sub, dims[local]]
    perm = np.argsort(key, kind="stable")
    order[idx] = sub[perm]
    key = key[perm]
    offs = np.cumsum(sizes) - sizes
    half = sizes // 2
    base = ar * M
    med = key[offs + half] - base
    if space.strict:
        left = _pick(
            np.searchsorted(key, base + med) - offs,
            np.searchsorted(key, base + med + 1) - offs,
            sizes,
            half,
            k,
        )
    else:
        # relaxed: cut at the multiple of k nearest the median, so halves keep dividing into classes of about k
        left = np.clip(k * np.rint(half / k).astype(np.int64), k, sizes - k)
    if tabs is not None:
        G, FIRST, NXT, HAS = tabs
        hs = np.nonzero(HAS[dims])[0]
        if len(hs):
            # cut between subtrees: at the coarsest level where the segment spans more than one node
            dj = dims[hs]
            lo, hi, m = mins[dj, hs], maxs[dj, hs], med[hs]
            differ = G[dj, :, lo] != G[dj, :, hi]  # (segments, levels)
            lev = differ.shape[1] - 1 - np.argmax(differ[:, ::-1], axis=1)
            c1 = FIRST[dj, lev, m]
            c2 = np.minimum(NXT[dj, lev, m], hi + 1)
            b0, o0 = base[hs], offs[hs]
            a = np.where(c1 > lo, np.searchsorted(key, b0 + c1) - o0, -1)
            b = np.where(c2 <= hi, np.searchsorted(key, b0 + c2) - o0, -1)
            left[hs] = _pick(a, b, sizes[hs], half[hs], k)
    ok = left >= 0
    if crit.needs_sensitive and ok.any():
        o = np.nonzero(ok)[0]
        cs = np.concatenate([ss[o], ss[o] + left[o]])
        ce = np.concatenate([ss[o] + left[o], ee[o]])
        passed = check_groups(cs, ce, crit, space.sens_at(order))
        ok[o] = passed[: len(o)] & passed[len(o) :]
    return np.where(ok, ss + left, -1)


def _describe(crit: Criteria) -> str:
    parts = [f"k={crit.k}"]
    if crit.l is not None:
        parts.append(
            f"{crit.l_kind} l={crit.l:g}" + (f" (c={crit.c:g})" if crit.l_kind == "recursive" else "")
        )
    if crit.t is not None:
        parts.append(f"t={crit.t:g}")
    return ", ".join(parts)


def describe_classes(
    classes: Classes, quasi: list[QuasiColumn], with_labels: bool = True
) -> tuple[list[np.ndarray], np.ndarray]:
    """Released label of every class on every quasi-identifier, and its NCP.

    Numbers and dates: the class's smallest to largest value (``30-39`` for whole numbers, ``[a, b]``
    otherwise); categories with a hierarchy: the lowest node covering the class's values; other categories: the
    set of values present (``{Divorced,Separated}``). A lone value is released as itself.
    Returns (one object array of labels per column, NCP array classes x columns).
    """

    nc = classes.n_classes
    starts = classes.starts
    labels, ncp = [], np.zeros((nc, len(quasi)))
    if nc == 0:
        return [np.zeros(0, dtype=object) for _ in quasi], ncp
    for j, q in enumerate(quasi):
        c = q.codes[classes.order].astype(np.int64)
        code_labels = q.code_labels
        lo = np.minimum.reduceat(c, starts)
        hi_any = np.maximum.reduceat(c, starts)
        if q.kind == "category" and q.hierarchy is not None:
            g = np.stack([np.asarray(x) for x in q.hierarchy.groups])
            lev = np.argmax(g[:, lo] == g[:, hi_any], axis=0)
            lab_tab = np.stack([np.asarray(x, dtype=object) for x in q.hierarchy.labels])
            labels.append(lab_tab[lev, lo] if with_labels else None)
            gsize = np.stack([q.hierarchy.group_sizes(x) for x in range(g.shape[0])])
            ncp[:, j] = np.where(lev > 0, gsize[lev, lo] / q.n_codes, 0.0)
        elif q.kind == "category":
            lab, nset = _set_labels(c, starts, code_labels, with_labels)
            labels.append(lab)
            ncp[:, j] = np.where(nset > 1, nset / q.n_codes, 0.0)
        else:
            miss = len(q.values) if q.has_missing else -1
            hi = np.maximum.reduceat(np.where(c == miss, -1, c), starts)
            lo_v = np.minimum.reduceat(np.where(c == miss, np.iinfo(np.int64).max, c), starts)
            any_miss = hi_any == miss
            only_miss = hi < 0
            lo_v = np.where(only_miss, 0, lo_v)
            hi_v = np.where(only_miss, 0, hi)
            if with_labels:
                # text is built once per distinct (low, high, missing) triple, not per class
                bracket = q.kind == "date" or not q.integer or (len(q.values) and q.values[0] < 0)
                state = np.where(only_miss, 2, np.where(any_miss, 1, 0))
                m1 = q.n_codes + 1
                key = (lo_v * m1 + hi_v) * 3 + state
                uk, inv = np.unique(key, return_inverse=True)
                ulo, uhi, ust = (uk // 3) // m1, (uk // 3) % m1, uk % 3
                text = []
                for a_, b_, st_ in zip(code_labels[ulo], code_labels[uhi], ust, strict=True):
                    t_ = a_ if a_ == b_ else (f"[{a_}, {b_}]" if bracket else f"{a_}-{b_}")
                    text.append("NA" if st_ == 2 else (t_ + " or NA" if st_ == 1 else t_))
                lab = np.array(text, dtype=object)[inv]
            else:
                lab = None
            labels.append(lab)
            ncp[:, j] = np.where(only_miss, 0.0, q.pos[hi_v] - q.pos[lo_v])
    return labels, ncp


def _set_labels(
    c: np.ndarray, starts: np.ndarray, code_labels: np.ndarray, with_labels: bool = True
) -> tuple[np.ndarray | None, np.ndarray]:
    """``{a,b}`` label and number of distinct codes of every class, from bit sets (one OR-reduce per 63 codes);
    text is built once per distinct set, not per class or row."""
    n_codes = len(code_labels)
    words = (n_codes + 62) // 63
    bits = np.empty((len(starts), words), dtype=np.int64)
    for w in range(words):
        inw = (c // 63) == w
        bits[:, w] = np.bitwise_or.reduceat(np.where(inw, np.left_shift(1, c % 63), 0), starts)
    nset = np.unpackbits(bits.view(np.uint8), axis=1).sum(axis=1).astype(np.int64)
    if not with_labels:
        return None, nset
    if words == 1:  # one 64-bit word per class: a flat unique is far faster than unique over rows
        u, inv = np.unique(bits[:, 0], return_inverse=True)
        uniq = u[:, None]
    else:
        uniq, inv = np.unique(bits, axis=0, return_inverse=True)
    flags = np.unpackbits(uniq.view(np.uint8), axis=1, bitorder="little")  # (sets, words * 64), little-endian
    rows, cols = np.nonzero(flags)
    names = np.asarray(code_labels, dtype=object)[(cols // 64) * 63 + cols % 64].astype(str)
    cuts = np.searchsorted(rows, np.arange(1, len(uniq)))
    text = np.array(
        [m[0] if len(m) == 1 else "{" + ",".join(m) + "}" for m in np.split(names, cuts)], dtype=object
    )
    return text[inv.ravel()], nset
