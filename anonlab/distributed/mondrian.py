"""Mondrian k-anonymity of a partitioned table: top cuts on the cluster, then Mondrian per region.

The published distributed Mondrian scheme (top-down: cut the data space on global medians until each region fits
one worker, then partition each region locally; e.g. Zhang et al., "A scalable two-phase top-down specialization
approach", and the MapReduce/Spark Mondrian implementations that follow it):

1. **Encoding, once.** Each partition's quasi-identifiers and sensitive columns are factorised on its worker
   (distinct values, each row's place among them); the distinct values (small: bounded by the domains, not the
   rows) are encoded on the client by the in-process encoder (:func:`anonlab.deid.encoded_table.encode_table`:
   the same codes, orders, hierarchies, schema checks), and each worker keeps its rows as these codes (int16) in
   memory for the rest of the run: the table is read only twice (here, and to write the release).
2. **Top cuts** (on the cluster, on the kept codes). Each round counts, per current region, every
   quasi-identifier's codes (and, with l or t, the sensitive values beside each code) on the workers; only these
   histograms reach the client. A region larger than ``partition_rows`` is cut on its widest quasi-identifier
   (normalised range, as Mondrian ranks them; the next when a cut is not allowed) at the median, with equal values
   kept together (a strict cut), at a subtree boundary for a column with a hierarchy; a cut is allowed when both
   halves hold at least k records and meet l and t as a whole. Each row's region is kept beside its codes.
3. **Local Mondrian.** The codes (not the rows) are shuffled so that each region gathers its rows (in input
   order), and each region is partitioned by :func:`anonlab.deid.mondrian.mondrian` (relaxed or strict as asked),
   with the t-closeness reference the whole table's sensitive distribution (not the region's), and labelled by
   :func:`anonlab.deid.mondrian.describe_classes`; each partition gets its rows' labels back.
4. **Writing.** Each input partition is read again and written as one Parquet part, its rows in input order.

Every class is a class of the in-process Mondrian run on one region, so it holds at least k records and meets l
and t against the whole table's distribution: the guarantees hold on the whole output. They are then checked on
the written output by the distributed :func:`anonlab.distributed.assess` (classes as an attacker sees them: equal
released labels, so classes of different regions with the same labels count together, which never lowers k or
distinct l).

The output differs from the in-process Mondrian (its top cuts are strict and stop at the region size; with one
region it is the in-process release, row for row), and suppression (``max_suppression``) is not offered here.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from anonlab.errors import InputError, UsageError
from anonlab.io import factorize_text

__all__ = ["anonymize", "DEFAULT_PARTITION_ROWS"]

#: the largest region (rows) that is partitioned on one worker
DEFAULT_PARTITION_ROWS = 1_000_000
_MAX_ROUNDS = 64


@dataclass
class _Encoder:
    """Maps a partition's values to the codes of the encoded domains (picklable: it travels to the workers)."""

    quasi: list  # QuasiColumn of the domains (codes empty)
    sensitive: list  # SensitiveColumn of the domains (codes empty)
    sens_values: list  # each sensitive column's values in code order
    schema: Any
    source: str

    def codes(self, part):
        """(n x quasi codes, n x sensitive codes), both int32."""
        from anonlab.deid.encoded_table import _schema_domains

        names = [q.name for q in self.quasi] + [s.name for s in self.sensitive]
        typed = part[names]
        if self.schema is not None:
            typed = _schema_domains(
                typed, [q.name for q in self.quasi], [s.name for s in self.sensitive], {}, self.schema
            )[0]
        X = np.empty((len(part), len(self.quasi)), dtype=np.int32)
        for j, q in enumerate(self.quasi):
            X[:, j] = _lookup(typed[q.name], q.values, q.n_codes - 1 if q.has_missing else -1, self)
        S = np.empty((len(part), len(self.sensitive)), dtype=np.int32)
        for j, (s, values) in enumerate(zip(self.sensitive, self.sens_values, strict=True)):
            missing = s.n_values - 1 if len(values) < s.n_values else -1
            S[:, j] = _lookup(typed[s.name], values, missing, self)
        return X, S


