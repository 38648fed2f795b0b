"""Re-identification risk of a partitioned table: :func:`anonlab.deid.assess` with the counting on a cluster.

The equivalence classes are counted by a distributed group-by on the quasi-identifiers (missing values a value of
their own, as in-process); only the class-size histogram comes back to the client, and the report is built from
it by the in-process code (:func:`anonlab.deid.risk.report_from_histogram`). For each sensitive column the
(class, value) counts come back (their number is bounded by the distinct combinations, not the rows) and give l
and t by the in-process kernels. The figures equal the in-process ones exactly.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from anonlab.errors import InputError

__all__ = ["assess"]


def _prepare(part, cols, escape: bool):
    """Columns as the in-process class key compares them: categories by their values, mixed objects as text,
    and (``escape``) NUL characters escaped injectively (pandas' string hashing stops at a NUL)."""
    import pandas as pd

    part = part.copy()
    for c in cols:
        s = part[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        if s.dtype == object:
            if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
                s = s.where(s.isna(), s.astype(str))
            if escape:
                s = s.str.replace("\\", "\\\\", regex=False).str.replace("\0", "\\0", regex=False)
        part[c] = s
    return part


def _has_nul(part, cols) -> bool:
    import pandas as pd

    for c in cols:
        s = part[c]
        if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "string":
            if s.str.contains("\0", regex=False, na=False).any():
                return True
    return False


def _index_has_nul(counts, column: str) -> bool:
    values = counts.index.get_level_values(column)
    return values.dtype == object and _has_nul(values.to_frame(index=False), [column])


def _unescape(s):
    """The inverse of :func:`_prepare`'s escaping (for a sensitive column, whose codes follow its values)."""
    if s.dtype != object:
        return s
    return s.str.replace(r"\\([\\0])", lambda m: "\0" if m.group(1) == "0" else "\\", regex=True)


def _as_dask(table: Any, columns: list[str] | None):
    import dask.dataframe as dd
    import pandas as pd

    from anonlab.distributed.tables import read_table

    if isinstance(table, str | os.PathLike):
        return read_table(table, columns=columns), str(table)
    if isinstance(table, pd.DataFrame):
        return dd.from_pandas(table, npartitions=max(1, min(8, len(table) // 100_000 + 1))), "input"
    return table, "input"


def _counts(ddf, quasi: list[str], sensitive: list[str]):
    """The distributed counts: class sizes per histogram bin, and per sensitive column its (class, value) counts;
    plus whether any string among them holds a NUL (then the caller counts again, escaped)."""
    import dask

    split = max(1, ddf.npartitions // 4)
    sizes = ddf.groupby(quasi, dropna=False, sort=False).size(split_out=split)
    hist = sizes.value_counts(split_out=1)
    pairs = [ddf.groupby([*quasi, s], dropna=False, sort=False).size(split_out=split) for s in sensitive]
    groups = sizes.reset_index()
    nul = groups.map_partitions(_has_nul, quasi, meta=(None, bool)).any()
    return dask.compute(hist, nul, *pairs)


def _pairs_from_counts(pdf, quasi: list[str], column: str):
    """(class, value, count) triples sorted by class then value, from the pair counts of one sensitive column."""
    from anonlab.deid.risk import _sensitive_codes, class_key

    codes, m, ordered = _sensitive_codes(pdf[column])
    key, _ = class_key(pdf, quasi, headroom=m)
    combined = key * m + codes
    order = np.argsort(combined, kind="stable")
    ck = key[order]
    cls = np.cumsum(np.r_[True, ck[1:] != ck[:-1]]) - 1
    cnt = pdf["__n"].to_numpy(dtype=np.int64)[order]
    return (cls, codes[order], cnt), m, ordered


def assess(
    table: Any,
    quasi=None,
    sensitive=None,
    *,
    sampling_fraction: float | None = None,
    threshold: float = 0.2,
    schema=None,
    source: str | None = None,
    scheduler: Any = None,
):
    """:func:`anonlab.deid.assess` of a table too large for one process; the same parameters and report.

    table : a path (CSV/TSV file or glob, Parquet file or folder; read as :func:`anonlab.io.read_table` reads),
        a Dask DataFrame, or a pandas DataFrame (split into partitions).
    scheduler : where to count: ``"local:N"``, a scheduler address or file, a ``distributed.Client``, or ``None``
        for the session's current client (else Dask's threads). See :mod:`anonlab.distributed`.

    Returns the :class:`~anonlab.deid.risk.RiskReport` that :func:`anonlab.deid.assess` returns for the same
    rows, equal in every figure.
    """
    from anonlab.deid.encoded_table import check_roles, require_named, schema_roles
    from anonlab.deid.risk import check_parameters, report_from_histogram, sensitive_report
    from anonlab.distributed.scheduler import connect

    with connect(scheduler):
        named = quasi is not None and (sensitive is not None or schema is None)
        wanted = [*check_roles(quasi, sensitive)[0], *(sensitive or ())] if named else None
        ddf, where = _as_dask(table, wanted)
        source = source or where
        quasi, sensitive = schema_roles(schema, ddf.columns, quasi, sensitive)
        quasi, sensitive = check_roles(quasi, sensitive)
        require_named(ddf, quasi, "quasi", source)
        require_named(ddf, sensitive, "sensitive", source)
        check_parameters(sampling_fraction, threshold)
        cols = [*quasi, *sensitive]
        ddf = ddf[cols]
        work = ddf.map_partitions(_prepare, cols, False, meta=_prepare(ddf._meta, cols, False))
        hist, nul, *pairs = _counts(work, quasi, sensitive)
        escaped = nul or any(_index_has_nul(p, s) for p, s in zip(pairs, sensitive, strict=True))
        if escaped:
            work = ddf.map_partitions(_prepare, cols, True, meta=_prepare(ddf._meta, cols, True))
            hist, _, *pairs = _counts(work, quasi, sensitive)
    if len(hist) == 0:
        raise InputError(f"{source}: no rows to assess")
    hist = hist.sort_index()
    values = hist.index.to_numpy(dtype=np.int64)
    freq = hist.to_numpy(dtype=np.int64)
    reports = []
    for column, counts in zip(sensitive, pairs, strict=True):
        pdf = counts.rename("__n").reset_index()
        if escaped:
            pdf[column] = _unescape(pdf[column])
        p, m, ordered = _pairs_from_counts(pdf, quasi, column)
        reports.append(sensitive_report(p, column, m, ordered))
    return report_from_histogram(
        values, freq, quasi, sampling_fraction=sampling_fraction, threshold=threshold, sensitive=reports
    )
