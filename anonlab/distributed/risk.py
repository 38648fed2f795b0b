"""Re-identification risk of a partitioned table: :func:`anonlab.deid.assess` with the counting on a cluster.

Each partition is counted in one pass: every quasi-identifier and sensitive column is factorized once (its
distinct values, prepared as the in-process class key compares them, and an integer code per row), and the rows
are grouped by their code tuples into count tables: the classes (quasi-identifier codes, count) and, per sensitive
column, the (class, value) pairs. Only these tables leave the partition (integer codes and each column's distinct
values, never rows); they are merged pairwise in a tree (the codes mapped onto the union of the two sides'
values). The last merge turns them into the class-size histogram and, per sensitive column, the sorted (class,
value, count) triples, from which the client builds the report by the in-process code
(:func:`anonlab.deid.risk.report_from_histogram`, :func:`anonlab.deid.risk.sensitive_report`). The figures equal
the in-process ones exactly. Memory: a partition's count tables and the last merge grow with the number of
distinct (class, value) pairs, not with the rows.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from anonlab.errors import InputError
from anonlab.io import factorize_text

__all__ = ["assess"]


def _escape(values):
    """Backslashes doubled and NUL characters written ``\\0``: injective, and what :func:`_unescape` inverts
    (pandas' string hashing stops at a NUL, so NUL-bearing values are compared escaped, as in-process)."""
    return values.str.replace("\\", "\\\\", regex=False).str.replace("\0", "\\0", regex=False)


def _unescape(s):
    """The inverse of :func:`_escape` (for a sensitive column, whose codes follow its values)."""
    if s.dtype != object:
        return s
    return s.str.replace(r"\\([\\0])", lambda m: "\0" if m.group(1) == "0" else "\\", regex=True)


def _column(s):
    """(codes, distinct values) of one column of a partition: codes ``-1`` for a missing value, the values
    prepared as the class key compares them (categories by their values, mixed objects as text, text escaped),
    each distinct prepared value once."""
    import pandas as pd

    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64)
        values = pd.Series(np.asarray(s.cat.categories, dtype=object), dtype=object)
        return _distinct(codes, _prepared(values))
    if s.dtype == object or str(s.dtype).startswith("string"):
        if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
            s = s.where(s.isna(), s.astype(str))  # mixed objects compare as text
        codes, uniq = factorize_text(s)  # whole values: a NUL does not merge two texts
        return codes.astype(np.int64), _escape(pd.Series(np.asarray(uniq, dtype=object), dtype=object))
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    return codes.astype(np.int64), pd.Series(uniq)


def _prepared(values):
    """A categorical's categories as the class key compares them: text as it is (escaped), others as text."""
    import pandas as pd

    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = values.astype(str)
    return _escape(values)


def _distinct(codes, values):
    """Codes onto distinct values, when preparing the values made two of them equal."""
    import pandas as pd

    new, uniq = pd.factorize(values, use_na_sentinel=True)
    if len(uniq) == len(values):
        return codes, values
    return np.append(new, -1)[codes], pd.Series(np.asarray(uniq, dtype=object), dtype=object)


def _radix(codes: list, cards: list):
    """One int64 key per row, equal exactly when the rows' codes (``-1`` missing) are equal: a mixed-radix number,
    densified by factorizing when it would overflow."""
    import pandas as pd

    key = np.zeros(len(codes[0]) if codes else 0, dtype=np.int64)
    card = 1
    for c, m in zip(codes, cards, strict=True):
        m += 1  # the code -1 (missing) shifted to 0
        if card * m >= 2**62:
            key = pd.factorize(key)[0].astype(np.int64)
            card = int(key.max()) + 1 if len(key) else 1
        key = key * m + (c + 1)
        card *= m
    return key


def _groups(key, n=None):
    """(group id per row, first row of each group, summed counts ``n`` per group: rows when ``n`` is None)."""
    import pandas as pd

    group, uniq = pd.factorize(key)
    first = np.empty(len(uniq), dtype=np.int64)
    first[group[::-1]] = np.arange(len(group) - 1, -1, -1)  # any row of the group would do
    if n is None:
        counts = np.bincount(group, minlength=len(uniq)).astype(np.int64)
    else:
        counts = np.bincount(group, weights=n, minlength=len(uniq)).astype(np.int64)  # exact below 2**53
    return group, first, counts