def _lookup(col, values, missing_code: int, enc: _Encoder):
    """Each value's code: its place in ``values`` (the domain in code order), ``missing_code`` when missing."""
    import pandas as pd

    from anonlab.deid.quasi import _as_text, _kind

    values = np.asarray(values)
    if values.dtype == object:  # a category: compared as text, as the encoder compares it
        text = col if pd.api.types.infer_dtype(col, skipna=True) == "string" else _as_text(col)
        idx = pd.Index(values).get_indexer(text.to_numpy(dtype=object))
        isna = text.isna().to_numpy()
    elif _kind(col) == "numeric":
        arr = col.to_numpy(dtype=float, na_value=np.nan)
        idx = pd.Index(values.astype(float)).get_indexer(arr)
        isna = np.isnan(arr)
    else:
        arr = col.to_numpy()
        idx = pd.Index(values).get_indexer(arr)
        isna = pd.isna(arr)
    bad = (idx < 0) & ~isna
    if bad.any() or (isna.any() and missing_code < 0):
        raise InputError(f"{enc.source}: column {col.name!r}: a value outside the domain collected first")
    return np.where(isna, missing_code, idx)


def _sensitive_values(col):
    import pandas as pd

    from anonlab.deid.quasi import _as_text, _kind

    if _kind(col) == "category":
        col = _as_text(col)
    _, uniques = pd.factorize(col, sort=True)
    return np.asarray(uniques)


# -- reading once: each partition's columns as codes kept in the workers' memory --------------------------------


@dataclass
class _Local:
    """One partition's quasi-identifier and sensitive columns as read once: per column its distinct values (a
    missing value, when present, last) and every row's place among them (``codes``); or, for a partition with
    an object column holding anything but text (equality would merge values the encoder keeps apart as text:
    ``1`` and ``1.0``), the columns themselves (``raw``), encoded value by value."""

    n: int
    uniques: list
    codes: list | None
    raw: Any = None


def _factorize(part, cols) -> _Local:
    import pandas as pd

    uniques, codes = [], []
    for c in cols:
        col = part[c]
        f, u = factorize_text(col)  # missing: -1; text compared whole (a NUL does not merge two values)
        u = pd.Series(u, dtype=col.dtype, name=c) if not isinstance(u, pd.Series) else u
        if col.dtype == object and not all(isinstance(v, str) for v in u):
            return _Local(len(part), [part[x].drop_duplicates() for x in cols], None, part[cols])
        if (f < 0).any():  # the first missing value itself (None, NaN, NaT), kept as the column holds it
            u = pd.concat([u, col.iloc[[int(np.argmax(f < 0))]]], ignore_index=True)
            f = np.where(f < 0, len(u) - 1, f)
        uniques.append(u.reset_index(drop=True))
        codes.append(f.astype(np.int32))
    return _Local(len(part), uniques, codes)


def _uniques(loc: _Local):
    return loc.n, loc.uniques


@dataclass
class _Codes:
    """One partition's rows as the encoded domains' codes: ``X`` (rows x quasi-identifiers, int16 when the codes
    fit, column-major) and ``S`` (rows x sensitive columns); ``region``: each row's region after the top cuts so
    far (None: all in region 0)."""

    X: np.ndarray
    S: np.ndarray
    region: np.ndarray | None = None

    def regions(self) -> np.ndarray:
        return np.zeros(len(self.X), dtype=np.int32) if self.region is None else self.region


def _narrow(a: np.ndarray) -> np.ndarray:
    return np.asfortranarray(a.astype(np.int16) if a.size == 0 or a.max(initial=0) < 2**15 else a)


def _encode_local(loc: _Local, enc: _Encoder) -> _Codes:
    """The partition's codes: each distinct value encoded once (by :meth:`_Encoder.codes`, which types and looks
    values up as the in-process encoder does), then spread to the rows."""
    import pandas as pd

    d, e = len(enc.quasi), len(enc.sensitive)
    if loc.n == 0:
        return _Codes(np.zeros((0, d), dtype=np.int16), np.zeros((0, e), dtype=np.int16))
    if loc.raw is not None:
        X, S = enc.codes(loc.raw)
        return _Codes(_narrow(X), _narrow(S))
    length = max(len(u) for u in loc.uniques)
    names = [q.name for q in enc.quasi] + [s.name for s in enc.sensitive]
    frame = pd.DataFrame(
        {c: u.iloc[np.resize(np.arange(len(u)), length)].reset_index(drop=True)
         for c, u in zip(names, loc.uniques, strict=True)}
    )  # fmt: skip
    UX, US = enc.codes(frame)
    X = np.empty((loc.n, d), dtype=np.int32, order="F")  # column-major: each column contiguous
    S = np.empty((loc.n, e), dtype=np.int32, order="F")
    for j in range(d):
        X[:, j] = UX[loc.codes[j], j]
    for i in range(e):
        S[:, i] = US[loc.codes[d + i], i]
    return _Codes(_narrow(X), _narrow(S))


