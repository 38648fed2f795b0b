"""The privacy criteria k-anonymity, l-diversity and t-closeness, checked on many groups of records at once.

Both algorithms (Mondrian's candidate splits, the lattice's candidate recodings) ask the same question of many
groups at a time: does each group have at least k records, at least l well-represented sensitive values, and a
sensitive distribution within t of the whole table's? Here a group is a run ``[start, end)`` of an array of
sensitive codes, and every check is a few numpy operations over a (groups x values) count matrix, built in chunks
so that memory stays bounded however many groups there are.

Meanings, per sensitive attribute (all must hold for every group):

- distinct l-diversity: at least ``l`` distinct values in the group.
- entropy l-diversity: the entropy of the group's values is at least ``log(l)``.
- recursive (c, l)-diversity: ``r_1 < c * (r_l + ... + r_m)`` where ``r_i`` is the i-th largest count.
- t-closeness: the Earth Mover's Distance between the group's distribution and the table's is at most ``t``;
  ordered distance ``1/(m-1)`` between neighbouring values for numbers and dates, equal distance for
  categories, or hierarchical distance when the sensitive attribute has a hierarchy (Li, Li and
  Venkatasubramanian, ICDE 2007).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anonlab.deid.quasi import SensitiveColumn

__all__ = ["Criteria", "group_counts", "emd", "check_groups", "measure_groups"]

_EPS = 1e-9
_CHUNK = 4_000_000  # cells of a (groups x values) count matrix built at once


@dataclass(frozen=True)
class Criteria:
    """What every released equivalence class must satisfy.

    ``k``: each class holds at least k records (re-identification by linkage is at most 1/k).
    ``l``: minimum well-represented sensitive values per class (None: no l-diversity); ``l_kind`` one of
    ``distinct``, ``entropy``, ``recursive`` (with ``c``). ``t``: maximum EMD of a class's sensitive
    distribution from the table's (None: no t-closeness).
    """

    k: int
    l: float | None = None  # noqa: E741
    l_kind: str = "distinct"
    c: float = 2.0
    t: float | None = None

    @property
    def needs_sensitive(self) -> bool:
        return self.l is not None or self.t is not None


def group_counts(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray, n_values: int) -> np.ndarray:
    """(groups x values) counts of ``codes[start:end]`` for each group."""
    sizes = ends - starts
    gid = np.repeat(np.arange(len(starts)), sizes)
    idx = _ranges(starts, ends)
    flat = np.bincount(gid * n_values + codes[idx], minlength=len(starts) * n_values)
    return flat.reshape(len(starts), n_values)


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, e)`` for each pair, without a Python loop."""
    sizes = ends - starts
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    return np.arange(total, dtype=np.int64) + offs


def emd(q: np.ndarray, p: np.ndarray, s: SensitiveColumn) -> np.ndarray:
    """EMD of each row of ``q`` (distributions over the values) from ``p``."""
    m = q.shape[1]
    if m <= 1:
        return np.zeros(q.shape[0])
    d = q - p[None, :]
    if s.hierarchy is not None and not s.ordered:
        return _hierarchical_emd(d, s.hierarchy)
    if s.ordered:
        return np.abs(np.cumsum(d, axis=1)[:, :-1]).sum(axis=1) / (m - 1)
    return 0.5 * np.abs(d).sum(axis=1)


def _hierarchical_emd(d: np.ndarray, h) -> np.ndarray:
    """Hierarchical EMD: at each inner node of height j, the mass moved between its children costs j / H."""
    height = h.height
    total = np.zeros(d.shape[0])
    extra = d  # extra mass of each node of the level below (leaves first)
    below = np.arange(d.shape[1])
    for j in range(1, height + 1):
        g = np.asarray(h.groups[j])
        ng = int(g.max()) + 1
        parent = np.zeros(int(below.max()) + 1, dtype=np.int64)
        parent[below] = g
        onehot = np.zeros((len(parent), ng))
        onehot[np.arange(len(parent)), parent] = 1.0
        pos = np.maximum(extra, 0) @ onehot
        neg = np.maximum(-extra, 0) @ onehot
        total += (j / height) * np.minimum(pos, neg).sum(axis=1)
        extra = extra @ onehot
        below = g
    return total