def _group(values: list, codes, n):
    """The count table of rows with equal code tuples: (values, distinct code rows, summed counts)."""
    key = _radix([codes[:, j] for j in range(codes.shape[1])], [len(v) for v in values])
    _, first, counts = _groups(key, n)
    return values, codes[first], counts


def _partition(part, quasi: list[str], sensitive: list[str]):
    """One partition's count tables: the classes, then per sensitive column the (class, value) pairs. The
    quasi-identifiers' key is made once; each pair key is the row's class and its value."""
    columns = {c: _column(part[c]) for c in [*quasi, *sensitive]}
    qcodes = [columns[c][0] for c in quasi]
    qvalues = [columns[c][1] for c in quasi]
    cls, first, counts = _groups(_radix(qcodes, [len(v) for v in qvalues]))
    tables = [(qvalues, np.column_stack([c[first] for c in qcodes]), counts)]
    for c in sensitive:
        codes, values = columns[c]
        _, first, counts = _groups(cls.astype(np.int64) * (len(values) + 1) + (codes + 1))
        rows = np.column_stack([*(q[first] for q in qcodes), codes[first]])
        tables.append(([*qvalues, values], rows, counts))
    return tables


def _merge_table(a, b):
    import pandas as pd

    (va, ca, na), (vb, cb, nb) = a, b
    values, codes = [], []
    for j in range(len(va)):
        both = pd.concat([va[j], vb[j]], ignore_index=True)
        new, uniq = pd.factorize(both, use_na_sentinel=True)
        left, right = np.append(new[: len(va[j])], -1), np.append(new[len(va[j]) :], -1)
        codes.append(np.concatenate([left[ca[:, j]], right[cb[:, j]]]))
        values.append(pd.Series(uniq.to_numpy() if isinstance(uniq, pd.Index) else uniq, dtype=both.dtype))
    return _group(values, np.column_stack(codes), np.concatenate([na, nb]))


def _merge(a: list, b: list) -> list:
    """Two sets of count tables as one (the tree's step)."""
    return [_merge_table(x, y) for x, y in zip(a, b, strict=True)]


def _finish(tables: list, quasi: list[str], sensitive: list[str]):
    """The class-size histogram and, per sensitive column, ((class, value, count) sorted, values, ordered)."""
    import pandas as pd

    sizes = tables[0][2]
    values, freq = np.unique(sizes, return_counts=True)
    out = []
    for column, (vals, codes, n) in zip(sensitive, tables[1:], strict=True):
        pdf = pd.DataFrame({q: codes[:, j] for j, q in enumerate(quasi)})
        pdf[column] = _unescape(
            pd.Series(pd.api.extensions.take(vals[-1].to_numpy(), codes[:, -1], allow_fill=True))
        )
        pdf["__n"] = n
        out.append(_pairs_from_counts(pdf, quasi, column))
    return values, freq.astype(np.int64), out


def _as_dask(table: Any, columns: list[str] | None):
    import dask.dataframe as dd
    import pandas as pd

    from anonlab.distributed.tables import read_table

    if isinstance(table, str | os.PathLike):
        return read_table(table, columns=columns, text_as_categories=True), str(table)
    if isinstance(table, pd.DataFrame):
        return dd.from_pandas(table, npartitions=max(1, min(8, len(table) // 100_000 + 1))), "input"
    return table, "input"


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
        ddf = ddf[[*quasi, *sensitive]]
        values, freq, pairs = _count(ddf, quasi, sensitive)
    if freq.sum() == 0:
        raise InputError(f"{source}: no rows to assess")
    reports = [
        sensitive_report(p, column, m, ordered)
        for column, (p, m, ordered) in zip(sensitive, pairs, strict=True)
    ]
    return report_from_histogram(
        values, freq, quasi, sampling_fraction=sampling_fraction, threshold=threshold, sensitive=reports
    )


def _count(ddf, quasi: list[str], sensitive: list[str]):
    """The class-size histogram and the sensitive columns' sorted (class, value, count) triples, counted per
    partition and merged in a tree (see the module's docstring)."""
    import dask

    count = dask.delayed(_partition, pure=True)
    parts = [count(p, quasi, sensitive) for p in ddf.to_delayed()]
    if not parts:
        parts = [dask.delayed(_partition, pure=True)(ddf._meta, quasi, sensitive)]
    merge = dask.delayed(_merge, pure=True)
    while len(parts) > 1:
        parts = [merge(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]  # fmt: skip
    return dask.compute(dask.delayed(_finish, pure=True)(parts[0], quasi, sensitive))[0]