def _domain_frame(infos, cols):
    """The distinct values of each column over every partition (missing kept), as one small frame (shorter
    columns repeat their first value), so the in-process encoder gives the codes the whole table would."""
    import pandas as pd

    n_rows = sum(n for n, _ in infos)
    series = [
        pd.concat([u[j] for _, u in infos], ignore_index=True).drop_duplicates().reset_index(drop=True)
        for j in range(len(cols))
    ]
    length = max(2, *(len(s) for s in series))  # 2: the encoder refuses k=2 on one row
    frame = pd.DataFrame(
        {
            c: s.iloc[np.resize(np.arange(max(len(s), 1)), length)].reset_index(drop=True)
            for c, s in zip(cols, series, strict=True)
        }
    )
    return frame, n_rows


# -- the cut tree -----------------------------------------------------------------------------------------------


@dataclass
class _Round:
    """One round of cuts over the regions numbered 0..R-1: a cut region r goes to ``first[r]`` (codes below
    ``thr[r]`` on column ``dim[r]``) and ``first[r] + 1``; an uncut one (``thr[r] < 0``) to ``first[r]``."""

    dim: np.ndarray
    thr: np.ndarray
    first: np.ndarray


def _advance(codes: _Codes, rd: _Round) -> _Codes:
    """The partition with each row's region after one more round of cuts (the codes shared, not copied)."""
    region = codes.regions()
    thr = rd.thr[region]
    right = (thr >= 0) & (codes.X[np.arange(len(region)), rd.dim[region]] >= thr)
    return _Codes(codes.X, codes.S, (rd.first[region] + right).astype(np.int32))


def _histograms(codes: _Codes, enc: _Encoder, n_regions: int, with_sensitive: bool):
    """Per quasi-identifier j, its code counts per region (regions x codes of j), then, with l/t, per sensitive
    column i and quasi-identifier j, the counts of i's values beside j's codes (regions x codes of j x values)."""
    X, S = codes.X, codes.S
    region = codes.regions().astype(np.int64)  # region x codes x values may pass 2**31
    out: list[np.ndarray] = []
    keys = []
    for j, q in enumerate(enc.quasi):
        m = q.n_codes
        keys.append(region * m + X[:, j])
        out.append(np.bincount(keys[j], minlength=n_regions * m).reshape(n_regions, m))
    if with_sensitive:
        for i, s in enumerate(enc.sensitive):
            v = s.n_values
            for j, q in enumerate(enc.quasi):
                m = q.n_codes
                key = keys[j] * v + S[:, i]
                out.append(np.bincount(key, minlength=n_regions * m * v).reshape(n_regions, m, v))
    return out


def _tree_sum(parts):
    from anonlab.distributed.stats import sum_tree

    return sum_tree(parts)


def _choose_cut(r, hist, sens, enc, crit, refs, tabs, POS, min_side: int):
    """(column, threshold) of the cut of region ``r``, or None: the widest column first, as Mondrian ranks."""
    from anonlab.deid.criteria import _check_counts

    M = POS.shape[1]
    h = np.zeros((len(hist), M), dtype=np.int64)  # columns x codes
    for j, hj in enumerate(hist):
        h[j, : hj.shape[1]] = hj[r]
    size = int(h[0].sum())
    present = h > 0
    lo = np.argmax(present, axis=1)
    hi = h.shape[1] - 1 - np.argmax(present[:, ::-1], axis=1)
    cols = np.arange(h.shape[0])
    width = POS[cols, hi] - POS[cols, lo] + 1e-9 * (hi > lo)
    for j in np.argsort(-width, kind="stable"):
        if width[j] <= 0:
            break
        cum = np.cumsum(h[j])
        half = size // 2
        med = int(np.searchsorted(cum, half, side="right"))  # the code holding the median record
        cands = [med, med + 1]  # cut before or after the median's value (equal values kept together)
        if tabs is not None and tabs[3][j]:
            G, FIRST, NXT, _ = tabs
            differ = G[j, :, lo[j]] != G[j, :, hi[j]]
            lev = len(differ) - 1 - int(np.argmax(differ[::-1]))
            cands = [int(FIRST[j, lev, med]), int(min(NXT[j, lev, med], hi[j] + 1))]
        best = None
        for thr in cands:
            if not lo[j] < thr <= hi[j]:
                continue
            left = int(cum[thr - 1])
            if left < min_side or size - left < min_side:
                continue
            if best is None or abs(left - half) < abs(best[1] - half):
                best = (thr, left)
        if best is None:
            continue
        thr = best[0]
        if crit.needs_sensitive:
            ok = True
            for i, (s, p) in enumerate(refs):
                hs = sens[i * len(hist) + j][r]
                counts = np.stack([hs[:thr].sum(axis=0), hs[thr:].sum(axis=0)])
                ok &= bool(_check_counts(counts, crit, s, p).all())
            if not ok:
                continue
        return int(j), int(thr)
    return None