def _check_counts(counts: np.ndarray, crit: Criteria, s: SensitiveColumn, p: np.ndarray | None) -> np.ndarray:
    size = counts.sum(axis=1)
    ok = np.ones(len(counts), dtype=bool)
    if crit.l is not None:
        if crit.l_kind == "distinct":
            ok &= (counts > 0).sum(axis=1) >= crit.l
        elif crit.l_kind == "entropy":
            ok &= _entropy(counts, size) >= np.log(crit.l) - _EPS
        else:
            ok &= _recursive_ok(counts, crit)
    if crit.t is not None:
        q = counts / np.maximum(size, 1)[:, None]
        ok &= emd(q, p, s) <= crit.t + _EPS
    return ok


def _entropy(counts: np.ndarray, size: np.ndarray) -> np.ndarray:
    q = counts / np.maximum(size, 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * np.log(np.where(q > 0, q, 1)), 0.0)
    return -terms.sum(axis=1)


def _recursive_ok(counts: np.ndarray, crit: Criteria) -> np.ndarray:
    li = int(np.ceil(crit.l))
    r = -np.sort(-counts, axis=1)
    if r.shape[1] < li:
        return np.zeros(len(counts), dtype=bool)
    tail = r[:, li - 1 :].sum(axis=1)
    return r[:, 0] < crit.c * tail


def check_groups(
    starts: np.ndarray,
    ends: np.ndarray,
    crit: Criteria,
    sensitive: list[tuple[SensitiveColumn, np.ndarray, np.ndarray]],
) -> np.ndarray:
    """True for each group ``[start, end)`` meeting k, l and t.

    ``sensitive``: for each sensitive attribute, ``(column, codes aligned with the groups' positions, p)`` where
    ``p`` is the reference distribution for t-closeness (the released table's).
    """
    ok = (ends - starts) >= crit.k
    if not crit.needs_sensitive or len(starts) == 0:
        return ok
    for s, codes, p in sensitive:
        step = max(1, _CHUNK // max(s.n_values, 1))
        for a in range(0, len(starts), step):
            b = min(a + step, len(starts))
            sel = ok[a:b]
            if not sel.any():
                continue
            idx = np.nonzero(sel)[0] + a
            counts = group_counts(codes, starts[idx], ends[idx], s.n_values)
            ok[idx] &= _check_counts(counts, crit, s, p)
    return ok


def measure_groups(
    starts: np.ndarray, ends: np.ndarray, s: SensitiveColumn, codes: np.ndarray, p: np.ndarray, c: float = 2.0
) -> dict:
    """Achieved l (distinct, entropy as exp of the smallest entropy), the largest ``r_1 / tail`` ratio for
    recursive diversity at the achieved distinct l, and t (largest EMD) over the groups."""
    if len(starts) == 0:
        return {"l_distinct": None, "l_entropy": None, "t": None}
    l_d, h_min, t_max = np.inf, np.inf, 0.0
    step = max(1, _CHUNK // max(s.n_values, 1))
    for a in range(0, len(starts), step):
        b = min(a + step, len(starts))
        counts = group_counts(codes, starts[a:b], ends[a:b], s.n_values)
        size = counts.sum(axis=1)
        l_d = min(l_d, int((counts > 0).sum(axis=1).min()))
        h_min = min(h_min, float(_entropy(counts, size).min()))
        q = counts / np.maximum(size, 1)[:, None]
        t_max = max(t_max, float(emd(q, p, s).max()))
    return {"l_distinct": int(l_d), "l_entropy": float(np.exp(h_min)), "t": float(t_max)}


def distribution(codes: np.ndarray, n_values: int) -> np.ndarray:
    """The table's distribution over the sensitive values (reference of t-closeness)."""
    c = np.bincount(codes, minlength=n_values).astype(float)
    return c / max(c.sum(), 1.0)
