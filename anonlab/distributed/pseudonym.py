"""Keyed pseudonymisation of a partitioned table: :func:`anonlab.deid.pseudonymize` with the rows on a cluster.

Each partition is released by the in-process kernel (:func:`anonlab.deid.pseudonym.pseudonymize_rows`): a row's
pseudonyms and shifted dates depend only on the row and the key, so the rows equal the in-process release. What
depends on a whole column is settled first, over all partitions: the format of each date column (ISO, or the one
format guessed from the column's first value, as :func:`anonlab.io.parse_dates` decides; from the date columns
alone when the table is Parquet) and the column types (:func:`anonlab.distributed.read_table`). The distinct
identifiers of the report are counted exactly in the writing pass: each partition's distinct values of the id
columns as Arrow arrays, united pairwise in a tree.

The key travels to the workers inside the task (a :class:`~anonlab.deid.pseudonym.Pseudonymizer`, whose ``repr``
hides it, so a failing task's log line cannot show it), in memory only: never written to disk, a log or an
output. Dask spills results, not tasks, to disk. The output is a folder of Parquet parts, written under the
staging and completion rule (:func:`anonlab.distributed.write_parquet`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["pseudonymize"]


def _rows(part, pz, ids, drop, dates, by, formats, source, partition_info=None):
    from anonlab.deid.pseudonym import pseudonymize_rows

    where = source if partition_info is None else f"{source} (partition {partition_info['number']})"
    return pseudonymize_rows(part, pz, ids, drop, dates, by, formats, where)


def _date_shapes(part, dates):
    """Per date column of one partition: all ISO, an ambiguous example (DD/MM...), the first value (stripped).
    Looked at on the distinct values, in the order they first appear (so the first ones are the rows' first)."""
    import pandas as pd

    from anonlab.io import _ISO_DATE, _NUMERIC_DATE

    rows = []
    for c in dates:
        text = pd.Series(pd.unique(part[c].dropna().astype(str).str.strip()), dtype=object)
        numeric = text[text.str.fullmatch(_NUMERIC_DATE)]
        rows.append(
            (
                c,
                bool(text.str.fullmatch(_ISO_DATE).all()),
                numeric.iloc[0] if len(numeric) else None,
                text.iloc[0] if len(text) else None,
            )
        )
    return pd.DataFrame(rows, columns=["column", "iso", "ambiguous", "first"])


def _formats(ddf, dates, date_format, source) -> dict[str, str | None]:
    """Each date column's format over the whole table, decided as :func:`anonlab.io.parse_dates` decides it for
    the whole column in-process (and refused with its message)."""
    import pandas as pd

    from anonlab.io import parse_dates

    if date_format or not dates:
        return dict.fromkeys(dates, date_format)
    meta = pd.DataFrame(
        {"column": pd.Series(dtype=object), "iso": pd.Series(dtype=bool)}
        | {k: pd.Series(dtype=object) for k in ("ambiguous", "first")}
    )
    shapes = ddf.map_partitions(_date_shapes, dates, meta=meta).compute()
    out: dict[str, str | None] = {}
    for c in dates:
        g = shapes[shapes["column"] == c]
        if g["iso"].all():
            out[c] = None
            continue
        ambiguous = g["ambiguous"].dropna()
        sample = ambiguous.iloc[:1] if len(ambiguous) else g["first"].dropna().iloc[:1]
        out[c] = parse_dates(pd.Series(list(sample), dtype=object), c, None, source)[
            1
        ]  # raises as in-process
    return out


def _unique_ids(part, ids) -> list:
    """Per column of ``ids``, its distinct identifiers (as text, missing left out) in one partition, as an Arrow
    array: compact to send, and compared byte for byte (pandas' string hashing stops at a NUL)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    out = []
    for c in ids:
        s = part[c]
        if not (s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")):
            s = s.astype("string").astype(object)  # as text, as in-process (123 -> "123")
        values = pc.unique(pa.array(s.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True))
        out.append(values.drop_null())
    return out


def _union_ids(a: list, b: list) -> list:
    import pyarrow as pa
    import pyarrow.compute as pc

    return [pc.unique(pa.concat_arrays([x, y])) for x, y in zip(a, b, strict=True)]


def _distinct_ids(ddf, ids):
    """A delayed list of each ``ids`` column's number of distinct identifiers: the partitions' distinct values
    united pairwise in a tree (exact; the last union holds every distinct identifier of a column, compactly)."""
    import dask

    parts = [dask.delayed(_unique_ids, pure=True)(p, ids) for p in ddf[ids].to_delayed()]
    if not parts:
        parts = [dask.delayed(_unique_ids, pure=True)(ddf._meta, ids)]
    union = dask.delayed(_union_ids, pure=True)
    while len(parts) > 1:
        parts = [union(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]  # fmt: skip
    return dask.delayed(_lengths, pure=True)(parts[0])


def _lengths(arrays: list) -> list[int]:
    return [len(a) for a in arrays]


def _mapping_rows(part, pz, ids):
    from anonlab.deid.pseudonym import pseudonym_mapping

    return pseudonym_mapping(part, key=pz.key, ids=ids)


def pseudonymize(
    table: Any,
    output: str | os.PathLike,
    *,
    key,
    ids=(),
    drop=(),
    dates=(),
    by: str | None = None,
    date_format: str | None = None,
    max_shift_days: int = 365,
    mapping: str | os.PathLike | None = None,
    force: bool = False,
    source: str | None = None,
    scheduler: Any = None,
):
    """:func:`anonlab.deid.pseudonymize` of a table too large for one process, written to ``output``.

    table : a path (CSV/TSV file or glob, Parquet file or folder) read with ``ids``, ``drop``, ``dates`` and
        ``by`` as text, or a Dask DataFrame.
    output : the folder of Parquet parts to write (a name ending ``.parquet``); refused if it exists, unless
        ``force`` (which replaces only a folder of Parquet parts).
    mapping : also write the original -> pseudonym pairs (one file, any table format, collected on the client:
        its size is the number of distinct identifiers). As secret as the key.
    key, ids, drop, dates, by, date_format, max_shift_days : as :func:`anonlab.deid.pseudonymize`.
    scheduler : where to run (see :mod:`anonlab.distributed`).

    Returns the :class:`~anonlab.deid.pseudonym.PseudonymizationReport`. Its rows, columns and distinct
    identifier counts are the in-process ones; its free-text and identifier warnings look at the first partition
    only.
    """
    import pandas as pd

    from anonlab.deid.pseudonym import (
        PseudonymizationReport,
        Pseudonymizer,
        _as_key,
        _names,
        checked_arguments,
        column_warnings,
        pseudonymize_rows,
    )
    from anonlab.distributed.scheduler import connect
    from anonlab.distributed.tables import is_parquet, read_table, write_parquet

    with connect(scheduler):
        text = []
        if isinstance(table, str | os.PathLike):
            text = [
                *_names(ids, "ids"),
                *_names(drop, "drop"),
                *_names(dates, "dates"),
                *([by] if by else []),
            ]
            ddf, source = read_table(table, text_columns=text), source or str(table)
        else:
            ddf, source = table, source or "input"
        ids, drop, dates = checked_arguments(ddf, ids, drop, dates, by, date_format, max_shift_days, source)
        pz = Pseudonymizer(_as_key(key), max_shift_days=max_shift_days)
        # a Parquet table is read by column: the date formats' first pass and the distinct identifiers' count
        # (computed beside the writing pass) read only their own columns
        by_column = bool(text) and is_parquet(table)
        only = lambda cols: read_table(table, columns=cols, text_columns=cols) if by_column else ddf  # noqa: E731
        formats = _formats(only(dates) if dates else ddf, dates, date_format, source)
        meta = pseudonymize_rows(ddf._meta, pz, ids, drop, [], None, None, source)
        for c in dates:
            meta[c] = pd.Series(dtype=object)
        out = ddf.map_partitions(_rows, pz, ids, drop, dates, by, formats, source, meta=meta)
        if ids:
            counts = write_parquet(out, output, force=force, also=[_distinct_ids(only(ids), ids)])[0]
        else:
            counts = write_parquet(out, output, force=force)
        import pyarrow.parquet as pq

        parts = sorted(Path(output).glob("part.*.parquet"))
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in parts)
        distinct = {c: int(n) for c, n in zip(ids, counts, strict=True)}
        free_text, id_like = column_warnings(pd.read_parquet(parts[0]), ids, dates)
        if mapping is not None and ids:
            from anonlab.io import write_table

            pairs_meta = pd.DataFrame(
                {c: pd.Series(dtype=object) for c in ("column", "original", "pseudonym")}
            )
            pairs = (
                ddf[ids].map_partitions(_mapping_rows, pz, ids, meta=pairs_meta).drop_duplicates().compute()
            )
            write_table(pairs.sort_values(["column", "original"], ignore_index=True), mapping, force=force)
    return PseudonymizationReport(
        rows=rows,
        pseudonymized=ids,
        dropped=drop,
        shifted=dates,
        free_text_warnings=free_text,
        distinct_ids=distinct,
        identifier_warnings=id_like,
        by=by,
    )