def _top_cuts(codes, enc, crit, refs, partition_rows: int, compute, persist):
    """The rounds of top cuts, the number of regions, each region's rows and the partitions' codes with each
    row's region (kept in the workers' memory, updated round by round)."""
    from dask import delayed

    from anonlab.deid.mondrian import _cut_tables

    M = int(max(q.n_codes for q in enc.quasi)) + 1
    POS = np.zeros((len(enc.quasi), M))
    for j, q in enumerate(enc.quasi):
        POS[j, : len(q.pos)] = q.pos
    tabs = _cut_tables(enc.quasi, M)
    rounds: list[_Round] = []
    n_regions = 1
    need_split = np.array([True])
    for _ in range(_MAX_ROUNDS):
        parts = [delayed(_histograms)(c, enc, n_regions, crit.needs_sensitive) for c in codes]
        arrays = compute(_tree_sum(parts))[0]
        d = len(enc.quasi)
        hist, sens = arrays[:d], arrays[d:]
        sizes = hist[0].sum(axis=1)
        dim = np.zeros(n_regions, dtype=np.int64)
        thr = np.full(n_regions, -1, dtype=np.int64)
        for r in np.flatnonzero(need_split & (sizes > partition_rows)):
            cut = _choose_cut(r, hist, sens, enc, crit, refs, tabs, POS, max(crit.k, 1))
            if cut is not None:
                dim[r], thr[r] = cut
        if not (thr >= 0).any():
            return rounds, n_regions, sizes, codes
        width = np.where(thr >= 0, 2, 1)
        first = np.cumsum(width) - width
        rounds.append(_Round(dim, thr, first))
        codes = persist([delayed(_advance)(c, rounds[-1]) for c in codes])
        need_split = np.repeat(thr >= 0, width)
        n_regions = int(width.sum())
    raise UsageError(f"the top cuts did not settle in {_MAX_ROUNDS} rounds (partition_rows too small?)")


# -- local Mondrian per region -----------------------------------------------------------------------------------


def _split_by_region(codes: _Codes, n_regions: int) -> list:
    """Per region, this partition's rows in it: (their positions in the partition, X, S), in partition order."""
    region = codes.regions()
    order = np.argsort(region, kind="stable")
    bounds = np.searchsorted(region[order], np.arange(n_regions + 1))
    out = []
    for r in range(n_regions):
        rows = order[bounds[r] : bounds[r + 1]].astype(np.int32 if len(region) < 2**31 else np.int64)
        out.append((rows, codes.X[rows], codes.S[rows]))
    return out


