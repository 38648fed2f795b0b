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
from anonlab.deid.quasi import QuasiColumn, SensitiveColumn

__all__ = ["Classes", "NotSatisfiable", "mondrian", "describe_classes"]

_ALL = slice(None)
_BIG = np.iinfo(np.int64).max


class NotSatisfiable(ValueError):
    """The whole table (after suppression) does not meet the criteria, so no partition can."""


@dataclass(frozen=True)
class Classes:
    """Equivalence classes as runs of an order array: class ``i`` holds rows ``order[starts[i]:ends[i]]``."""

    order: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return self.ends - self.starts

    @property
    def n_classes(self) -> int:
        return len(self.starts)

    def class_of_row(self, n_rows: int) -> np.ndarray:
        """Class number of each row, -1 for rows in no class (suppressed)."""
        out = np.full(n_rows, -1, dtype=np.int64)
        out[self.order] = np.repeat(np.arange(self.n_classes), self.sizes)
        return out


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


def mondrian(
    quasi: list[QuasiColumn],
    sensitive: list[SensitiveColumn],
    crit: Criteria,
    *,
    strict: bool = False,
    rows: np.ndarray | None = None,
    progress: bool = False,
) -> Classes:
    """Partition ``rows`` (default: all) into classes that each meet ``crit``.

    The t-closeness reference distribution is that of ``rows`` (the records to be released). Raises
    :class:`NotSatisfiable` when ``rows`` as a whole do not meet ``crit``.
    """
    n_all = len(quasi[0].codes)
    order = np.arange(n_all, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64).copy()
    n = len(order)
    k = crit.k
    M = int(max(q.n_codes for q in quasi)) + 1
    # rows x columns, row-major and as narrow as the codes allow: one gather per level fetches whole records
    X = np.empty((n_all, len(quasi)), dtype=np.int16 if M < 2**15 else np.int32)
    for j, q in enumerate(quasi):
        X[:, j] = q.codes
    d = X.shape[1]
    POS = np.zeros((d, M))  # each code's place on [0, 1], one padded row per column
    for j, q in enumerate(quasi):
        POS[j, : len(q.pos)] = q.pos
    col = np.arange(d)[:, None]
    tabs = _cut_tables(quasi, M)
    refs = [(s, distribution(s.codes[order], s.n_values)) for s in sensitive] if crit.needs_sensitive else []

    def sens_at(o):
        return [(s, s.codes[o], p) for s, p in refs]

    if n == 0 or not check_groups(np.array([0]), np.array([n]), crit, sens_at(order))[0]:
        raise NotSatisfiable(f"the {n:,} records to release do not, all together, meet {_describe(crit)}")

    starts, ends = np.array([0], dtype=np.int64), np.array([n], dtype=np.int64)
    leaf_rows, leaf_sizes = [], []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc="mondrian", unit="rec", leave=False)
    while len(starts):
        size = ends - starts
        small = size < 2 * k
        if small.any():
            leaf_rows.append(order[_ranges(starts[small], ends[small])])
            leaf_sizes.append(size[small])
            if bar is not None:
                bar.update(int(size[small].sum()))
            keep = ~small
            idx = _ranges(starts[keep], ends[keep])
            order = order[idx]
            sizes = size[keep]
            ends = np.cumsum(sizes)
            starts = ends - sizes
            if not len(starts):
                break
        nseg = len(starts)
        Xo = X[order]
        mins = np.minimum.reduceat(Xo, starts, axis=0).T.astype(np.int64)
        maxs = np.maximum.reduceat(Xo, starts, axis=0).T.astype(np.int64)
        del Xo
        width = POS[col, maxs] - POS[col, mins] + 1e-9 * (maxs > mins)
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
                X,
                order,
                len(segs) == nseg,
                starts[segs],
                ends[segs],
                dims_all[segs],
                mins[:, segs],
                maxs[:, segs],
                M,
                k,
                strict,
                tabs,
                crit,
                sens_at,
            )
            undecided[segs[cut[segs] >= 0]] = False
        done = undecided
        if done.any():
            leaf_rows.append(order[_ranges(starts[done], ends[done])])
            leaf_sizes.append((ends - starts)[done])
            if bar is not None:
                bar.update(int((ends - starts)[done].sum()))
        go = ~undecided
        s2, c2, e2 = starts[go], cut[go], ends[go]
        new_starts = np.column_stack([s2, c2]).ravel()
        new_ends = np.column_stack([c2, e2]).ravel()
        if done.any():
            order = order[_ranges(new_starts, new_ends)]
        sizes = new_ends - new_starts
        ends = np.cumsum(sizes)
        starts = ends - sizes
    if bar is not None:
        bar.close()
    all_rows = np.concatenate(leaf_rows) if leaf_rows else np.zeros(0, dtype=np.int64)
    sizes = np.concatenate(leaf_sizes) if leaf_sizes else np.zeros(0, dtype=np.int64)
    ends = np.cumsum(sizes)
    return Classes(all_rows, ends - sizes, ends)


def _pick(a, b, sizes, half, k):
    """The more balanced of two candidate left sizes that leave k on each side (else -1)."""
    va = (a >= k) & (sizes - a >= k)
    vb = (b >= k) & (sizes - b >= k)
    da = np.where(va, np.abs(a - half), _BIG)
    db = np.where(vb, np.abs(b - half), _BIG)
    return np.where(va | vb, np.where(da <= db, a, b), -1)


def _try_cut(X, order, whole, ss, ee, dims, mins, maxs, M, k, strict, tabs, crit, sens_at):
    """Cut each segment ``[ss, ee)`` of ``order`` on its dimension; returns the cut position or -1.

    Reorders ``order`` inside these segments by the chosen dimension (harmless: order inside a partition does
    not matter). Every step is one numpy operation over all segments at once, hierarchies included."""
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
    if strict:
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
        passed = check_groups(cs, ce, crit, sens_at(order))
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
