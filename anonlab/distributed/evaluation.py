"""Evaluation's marginal distances between a large real table and a large release, counted on a cluster.

:func:`marginal_distances` gives what ``anonlab evaluate``'s marginals part computes
(:func:`anonlab.evaluation.metrics.tv.marginal_tvd` over the codes of a
:class:`~anonlab.evaluation.metrics.discretise.Discretiser` fitted on the real table), for tables that do not fit
in one process. Every input is an exact aggregate: the real numeric columns' value counts (their quantiles, the
bin edges, are read from them exactly as :func:`numpy.quantile` reads the sorted column), the real categorical
columns' value counts with where each value first occurs (the most frequent values, ties broken as pandas breaks
them in-process), and the counts of each measured 1- and 2-way marginal in both tables. So the figures equal the
in-process ones on the same tables.

The distances compare a release with the real table; both are the operator's own data, and the figures are for
the operator (they are not DP outputs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["marginal_distances"]


# -- fitting the Discretiser from aggregates ------------------------------------------------------------------


def _fit_part(part, kinds):
    """One partition's value counts: numeric columns (sorted distinct floats, counts); categorical ones (distinct
    texts in first-occurrence order, counts, first row)."""
    import pandas as pd

    from anonlab.evaluation.metrics.discretise import category_text

    out: dict[str, Any] = {"rows": len(part)}
    for c, kind in kinds.items():
        if kind == "numeric":
            x = pd.to_numeric(part[c], errors="coerce").dropna().astype(float).to_numpy()
            u, k = np.unique(x, return_counts=True)
            out[c] = (u, k.astype(np.int64))
        else:
            text = category_text(part[c])
            uniq, first, counts = np.unique(text, return_index=True, return_counts=True)
            order = np.argsort(first, kind="stable")
            out[c] = (uniq[order], counts[order].astype(np.int64), first[order].astype(np.int64))
    return out


def _merge_numeric(parts):
    u = np.concatenate([p[0] for p in parts])
    k = np.concatenate([p[1] for p in parts])
    uu, inv = np.unique(u, return_inverse=True)
    kk = np.zeros(len(uu), dtype=np.int64)
    np.add.at(kk, inv, k)
    return uu, kk


def _quantile(u: np.ndarray, k: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """``numpy.quantile(x, probs)`` (its default "linear" method) of the column ``x`` holding ``k[i]`` copies of
    each ``u[i]`` (sorted), without building ``x``: the same virtual indexes, order statistics and interpolation."""
    from numpy.lib._function_base_impl import _get_gamma, _get_indexes, _lerp, _QuantileMethods

    n = int(k.sum())
    method = _QuantileMethods["linear"]
    probs = np.asanyarray(probs, dtype=float)
    virtual = np.asanyarray(method["get_virtual_index"](n, probs))
    prev, nxt = _get_indexes(u, virtual, n)
    gamma = _get_gamma(virtual, prev, method)
    cum = np.cumsum(k)

    def at(i):
        i = np.where(i < 0, n + i, i)
        return u[np.searchsorted(cum, i, side="right")]

    return np.asanyarray(_lerp(at(prev), at(nxt), gamma))


def _fitted(kinds, bins: int, max_categories: int, parts: list[dict[str, Any]]):
    """The Discretiser that ``Discretiser(kinds, bins, max_categories).fit(real)`` gives, from the partitions'
    value counts (in partition order)."""
    import pandas as pd

    from anonlab.evaluation.metrics.discretise import Discretiser

    disc = Discretiser(dict(kinds), bins=bins, max_categories=max_categories)
    offsets = np.cumsum([0] + [p["rows"] for p in parts])
    probs = np.linspace(0, 1, bins + 1)[1:-1]
    for c, kind in kinds.items():
        if kind == "numeric":
            u, k = _merge_numeric([p[c] for p in parts])
            edges = np.unique(_quantile(u, k, probs)) if len(u) else np.array([])
            above = u > edges[-1] if len(edges) else np.zeros(0, dtype=bool)
            if len(edges) < bins // 2 and above.any():
                edges = np.unique(np.r_[edges, _quantile(u[above], k[above], probs)])
            disc.edges_[c] = edges
        else:
            count: dict[str, int] = {}
            first: dict[str, int] = {}
            for p, off in zip(parts, offsets, strict=False):
                for v, n, f in zip(*p[c], strict=True):
                    count[v] = count.get(v, 0) + int(n)
                    first.setdefault(v, int(off + f))
            order = sorted(
                count, key=first.__getitem__
            )  # first occurrence, as pandas' value_counts finds them
            s = pd.Series([count[v] for v in order], index=pd.Index(order, dtype=object), dtype=np.int64)
            disc.categories_[c] = list(s.sort_values(ascending=False).index[:max_categories])
    return disc


# -- counting the marginals --------------------------------------------------------------------------------------


def _count_part(part, disc, card, sets):
    codes = disc.transform(part)
    out = []
    for s in sets:
        key = np.zeros(len(part), dtype=np.int64)
        size = 1
        for c in s:
            key = key * card[c] + codes[c].to_numpy()
            size *= card[c]
        out.append(np.bincount(key, minlength=size).astype(np.int64))
    return out


def _tree_sum(delayed_parts, client):
    from anonlab.distributed.stats import _compute, sum_tree

    return _compute(client, sum_tree(list(delayed_parts)))[0]


def _tvd(p: np.ndarray, q: np.ndarray) -> float:
    """As :func:`anonlab.evaluation.metrics.tv.marginal_tvd` computes it from the two count vectors (sparse
    tables compacted to the cells either table holds, as there)."""
    from anonlab.evaluation.metrics.tv import counts_tvd

    if len(p) > 5_000_000:
        held = (p > 0) | (q > 0)
        p, q = p[held], q[held]
    return counts_tvd(p, q)


def marginal_distances(
    real: Any,
    release: Any,
    kinds: dict[str, str] | None = None,
    *,
    bins: int = 10,
    max_categories: int = 50,
    orders: tuple[int, ...] = (1, 2),
    max_sets: int = 300,
    scheduler: Any = None,
) -> dict[int, Any]:
    """The total variation distance of the 1- and 2-way marginals between ``real`` and ``release``, counted on a
    cluster: ``{order: MarginalResult}``, each equal to what evaluation computes in-process,
    ``marginal_tvd(disc.transform(real), disc.transform(release), card, order, sets=choose_sets(...))`` with
    ``disc = Discretiser(kinds, bins=bins, max_categories=max_categories).fit(real)``.

    real, release : paths (CSV/TSV file or glob, Parquet file or folder), Dask DataFrames or pandas DataFrames.
    kinds : ``{column: "numeric" | "categorical"}``; ``None``: every column of ``real`` that ``release`` also
        has, numeric where the real column's dtype is a number. (``anonlab evaluate`` decides kinds from the
        schema and measures the real table it keeps after holding out its test rows, so call this with the
        same kinds and table to reproduce its figures.)
    orders : which marginals (1 and/or 2; 3-way tables are left to the in-process evaluation).
    """
    import dask

    from anonlab.distributed.scheduler import connect
    from anonlab.distributed.stats import _as_dask, _compute
    from anonlab.errors import UsageError
    from anonlab.evaluation.metrics.tv import MarginalResult, choose_sets

    bad = [k for k in orders if k not in (1, 2)]
    if bad:
        raise UsageError(f"orders={tuple(orders)}: only 1- and 2-way marginals are counted on a cluster")
    with connect(scheduler) as client:
        rd, _ = _as_dask(real)
        sd, _ = _as_dask(release)
        if kinds is None:
            import pandas as pd

            kinds = {
                str(c): "numeric" if pd.api.types.is_numeric_dtype(rd._meta[c]) else "categorical"
                for c in rd.columns
                if c in sd.columns
            }
        missing = [c for c in kinds if c not in rd.columns or c not in sd.columns]
        if missing:
            raise UsageError(f"kinds=: column {missing[0]!r} is not in both tables")
        cols = list(kinds)
        fit = dask.delayed(_fit_part, pure=True)
        parts = list(_compute(client, *[fit(p, kinds) for p in rd[cols].to_delayed()]))
        disc = _fitted(kinds, bins, max_categories, parts)
        card = {c: disc.cardinality(c) for c in cols}
        out = {}
        for order in orders:
            if order > len(cols):
                continue
            sets, n_possible = choose_sets(cols, order, max_sets)
            count = dask.delayed(_count_part, pure=True)
            a = _tree_sum([count(p, disc, card, sets) for p in rd[cols].to_delayed()], client)
            b = _tree_sum([count(p, disc, card, sets) for p in sd[cols].to_delayed()], client)
            values = [_tvd(p, q) for p, q in zip(a, b, strict=True)]
            if not values:
                out[order] = MarginalResult(order, 0, n_possible, 0.0, 0.0, (), {})
                continue
            i = int(np.argmax(values))
            out[order] = MarginalResult(
                order=order,
                n_sets=len(sets),
                n_possible=n_possible,
                mean_tvd=float(np.mean(values)),
                max_tvd=float(values[i]),
                worst=tuple(sets[i]),
                per_set={"|".join(s): t for s, t in zip(sets, values, strict=True)},
            )
        return out