def _mondrian_region(pieces, number, enc, crit, strict, refs):
    """Partition one region (its rows from every partition, in input order) by the in-process Mondrian.

    Returns (its figures for the report, per input partition: (rows, class of each row, the labels of those
    classes per quasi-identifier))."""
    from anonlab.deid.criteria import measure_groups
    from anonlab.deid.methods import NotSatisfiable, _recursive_ratio
    from anonlab.deid.mondrian import describe_classes, mondrian

    n = sum(len(rows) for rows, _, _ in pieces)
    if n == 0:
        return None, [(rows, np.zeros(0, dtype=np.int32), None) for rows, _, _ in pieces]
    X = np.concatenate([x for _, x, _ in pieces])
    S = np.concatenate([s for _, _, s in pieces])
    quasi = [replace(q, codes=X[:, j].astype(np.int32)) for j, q in enumerate(enc.quasi)]
    sens = [replace(s, codes=S[:, j].astype(np.int64)) for j, s in enumerate(enc.sensitive)]
    del X, S
    try:
        classes = mondrian(quasi, sens, crit, strict=strict, reference=[p for _, p in refs])
    except NotSatisfiable as exc:  # the top cuts checked each region as a whole: not expected
        raise UsageError(f"cannot anonymise region {number}: {exc}") from None
    labels, ncp = describe_classes(classes, quasi)
    cls_row = classes.class_of_row(n)
    out, at = [], 0
    for rows, _, _ in pieces:
        u, inv = np.unique(cls_row[at : at + len(rows)], return_inverse=True)
        out.append((rows, inv.astype(np.int32), [lab[u] for lab in labels]))
        at += len(rows)
    sizes = classes.sizes.astype(np.float64)
    measured = []
    for s, (_, p) in zip(sens, refs, strict=True):
        c = s.codes[classes.order]
        m = measure_groups(classes.starts, classes.ends, s, c, p)
        if crit.l_kind == "recursive" and crit.l is not None:
            m["recursive_c_needed"] = _recursive_ratio(classes, c, s.n_values, int(np.ceil(crit.l)))
        measured.append(m)
    figures = {
        "rows": n,
        "classes": classes.n_classes,
        "k": int(sizes.min()),
        "sum_sq": float((sizes**2).sum()),
        "ncp_rows": (sizes[:, None] * ncp).sum(axis=0),
        "labels": [set(np.unique(lab).tolist()) for lab in labels],
        "sensitive": measured,
    }
    return figures, out


def _write_part(part, number, n, pieces, staging, quasi, columns, schema_pa) -> int:
    """Write one input partition's release (its rows in input order, the quasi-identifiers replaced by their
    class's labels) as one Parquet part; returns its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(part) != n:  # the partition read again must be the one encoded
        raise UsageError(
            f"partition {number} changed between two reads ({n} then {len(part)} rows); report this"
        )
    if n == 0:
        return 0
    rest = [c for c in columns if c not in set(quasi)]
    other = (
        pa.Table.from_pandas(part, schema=pa.schema([schema_pa.field(c) for c in rest]), preserve_index=False)
        if rest
        else None
    )
    # each quasi-identifier as its labels: a dictionary (the labels of the classes present) and each row's index
    index = np.empty(n, dtype=np.int32)
    at = 0
    for rows, inv, _ in pieces:
        if len(rows):
            index[rows] = inv + at
            at += int(inv.max()) + 1  # the piece's classes: 0..inv.max()
    labelled = {}
    for j, name in enumerate(quasi):
        words = np.concatenate([labs[j] for rows, _, labs in pieces if len(rows)])
        labelled[name] = pa.DictionaryArray.from_arrays(
            pa.array(index), pa.array(words, type=pa.string())
        ).dictionary_decode()
    table = pa.Table.from_arrays(
        [labelled[c] if c in labelled else other.column(c) for c in columns], schema=schema_pa
    )
    pq.write_table(table, os.path.join(staging, f"part.{number:05d}.parquet"))
    return n


def _combine_measures(ms: list[dict]) -> dict:
    ms = [m for m in ms if m.get("l_distinct") is not None]
    if not ms:
        return {"l_distinct": None, "l_entropy": None, "t": None}
    out = {
        "l_distinct": min(m["l_distinct"] for m in ms),
        "l_entropy": min(m["l_entropy"] for m in ms),
        "t": max(m["t"] for m in ms),
    }
    if "recursive_c_needed" in ms[0]:
        vals = [m["recursive_c_needed"] for m in ms]
        out["recursive_c_needed"] = None if any(v is None for v in vals) else max(vals)
    return out


def _arrow_schema(meta, quasi):
    """The release's Arrow schema: the quasi-identifiers (labels) and text columns as strings, the others as
    pandas converts them, with pandas' metadata (the column dtypes a reader restores)."""
    import pandas as pd
    import pyarrow as pa

    fields = []
    for c in meta.columns:
        if c in quasi or meta[c].dtype == object:
            fields.append(pa.field(str(c), pa.string()))
        else:
            fields.append(pa.Schema.from_pandas(meta[[c]], preserve_index=False).field(0))
    empty = meta.iloc[:0].assign(**{str(c): pd.Series(dtype=object) for c in quasi})
    return pa.Table.from_pandas(empty, schema=pa.schema(fields), preserve_index=False).schema


