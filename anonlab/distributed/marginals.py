"""MST and AIM on a cluster: the marginals they measure counted by Dask, the noise and the model on the client.

A marginal-based fit reads its table only through exact aggregates: the row count, each wide column's counts
below the public candidate cut points (:func:`anonlab.synth.binning.quantile_ranks`, for the DP quantile bins),
each binned column's values on its density grid (:func:`anonlab.synth.density.density_units`, for the DP
densities), the table's content fingerprint (for the ledger and a seeded release's noise stream), and the
marginals (:class:`~anonlab.synth.marginals.MarginalSource`). All are sums over the rows, so each partition
computes its part with the in-process kernels (the schema's coercion, the encoding) and the parts are added
exactly (integers) in a tree. The client receives aggregates whose size the public domains set, never rows, and
runs the in-process fit on them: the same checks, the same ledger charge before any noise, the same noise from the
same stream, the same mirror descent. So with the same seed, ledger state and rows in the same order, the model,
its cut points and densities, and the rows it samples equal the in-process ones.

Two passes over the table (three with a ledger or a seed, which need its fingerprint): one before the charge
(coercion checks, the row count, what quantile binning and the densities read), one after the cut points are
released (the marginals on the final encoding, and the values outside the public domain for the fit's
diagnostics). With domains read from the data (DP domain discovery, :mod:`anonlab.synth.domains`) the first pass
counts what the discovery reads instead (:func:`~anonlab.synth.domains.domain_counts`: each observed value of a
category and its count, the public grid's cells, the precision histogram, the missing values; a column with more
than :data:`~anonlab.synth.domains.MAX_KEYS` distinct values is refused, naming it, before the charge); after the
charge the client releases the domains from their sum with the in-process code, and one more pass reads the
quantile ranks and densities on the discovered encoding, leaving out the records the discovery leaves out. The
first pass also runs the encoding's own refusals (a missing value where none may be, a category it cannot code),
so a fit is refused before the charge where in-process refuses it. The marginals counted are every clique the
method can ask for: MST's pairs, AIM's ``workload_k``-way workload; smaller cliques are sums of them. On Adult's
15 columns at 32 bins that is 35,290 cells for MST and 2.6 million for AIM at 3-way, in the client's memory and
in each partition's result.

Not on a cluster: NAPSU-MQ, DPVI and the SDV baselines (they read the rows).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from anonlab.errors import InputError, UsageError
from anonlab.synth.marginals import MarginalSource

__all__ = ["CLUSTER_METHODS", "fit_synthesizer", "synthesize", "ClusterMarginals", "exact_marginals"]

#: The synthesis methods that fit on a cluster (they read the table only through its marginals).
CLUSTER_METHODS = ("mst", "aim")


# -- the aggregates, per partition ---------------------------------------------------------------------------


def _coerce(part, schema, keep, source):
    """One partition coerced to the schema, less the records a discovered domain leaves out (a missing value in a
    column of ``keep``: :func:`anonlab.synth.domains.dropped_missing`), or the names of the columns holding a
    value that does not fit (never the value or its row: they are private)."""
    from anonlab.schema import Schema
    from anonlab.synth.domains import kept_rows

    try:
        data = schema.coerce(part, source)
        if keep:
            data = data[kept_rows(data, keep)].reset_index(drop=True)
        return (), data
    except InputError:
        bad = []
        for col in schema.columns:
            try:
                Schema((col,)).coerce(part[[col.name]], source)
            except InputError:
                bad.append(col.name)
        return tuple(bad) or (schema.columns[0].name,), None


def _refusal(data, encoding):
    """What in-process encoding refuses before the charge (a missing value in a column without a missing code, a
    category it cannot code), as ``(column index, 0 for a missing value else 1, message)`` for the first such
    column of this part, or ``None``. The parts' least is the whole table's: the first column in the encoding's
    order, a missing value before an unlisted category, as :meth:`~anonlab.synth.encoding.Encoding.encode`
    checks them."""
    for j, c in enumerate(encoding.columns):
        if c.missing:
            continue  # a column with a missing code refuses nothing
        s = data[c.name]
        missing = bool(s.isna().any())
        unlisted = c.type == "categorical" and c.other is None and not bool(s.isin(c.labels).all())
        if missing or unlisted:  # cheap tests first; the message is the encoding's own
            try:
                c.encode(s)
            except InputError as err:
                return (j, 0 if missing else 1, str(err))
    return None


def _least(a, b):
    return min((r for r in (a, b) if r is not None), default=None)


def _scan_part(part, schema, keep, encoding, wide, dplan, source):
    """What a fit reads before its charge: the coercion's checks, the row count, the quantile ranks of the wide
    columns and the density units of the binned ones (with discovered domains: after the discovery, on its
    encoding and the records it keeps)."""
    from anonlab.synth.binning import quantile_ranks
    from anonlab.synth.density import density_units

    bad, data = _coerce(part, schema, keep, source)
    if bad:
        return {"bad": bad}
    refused = _refusal(data, encoding)
    if refused:
        return {"bad": (), "refused": refused}
    by_name = {c.name: c for c in encoding.columns}
    ranks = {n: quantile_ranks(by_name[n].values(data[n]), by_name[n]) for n in wide}
    units = {}
    if dplan is not None:
        for n, *_ in dplan.columns:
            units[n] = density_units(by_name[n].density_values(data[n]), dplan, n)
    return {"bad": (), "refused": None, "n": len(data), "ranks": ranks, "units": units}


def _merge_units(a, b):
    u = np.concatenate([a[0], b[0]])
    k = np.concatenate([a[1], b[1]])
    uu, inv = np.unique(u, return_inverse=True)
    kk = np.zeros(len(uu), dtype=np.int64)
    np.add.at(kk, inv, k)
    return uu, kk


def _merge_scan(a, b):
    bad = tuple(dict.fromkeys((*a["bad"], *b["bad"])))
    if bad:
        return {"bad": bad}
    refused = _least(a["refused"], b["refused"])
    if refused:
        return {"bad": (), "refused": refused}
    return {
        "bad": (),
        "refused": None,
        "n": a["n"] + b["n"],
        "ranks": {k: a["ranks"][k] + b["ranks"][k] for k in a["ranks"]},
        "units": {k: _merge_units(a["units"][k], b["units"][k]) for k in a["units"]},
    }


def _discovery_part(part, schema, keep, encoding, plan, max_keys, source):
    """What a fit with discovered domains reads before its charge: the coercion's and the provisional encoding's
    checks, the row count and the discovery's exact aggregates (:func:`anonlab.synth.domains.domain_counts`; a
    column with more than ``max_keys`` distinct values is named, not counted)."""
    from anonlab.synth.domains import TooManyKeys, check_keys, domain_counts

    bad, data = _coerce(part, schema, keep, source)
    if bad:
        return {"bad": bad}
    refused = _refusal(data, encoding)
    if refused:
        return {"bad": (), "refused": refused, "many": ()}
    try:
        counts = check_keys(domain_counts(data, schema, plan), max_keys)
    except TooManyKeys as err:
        return {"bad": (), "refused": None, "many": err.columns}
    return {"bad": (), "refused": None, "many": (), "n": len(data), "domains": counts}


def _merge_discovery(a, b, max_keys):
    from anonlab.synth.domains import TooManyKeys, add_domain_counts

    bad = tuple(dict.fromkeys((*a["bad"], *b["bad"])))
    if bad:
        return {"bad": bad}
    refused = _least(a["refused"], b["refused"])
    if refused:
        return {"bad": (), "refused": refused, "many": ()}
    many = tuple(dict.fromkeys((*a["many"], *b["many"])))
    if not many:
        try:
            return {"bad": (), "refused": None, "many": (), "n": a["n"] + b["n"],
                    "domains": add_domain_counts(a["domains"], b["domains"], max_keys)}  # fmt: skip
        except TooManyKeys as err:
            many = err.columns
    return {"bad": (), "refused": None, "many": many}


def _count_part(part, schema, keep, encoding, cliques, source):
    """One partition's marginals on ``cliques`` (int64 counts, flat), and its values outside the public domain
    (clamped or coded missing, per column: the fit's diagnostics)."""
    bad, data = _coerce(part, schema, keep, source)
    if bad:  # checked in the first pass; a table that changed since is refused the same way
        return {"bad": bad}
    codes, outside = encoding.encode(data)
    sizes = encoding.sizes
    cols = np.ascontiguousarray(codes.T)  # a column at a time, not strided through the rows
    out = []
    for clique in cliques:
        cells = math.prod(int(sizes[c]) for c in clique)
        dtype = np.int32 if cells < 2**31 else np.int64  # the flat index, as ravel_multi_index gives it
        flat = cols[clique[0]].astype(dtype) if clique else np.zeros(len(data), dtype=dtype)
        for c in clique[1:]:
            flat *= int(sizes[c])
            flat += cols[c].astype(dtype)
        out.append(np.bincount(flat, minlength=cells).astype(np.int64))
    return {"bad": (), "counts": out, "outside": outside}


def _merge_counts(a, b):
    bad = tuple(dict.fromkeys((*a["bad"], *b["bad"])))
    if bad:
        return {"bad": bad}
    outside = dict(a["outside"])
    for k, v in b["outside"].items():
        outside[k] = outside.get(k, 0) + v
    counts = [x + y for x, y in zip(a["counts"], b["counts"], strict=True)]
    return {"bad": (), "counts": counts, "outside": outside}


# -- the table on the cluster ----------------------------------------------------------------------------------


class _Fixed:
    """The arguments every partition's kernel shares, as one value Dask neither walks nor tokenizes item by item
    (its token: the hash of their pickle, so the same arguments are the same task)."""

    def __init__(self, args: tuple):
        import hashlib
        import pickle

        self.args = args
        self._token = hashlib.sha256(pickle.dumps(args, protocol=5)).hexdigest()

    def __dask_tokenize__(self):
        return self._token


def _apply(kernel, part, fixed: _Fixed):
    return kernel(part, *fixed.args)


@dataclasses.dataclass
class _Table:
    """A partitioned table, the schema it is read with, and where its aggregates are computed."""

    ddf: Any  # every column, as read (the fingerprint reads them all)
    schema: Any
    source: str
    client: Any
    keep: tuple[str, ...] = ()  # after a discovery: columns whose missing values leave their record out

    def _reduce(self, kernel, merge, *args, merge_args=()):
        import dask

        from anonlab.distributed.stats import _compute

        ddf = self.ddf[list(self.schema.names)]
        # the schema, the encoding and the plans enter the graph once, as one opaque value: passed to each
        # partition's call as they are, Dask walks and tokenizes their every list item per partition on the
        # client (and ships a copy with each task), which grew with the partitions, so with the rows
        fixed = dask.delayed(_Fixed((self.schema, self.keep, *args, self.source)), pure=True)
        parts = [dask.delayed(_apply, pure=True)(kernel, p, fixed) for p in ddf.to_delayed()]
        join = dask.delayed(merge, pure=True)
        while len(parts) > 1:
            parts = [join(parts[i], parts[i + 1], *merge_args) if i + 1 < len(parts) else parts[i]
                     for i in range(0, len(parts), 2)]  # fmt: skip
        if not parts:  # no partition: the empty table's aggregates
            return kernel(ddf._meta.iloc[:0], self.schema, self.keep, *args, self.source)
        out = _compute(self.client, parts[0])[0]
        if out.get("refused"):  # as in-process encoding refuses, before the charge
            raise InputError(out["refused"][2])
        if out["bad"]:
            first = next(c for c in self.schema.columns if c.name in out["bad"])
            raise InputError(
                f"{self.source}: column {first.name!r} holds a value that is not a valid {first.type} (the "
                "schema's type); the values and their rows are not shown, as they are private"
            )
        return out

    def scan(self, encoding, wide, dplan) -> dict[str, Any]:
        return self._reduce(_scan_part, _merge_scan, encoding, tuple(wide), dplan)

    def discovery(self, encoding, plan, max_keys: int) -> dict[str, Any]:
        """The row count and the discovery's exact aggregates, summed (a column past ``max_keys`` values refused
        naming it, before anything is charged)."""
        out = self._reduce(
            _discovery_part, _merge_discovery, encoding, plan, max_keys, merge_args=(max_keys,)
        )
        if out["many"]:
            many = out["many"]
            names = ("column " if len(many) == 1 else "columns ") + ", ".join(repr(n) for n in many)
            raise UsageError(
                f"{self.source}: {names} {'holds' if len(many) == 1 else 'hold'} more than {max_keys:,} distinct "
                "values; DP domain discovery "
                "on a cluster brings every observed value to the client (each is a key of its noisy histogram): "
                "state the column's categories in the schema (with an `other` label for the rest), mark it an "
                "identifier, or trust its domain as public (trust_domains=True)"
            )
        return out

    def counts(self, encoding, cliques) -> tuple[list[np.ndarray], dict[str, int]]:
        out = self._reduce(_count_part, _merge_counts, encoding, tuple(cliques))
        return out["counts"], out["outside"]

    def fingerprint(self) -> str:
        from anonlab.distributed.stats import _fingerprint

        return _fingerprint(self.ddf, self.client)


def _fold(m: np.ndarray, axis: int, lookup: np.ndarray, size: int) -> np.ndarray:
    """``m`` with the codes of ``axis`` mapped through ``lookup`` (counts of merged codes added)."""
    moved = np.moveaxis(m, axis, 0)
    out = np.zeros((size, *moved.shape[1:]), dtype=m.dtype)
    np.add.at(out, lookup, moved)
    return np.moveaxis(out, 0, axis)


class ClusterMarginals(MarginalSource):
    """The exact marginals of a table on a cluster, in place of its codes in an MST or AIM fit.

    The marginals of ``cliques`` are counted in one pass when first needed; any clique inside one of them is
    their sum (exact: integer counts), any other is counted in a pass of its own. Exact statistics of private
    data: a fit releases them only with noise."""

    def __init__(self, table: _Table, encoding, cliques: Sequence[tuple[int, ...]], rows: int):
        self._table, self._encoding = table, encoding
        self._wanted = [tuple(sorted(c)) for c in cliques]
        self._cache: dict[tuple[int, ...], np.ndarray] = {}
        self._compression = None
        self.shape = (int(rows), len(encoding.sizes))
        self.outside: dict[str, int] | None = None  # per column, values outside the public domain (counted)

    def count(self) -> None:
        """Count the marginals of the cliques given (one pass), if not done yet."""
        if not self._cache and self._wanted:
            self._count(self._wanted)

    def _counted(self, clique: tuple[int, ...]) -> np.ndarray:
        """int64 counts on the encoding's own codes, axes in sorted column order."""
        if clique in self._cache:
            return self._cache[clique]
        self.count()
        for have, m in self._cache.items():
            if set(clique) <= set(have):
                drop = tuple(i for i, c in enumerate(have) if c not in clique)
                self._cache[clique] = m.sum(axis=drop) if drop else m
                return self._cache[clique]
        self._count([clique])
        return self._cache[clique]

    def _count(self, cliques) -> None:
        sizes = self._encoding.sizes
        counts, outside = self._table.counts(self._encoding, cliques)
        self.outside = outside if self.outside is None else self.outside
        for c, flat in zip(cliques, counts, strict=True):
            self._cache[c] = flat.reshape(tuple(int(sizes[a]) for a in c))

    def marginal(self, sizes: Sequence[int], clique: tuple[int, ...]) -> np.ndarray:
        clique = tuple(int(c) for c in clique)
        if not clique:
            return np.array(float(self.shape[0]))
        order = tuple(sorted(clique))
        m = self._counted(order)
        comp = self._compression
        if comp is not None:
            for axis, col in enumerate(order):
                cc = comp.columns[col]
                if cc is not None:
                    m = _fold(m, axis, cc.lookup(), cc.new_size)
        m = np.transpose(m, [order.index(c) for c in clique]) if order != clique else m
        expected = tuple(int(sizes[c]) for c in clique)
        if m.shape != expected:
            raise UsageError(f"marginal of {clique}: the table's codes have shape {m.shape}, not {expected}")
        return m.astype(float)

    def compressed(self, compression) -> ClusterMarginals:
        if self._compression is not None:
            raise UsageError("a cluster's marginals are compressed once")
        other = ClusterMarginals.__new__(ClusterMarginals)
        other.__dict__.update(self.__dict__)  # shares the counts already made
        other._compression = compression
        return other


# -- the fit ---------------------------------------------------------------------------------------------------


def _cliques(synth, d: int) -> list[tuple[int, ...]]:
    """Every clique the method may ask for is inside one of these (public: the method and its parameters)."""
    if synth.name == "aim":
        k = max(1, min(int(synth.params["workload_k"]), d))
    else:
        k = min(2, d)
    cliques = list(itertools.combinations(range(d), k))
    if k < 2 and synth.params.get(
        "select_share"
    ):  # the model choice's held-out pairs: counted in the same pass
        from anonlab.synth.selection import held_out_pairs

        cliques += list(held_out_pairs(d))
    return cliques


class _OnCluster:
    """The steps of :meth:`anonlab.synth.base.Synthesizer.fit` that read the table (the read, the fingerprint,
    the released parts), reading it on a cluster; every other step (checks, plans, the charge, the noise, the
    domain discovery's release, the model) is the in-process one."""

    _cluster: _Table

    def _read(self, run, df) -> None:
        from anonlab.synth.binning import wide_columns

        run.schema.check_frame(self._cluster.ddf._meta, run.source)
        self._cluster.schema = run.schema  # with discovered domains: the provisional one, as in-process
        if run.dom is not None:
            # the discovery's aggregates; the ranks and densities read the domains it releases (after the charge)
            from anonlab.synth.domains import MAX_KEYS

            scan = self._cluster.discovery(self.encoding_, run.dom, MAX_KEYS)
        else:
            dplan = None
            if self.point_masses:
                from anonlab.synth.density import density_columns, plan_density

                dplan = plan_density(density_columns(self.encoding_), 1.0)  # its columns only (no noise here)
            wide = wide_columns(self.encoding_) if self.binning != "public" else []
            scan = self._cluster.scan(self.encoding_, wide, dplan)
        if scan["n"] == 0:
            raise InputError(f"{run.source}: no rows")
        self._scan = scan
        self.outside_domain_ = {}  # counted with the marginals (the bounds and categories do not change)
        self.trusted_domains_ = bool(self.domains_ == "trust" and any(c.from_data for c in run.schema))

    def _check_public_size(self, ledger, rows: int, source: str) -> None:
        # ``rows`` is the one-row stand-in's; a replace-one release's row count is public (the ledger states it),
        # so the table's exact count, taken by the first pass, is what in-process checks as len(df)
        super()._check_public_size(ledger, int(self._scan["n"]), source)

    def _fingerprint(self, df, ledger) -> str:
        if ledger is None and self.seed is None:
            return ""  # nothing uses it: an unseeded release's noise is fresh, and there is no ledger entry
        return self._cluster.fingerprint()

    def _release_parts(self, run, root) -> None:
        scan = self._scan
        if run.dom is not None:
            # the in-process discovery on the summed aggregates (the same noise, domains, encoding and density
            # plan); then the records it leaves out are left out on the cluster, and the ranks and densities are
            # read on its encoding
            from anonlab.synth.domains import dropped_missing

            _, run.dplan = self._discover(run.dom, scan["domains"], run.dplan, root.fork("domains"))
            self._cluster.keep = dropped_missing(self.discovered_domains_, self.missing)
            wide = list(run.qplan.columns) if run.qplan is not None else []
            scan = self._scan = self._cluster.scan(self.encoding_, wide, run.dplan)
        if run.qplan is not None:
            from anonlab.synth.binning import release_quantile_edges

            self.encoding_, run.released = release_quantile_edges(
                None, self.encoding_, run.qplan, root.fork("cut points"), ranks=scan["ranks"]
            )
        if run.dplan is not None:
            from anonlab.synth.density import attach_densities

            self.encoding_ = attach_densities(
                self.encoding_, None, run.dplan, root.fork("density"), units=scan["units"]
            )
            if self.binning_mode == "density":  # as in-process: bins cut at the densities
                from anonlab.synth.binning import apply_density_edges

                self.encoding_, _ = apply_density_edges(self.encoding_, self.bins)
        d = len(self.encoding_.sizes)
        run.codes = ClusterMarginals(self._cluster, self.encoding_, _cliques(self, d), scan["n"])
        run.codes.count()
        self.outside_domain_ = dict(run.codes.outside or {})


def _stand_in(ddf):
    """A one-row frame with the table's columns, for the fit's steps that read only the columns and whether
    there are rows (the rows are counted on the cluster)."""
    return ddf._meta_nonempty.iloc[:1]


def _check_method(synth) -> None:
    from anonlab.synth.base import Synthesizer

    if not isinstance(synth, Synthesizer):
        raise UsageError(
            f"a synthesizer (MST(epsilon=...) or AIM(...)) is needed, not {type(synth).__name__}"
        )
    if synth.name not in CLUSTER_METHODS:
        raise UsageError(
            f"method {synth.name!r} does not fit on a cluster (scheduler=): only "
            f"{' and '.join(m.upper() for m in CLUSTER_METHODS)} read the table through its marginals"
        )


def fit_synthesizer(
    synth,
    table: Any,
    schema=None,
    *,
    ledger=None,
    trust_domains: bool = False,
    source: str | None = None,
    dataset: str | None = None,
    scheduler: Any = None,
):
    """``synth.fit(table, schema, ...)`` with the table's aggregates computed on a cluster; returns ``synth``,
    fitted as in-process (the same release with the same seed, ledger state and rows in the same order).

    synth : an :class:`~anonlab.synth.MST` or :class:`~anonlab.synth.AIM` (others refuse: they read the rows).
    table : a path (CSV/TSV file or glob, Parquet file or folder, read as :func:`anonlab.io.read_table` reads),
        a Dask DataFrame, or a pandas DataFrame (split into partitions).
    schema : as :meth:`~anonlab.synth.base.Synthesizer.fit` takes it; ``None`` only for a table with Adult's
        columns (a schema inferred from the table would read it whole on the client). Domains read from the data
        are discovered with DP as in-process (their exact aggregates counted on the cluster, the noise added
        once on the client), unless trusted; a discovered category with more than
        :data:`~anonlab.synth.domains.MAX_KEYS` distinct values is refused before the charge.
    ledger : a ledger or its path: charged on the client, once, before any noise is drawn, as in-process.
    scheduler : ``"local:N"``, a scheduler address or file, a ``distributed.Client``, or ``None`` (the session's
        current client, else Dask's threads).
    """
    from anonlab.distributed.scheduler import connect
    from anonlab.distributed.stats import _as_dask

    _check_method(synth)
    with connect(scheduler) as client:
        ddf, where = _as_dask(table)
        if schema is None:
            from anonlab.datasets import adult_schema

            if list(map(str, ddf.columns)) != adult_schema().names and (trust_domains or synth.trust_domains):
                raise UsageError(
                    "schema=: a fit on a cluster needs a schema (a file, a Schema or 'adult'); inferring one "
                    "would read the whole table on the client (draft one with `anonlab schema infer` on a sample)"
                )
        cls = type(synth)
        on_cluster = type(cls.__name__, (_OnCluster, cls), {"__module__": cls.__module__})
        worker = on_cluster(**synth.get_params())
        worker._cluster = _Table(ddf, None, source or where, client)
        try:
            worker.fit(
                _stand_in(ddf),
                schema,
                ledger=ledger,
                trust_domains=trust_domains,
                source=source or where,
                dataset=dataset,
            )
        finally:
            worker.__dict__.pop("_cluster", None)
            worker.__dict__.pop("_scan", None)
    synth.__dict__.update(worker.__dict__)
    return synth


def synthesize(input, output, method="aim", *, scheduler: Any = None, **options):
    """:func:`anonlab.synth.release.synthesize` with the fit on a cluster (:func:`fit_synthesizer`): the same outputs, sidecar
    and result. ``input`` is a path (a Parquet folder, a CSV glob); the synthetic rows are sampled and written on
    the client (``rows=``: their number; default the DP estimate of the input's size)."""
    import functools

    from anonlab.synth.release import synthesize as local

    return local(
        input, output, method, fitter=functools.partial(_fit_for_release, scheduler=scheduler), **options
    )


def _fit_for_release(synth, input, schema, *, ledger, trust_domains, source, scheduler):
    _check_method(synth)
    return fit_synthesizer(
        synth,
        os.fspath(input),
        schema,
        ledger=ledger,
        trust_domains=trust_domains,
        source=source,
        scheduler=scheduler,
    )


def exact_marginals(
    table: Any, schema, encoding, cliques: Sequence[Sequence[int]], *, scheduler: Any = None
) -> list[np.ndarray]:
    """The exact marginals of ``table`` on ``cliques`` of ``encoding`` (a fitted synthesizer's ``encoding_``, its
    cut points included; ``schema`` the :class:`~anonlab.schema.Schema` it was fitted with), counted on the
    cluster as :func:`anonlab.synth.marginals.marginal` counts them in-process on the same codes. For checking
    only: exact statistics of private data, never to be released as they are."""
    from anonlab.distributed.scheduler import connect
    from anonlab.distributed.stats import _as_dask

    with connect(scheduler) as client:
        ddf, where = _as_dask(table)
        sub = schema.present_in(ddf._meta)
        sub.check_frame(ddf._meta, where)
        src = ClusterMarginals(_Table(ddf, sub, where, client), encoding, [tuple(c) for c in cliques], 0)
        return [src.marginal(encoding.sizes, tuple(c)) for c in cliques]