def anonymize(
    table: Any,
    output: str | os.PathLike,
    *,
    quasi=None,
    k: int | None = None,
    l: float | None = None,  # noqa: E741
    t: float | None = None,
    sensitive=None,
    method: str = "mondrian",
    schema=None,
    hierarchies=None,
    orders=None,
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    force: bool = False,
    check: bool = True,
    source: str | None = None,
    scheduler: Any = None,
    **params,
):
    """:func:`anonlab.deid.anonymize` with Mondrian for a table too large for one process, written to ``output``.

    table : a path (CSV/TSV file or glob, Parquet file or folder; read as :func:`anonlab.io.read_table` reads) or
        a Dask DataFrame.
    output : the folder of Parquet parts to write (a name ending ``.parquet``), under the staging and completion
        rule; refused if it exists, unless ``force``. One part per input partition, the rows in input order.
    quasi, k, l, t, sensitive, schema, hierarchies, orders : as :func:`anonlab.deid.anonymize`; ``params``: the
        other parameters of :class:`~anonlab.deid.mondrian.Mondrian` (``strict``, ``l_kind``, ``c``).
        ``max_suppression`` (other than 0) and ``suppress_mark`` are refused: no suppression here.
    method : only ``"mondrian"`` runs on a cluster (any other is refused naming it).
    partition_rows : the largest region partitioned on one worker (rows); the top cuts go on until every region
        is this small or cannot be cut. A worker holds its partitions' codes (2 bytes a value) and one region's
        codes at a time while partitioning it.
    check : measure the written output with :func:`anonlab.distributed.assess` (one more read) and raise if its
        k, l or t misses the asked one; the figures are in the report's ``search["checked"]``.
    scheduler : where to run (see :mod:`anonlab.distributed`).

    Returns the :class:`~anonlab.deid.report.AnonymizationReport`: k, l, t and the information loss measured over
    the released classes, as in-process. Its ``search`` holds the top cuts (rounds, regions, largest region).
    """
    from dask import delayed

    from anonlab.distributed.scheduler import connect
    from anonlab.distributed.tables import read_table, staged_folder

    t0 = time.perf_counter()
    method_ = _method(method, k, l, t, partition_rows, params)
    crit = method_.criteria()
    if isinstance(schema, str | os.PathLike):
        from anonlab.deid.recipe import load_schema

        schema = load_schema(schema)
    with connect(scheduler) as client:
        compute, persist = _computer(client)
        if isinstance(table, str | os.PathLike):
            ddf, source = read_table(table), source or str(table)
        else:
            ddf, source = table, source or "input"
        quasi, sensitive = _roles(ddf, quasi, sensitive, crit, schema, source)
        cols = [*quasi, *sensitive]
        # the table is read twice: here (its quasi-identifiers and sensitive columns kept as codes in the
        # workers' memory), and to write the release. Both reads are of the whole table, so that their partitions
        # are the same (Parquet row groups are gathered by size, and a read of fewer columns gathers more)
        parts = ddf.to_delayed()
        local = persist([delayed(_factorize)(p, cols) for p in parts])
        infos = compute(delayed(list)([delayed(_uniques)(x) for x in local]))[0]
        n, enc_table, enc = _encode(infos, quasi, sensitive, crit, schema, hierarchies, orders, source)
        codes = persist([delayed(_encode_local)(x, enc) for x in local])
        del local
        refs = _reference(codes, enc, crit, compute)
        rounds, n_regions, sizes, codes = _top_cuts(
            codes, enc, crit, refs if crit.needs_sensitive else [], partition_rows, compute, persist
        )
        # the shuffle moves codes only: each region gathers its rows' codes from every partition, and sends each
        # partition back its rows' labels
        split = [delayed(_split_by_region)(c, n_regions) for c in codes]
        strict = bool(method_.strict)
        regions = [delayed(_mondrian_region)([s[r] for s in split], r, enc, crit, strict, refs)
                   for r in range(n_regions)]  # fmt: skip
        columns = list(ddf.columns)
        schema_pa = _arrow_schema(ddf._meta, set(quasi))
        with staged_folder(output, force) as staging:
            writes = [
                delayed(_write_part)(p, i, infos[i][0], [reg[1][i] for reg in regions], str(staging), quasi,
                                     columns, schema_pa)
                for i, p in enumerate(ddf.to_delayed())  # the same partitions as ``parts``
            ]  # fmt: skip
            figures, _ = compute(delayed(list)([reg[0] for reg in regions]), delayed(list)(writes))
        del codes, split, regions
        figures = [f for f in figures if f is not None]
        checked = _check(output, quasi, sensitive, crit, enc_table, client) if check else None
    return _report(method_, enc_table, quasi, sensitive, figures, n, hierarchies, orders, rounds, n_regions,
                   sizes, partition_rows, checked, time.perf_counter() - t0)  # fmt: skip


def _method(method, k, l, t, partition_rows, params):  # noqa: E741
    """The :class:`~anonlab.deid.mondrian.Mondrian` the parameters describe; what a cluster run does not offer is
    refused, naming the parameter."""
    from anonlab.deid.mondrian import Mondrian

    if method != "mondrian":
        raise UsageError(
            f"method={method!r} does not run on a cluster: scheduler= supports method='mondrian' only "
            "(leave out scheduler= to run it in-process)"
        )
    params = dict(params)
    params.pop("progress", None)
    for name in ("max_suppression", "suppress_mark"):
        if params.pop(name, None):
            raise UsageError(f"{name}= is not offered on a cluster (no suppression there): leave it out")
    known = [p for p in Mondrian._param_names() if p not in ("k", "l", "t", "progress")]
    unknown = [p for p in params if p not in known]
    if unknown:
        raise UsageError(
            f"method='mondrian' takes no parameter {unknown[0]}= (its parameters: {', '.join(known)})"
        )
    if k is None:
        raise UsageError("method='mondrian' needs k= (the smallest class size)")
    if isinstance(partition_rows, bool) or not isinstance(partition_rows, int) or partition_rows < 2:
        raise UsageError(f"partition_rows={partition_rows!r}: must be a whole number of rows, at least 2")
    return Mondrian(k=k, l=l, t=t, **params)


def _computer(client):
    """``compute(*collections)`` and ``persist(list of delayed)`` (kept in the workers' memory) on ``client`` (or,
    without one, Dask's default scheduler)."""
    import dask

    def compute(*xs):
        return tuple(client.gather(client.compute(list(xs)))) if client is not None else dask.compute(*xs)

    def persist(xs: list) -> list:
        return list(client.persist(xs)) if client is not None else list(dask.persist(*xs))

    return compute, persist


def _roles(ddf, quasi, sensitive, crit, schema, source):
    """The quasi-identifiers and sensitive columns (from the parameters or the schema), checked."""
    from anonlab.deid.encoded_table import check_roles, require_named, schema_roles

    quasi, sensitive = schema_roles(schema, ddf.columns, quasi, sensitive)
    if (crit.l is not None or crit.t is not None) and not sensitive:
        raise UsageError("l= and t= need at least one sensitive column (sensitive=)")
    check_roles(quasi, sensitive)
    require_named(ddf, quasi, "quasi", source)
    require_named(ddf, sensitive, "sensitive", source)
    return list(quasi), list(sensitive)


def _encode(infos, quasi, sensitive, crit, schema, hierarchies, orders, source):
    """The domains collected from every partition's distinct values, encoded by the in-process encoder: (rows,
    the encoded domains, the partitions' encoder)."""
    from anonlab.deid.encoded_table import _schema_domains, encode_table

    dom, n = _domain_frame(infos, [*quasi, *sensitive])
    if n == 0:
        raise InputError(f"{source}: the table has no rows")
    if crit.k > n:
        raise UsageError(
            f"k={crit.k} is larger than the table ({n:,} records): no class of k records can exist"
        )
    enc_table = encode_table(
        dom, quasi=quasi, sensitive=sensitive, schema=schema, hierarchies=hierarchies, orders=orders, k=2,
        source=source,
    )  # fmt: skip
    typed = _schema_domains(dom, quasi, sensitive, {}, schema)[0] if schema is not None else dom
    enc = _Encoder(
        [replace(q, codes=np.zeros(0, dtype=np.int32)) for q in enc_table.quasi],
        [replace(s, codes=np.zeros(0, dtype=np.int64)) for s in enc_table.sensitive],
        [_sensitive_values(typed[s]) for s in sensitive],
        schema,
        source,
    )
    return n, enc_table, enc


def _reference(codes, enc, crit, compute):
    """Per sensitive column (column, the whole table's distribution): the t-closeness reference and what t is
    measured against (every row is released). Refuses a table that as a whole misses l or t."""
    from dask import delayed

    from anonlab.deid.criteria import _check_counts

    if not enc.sensitive:
        return []
    parts = [delayed(_sens_counts)(c, enc) for c in codes]
    counts = compute(_tree_sum(parts))[0]
    refs = [(s, c / max(c.sum(), 1)) for s, c in zip(enc.sensitive, counts, strict=True)]
    if crit.needs_sensitive and not all(
        _check_counts(np.asarray(c)[None, :], crit, s, p).all()
        for c, (s, p) in zip(counts, refs, strict=True)
    ):
        from anonlab.deid.mondrian import _describe

        raise UsageError(
            f"cannot anonymise: the records to release do not, all together, meet {_describe(crit)}"
        )
    return refs


def _sens_counts(codes: _Codes, enc):
    S = codes.S
    return [np.bincount(S[:, j], minlength=s.n_values).astype(np.int64) for j, s in enumerate(enc.sensitive)]


def _check(output, quasi, sensitive, crit, enc_table, client) -> dict:
    """k, l and t of the written output, measured by the distributed assess; raises if one misses the asked."""
    from anonlab.distributed.risk import assess

    report = assess(str(output), quasi, sensitive, scheduler=client)
    out = {"k": report.k, "classes": report.classes, "rows": report.rows, "sensitive": {}}
    problems = []
    if report.k < crit.k:
        problems.append(f"k={report.k}")
    hier = {s.name for s in enc_table.sensitive if s.hierarchy is not None}
    for s in report.sensitive:
        out["sensitive"][s.column] = {
            "l_distinct": s.l_distinct,
            "l_entropy": s.l_entropy,
            "t": s.t_closeness,
        }
        if crit.l is not None and crit.l_kind == "distinct" and s.l_distinct < crit.l:
            problems.append(f"{s.column}: distinct l={s.l_distinct}")
        if crit.l is not None and crit.l_kind == "entropy" and s.l_entropy < crit.l * (1 - 1e-9):
            problems.append(f"{s.column}: entropy l={s.l_entropy}")
        if crit.t is not None and s.column not in hier and s.t_closeness > crit.t + 1e-9:
            problems.append(f"{s.column}: t={s.t_closeness}")
    if problems:
        from anonlab.errors import AnonlabError

        raise AnonlabError(
            f"{output}: the written release misses the criteria ({', '.join(problems)}); report this"
        )
    return out


def _report(method_, enc_table, quasi, sensitive, figures, n, hierarchies, orders, rounds, n_regions, sizes,
            partition_rows, checked, seconds):  # fmt: skip
    from anonlab.deid.encoded_table import as_pairs
    from anonlab.deid.information_loss import InformationLoss
    from anonlab.deid.report import AnonymizationReport
    from anonlab.provenance import versions

    n_classes = sum(f["classes"] for f in figures)
    released = sum(f["rows"] for f in figures)
    per_col = np.sum([f["ncp_rows"] for f in figures], axis=0) / max(released, 1)
    loss = InformationLoss(
        float(per_col.mean()) if len(quasi) else 0.0,
        {c: float(v) for c, v in zip(quasi, per_col, strict=True)},
        float(sum(f["sum_sq"] for f in figures)),
        float(released / n_classes / int(method_.k)) if n_classes else None,
    )
    generalisation = {}
    for j, q in enumerate(enc_table.quasi):
        labels = set().union(*(f["labels"][j] for f in figures))
        generalisation[q.name] = {
            "kind": "hierarchy" if q.hierarchy is not None and q.kind == "category"
            else ("set" if q.kind == "category" else "range"),
            "distinct_released": len(labels),
            "distinct_original": int(q.n_codes),
        }  # fmt: skip
    params = {
        "method": "mondrian",
        "quasi": list(quasi),
        "sensitive": list(sensitive),
        **method_.get_params(),
        "hierarchies": {c: str(p) for c, p in as_pairs(hierarchies, "hierarchies")},
        "orders": {c: [str(v) for v in vs] for c, vs in as_pairs(orders, "orders")},
    }
    params.pop("progress", None)
    search = {
        "distributed": True,
        "top_cut_rounds": len(rounds),
        "regions": int(n_regions),
        "largest_region": int(sizes.max()) if len(sizes) else 0,
        "partition_rows": int(partition_rows),
    }
    if checked is not None:
        search["checked"] = checked
    return AnonymizationReport(
        method="mondrian",
        parameters=params,
        n_input=int(n),
        n_released=int(released),
        n_suppressed=int(n) - int(released),
        suppressed_marked=False,
        n_classes=int(n_classes),
        k=int(min(f["k"] for f in figures)),
        sensitive={
            s: _combine_measures([f["sensitive"][i] for f in figures]) for i, s in enumerate(sensitive)
        },
        loss=loss,
        generalisation=generalisation,
        search=search,
        seconds=seconds,
        versions=versions(),
        warnings=(),
    )
