"""Differentially private statistics of a partitioned table: :func:`anonlab.privacy.stats.dp_stats` with its
exact aggregates computed on a cluster.

Every query's exact input (:func:`anonlab.privacy.stats.answers.exact`: a count, the cells of a contingency
table, an integer sum on the public fixed-point grid, a mean's count and centred sum, a quantile's rank counts
at each public candidate) is additive over the rows, so each partition computes its own with the in-process
kernel and the parts are added exactly (integers) in a tree: the client receives aggregates whose size is set by
the public domains (at most :data:`~anonlab.privacy.stats.MAX_CELLS` cells), never rows. The rest is the
in-process release, on the client: the same checks in the same order, the ledger charged once before any noise
is drawn, the noise drawn once from the same stream, the same allow-listed result.

The table's content fingerprint (kept in the ledger and, for a seeded release, in the noise derivation; never
published) is the in-process one, :func:`anonlab.privacy.ledger.dataset_fingerprint`: the partitions' CSV text
is hashed in row order as it streams to the client (one partition at a time; it is skipped when there is
neither a ledger nor a seed, as nothing then uses it). So a release here and in-process of the same rows with
the same seed and ledger state gives the same answers.
"""

from __future__ import annotations

import os
from typing import Any

from anonlab.errors import InputError, UsageError

__all__ = ["dp_stats", "preview_dp_stats", "exact_inputs", "fingerprint", "ClusterAggregates"]

_WINDOW = 4  # partitions of CSV text in flight to the client while fingerprinting


def _as_dask(table: Any):
    import dask.dataframe as dd
    import pandas as pd

    from anonlab.distributed.tables import read_table

    if isinstance(table, str | os.PathLike):
        return read_table(table), str(table)
    if isinstance(table, pd.DataFrame):
        return dd.from_pandas(
            table, npartitions=max(1, min(8, len(table) // 100_000 + 1)), sort=False
        ), "input"
    return table, "input"


def _kernel(part, sub, queries, schema, source):
    """One partition's exact inputs, or the names of the columns holding a value that does not fit the schema
    (never the value or its row: they are private)."""
    from anonlab.privacy.stats.answers import exact
    from anonlab.schema import Schema

    if sub is None:  # no column queried (count only): the rows as they are, as in-process
        return (), [exact(q, part, schema) for q in queries]
    try:
        data = sub.coerce(part, source)
    except InputError:
        bad = []
        for col in sub.columns:
            try:
                Schema((col,)).coerce(part[[col.name]], source)
            except InputError:
                bad.append(col.name)
        return tuple(bad), None
    return (), [exact(q, data, schema) for q in queries]


def _merge(a, b, queries):
    from anonlab.privacy.stats.answers import combine

    bad = tuple(dict.fromkeys((*a[0], *b[0])))
    if bad:
        return bad, None
    return (), [combine(q, x, y) for q, x, y in zip(queries, a[1], b[1], strict=True)]


def _add_lists(a, b):
    return [x + y for x, y in zip(a, b, strict=True)]


def sum_tree(parts: list):
    """The element-wise sum of delayed lists of arrays (one per partition), added pairwise in a tree so no task
    holds more than two partitions' aggregates; returns one delayed list."""
    import dask

    join = dask.delayed(_add_lists, pure=True)
    while len(parts) > 1:
        parts = [join(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]  # fmt: skip
    return parts[0]


def _compute(client, *objs):
    import dask

    return dask.compute(*objs, scheduler=client) if client is not None else dask.compute(*objs)


def _exact(ddf, sub, queries, schema, source: str, client) -> list:
    """The queries' exact inputs over every partition, added in a tree; raises as :func:`coerce_private` would
    (the first schema column, in schema order, that holds a value not of its type; the column only)."""
    import dask

    if sub is not None:
        sub.check_frame(ddf._meta, source)
        ddf = ddf[list(sub.names)]
    # the empty table's inputs: checks the queries against the schema here, and is the sum's identity
    empty = _kernel(ddf._meta.iloc[:0], sub, queries, schema, source)
    parts = [dask.delayed(_kernel, pure=True)(p, sub, queries, schema, source) for p in ddf.to_delayed()]
    merge = dask.delayed(_merge, pure=True)
    while len(parts) > 1:
        parts = [merge(parts[i], parts[i + 1], queries) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]  # fmt: skip
    bad, inputs = _compute(client, parts[0])[0] if parts else empty
    if bad:
        first = next(c.name for c in sub.columns if c.name in bad)
        col = sub[first]
        raise InputError(
            f"{source}: column {first!r} holds a value that is not a valid {col.type} (the schema's type); the "
            "values and their rows are not shown, as they are private"
        )
    return inputs


def _csv_text(part, header: bool) -> bytes:
    from anonlab.privacy.fingerprint import csv_text

    return csv_text(part, header=header)


def fingerprint(table: Any, scheduler: Any = None) -> str:
    """:func:`anonlab.privacy.ledger.dataset_fingerprint` of a partitioned table, equal to the in-process one of
    the same rows in the same order: each partition's CSV text (the header with the first) is hashed on the
    client in row order, a few partitions in flight at a time. Secret to the operator: never publish it."""
    from anonlab.distributed.scheduler import connect

    with connect(scheduler) as client:
        ddf, _ = _as_dask(table)
        return _fingerprint(ddf, client)


def _fingerprint(ddf, client) -> str:
    import dask

    from anonlab.privacy.fingerprint import new_hash

    texts = [dask.delayed(_csv_text, pure=True)(p, i == 0) for i, p in enumerate(ddf.to_delayed())]
    h = new_hash()
    if client is None:
        for i in range(0, len(texts), _WINDOW):
            for t in dask.compute(*texts[i : i + _WINDOW]):
                h.update(t)
        return h.hexdigest()
    pending = client.compute(texts[:_WINDOW])
    nxt = _WINDOW
    while pending:
        h.update(pending.pop(0).result())
        if nxt < len(texts):
            pending.append(client.compute(texts[nxt]))
            nxt += 1
    return h.hexdigest()


def _schema(schema, trust_domains: bool):
    """The schema as :func:`anonlab.privacy.stats.release.resolve_schema` resolves it; an inferred one (no
    ``schema=``) would read every value of the table on the client, so here it must be given."""
    from anonlab.privacy.stats.release import resolve_schema

    if schema is None and trust_domains:
        raise UsageError(
            "schema=: a distributed dp stats run needs a schema stating each queried column's type and domain "
            "(a file, a Schema or 'adult'); inferring one would read the whole table on the client"
        )
    return resolve_schema(schema, None, trust_domains)  # schema=None without trust: the in-process refusal


def exact_inputs(table: Any, queries, *, schema, source: str | None = None, scheduler: Any = None) -> list:
    """The exact, un-noised inputs of ``queries`` on a partitioned table, as
    :func:`anonlab.privacy.stats.answers.exact` computes them in-process on the coerced table (one per query).
    For checking only: they are exact statistics of private data, never to be released as they are."""
    from anonlab.distributed.scheduler import connect
    from anonlab.privacy.stats.queries import as_queries
    from anonlab.schema import Schema

    qs = as_queries(queries)
    sch = _schema(schema, False)
    with connect(scheduler) as client:
        ddf, where = _as_dask(table)
        used = sorted({c for q in qs for c in q.columns})
        sub = Schema(tuple(sch[c] for c in used)) if used else None
        return _exact(ddf, sub, qs, sch, source or where, client)


class ClusterAggregates:
    """A partitioned table's exact aggregates on a cluster, as
    :class:`anonlab.privacy.stats.release.StatsAggregates`: the in-process release asks for them where it
    would compute them from the table."""

    def __init__(self, ddf, client):
        self.ddf, self.client = ddf, client

    def exact_inputs(self, queries, schema, source: str) -> list:
        from anonlab.schema import Schema

        used = sorted({c for q in queries for c in q.columns})
        sub = Schema(tuple(schema[c] for c in used)) if used else None
        return _exact(self.ddf, sub, queries, schema, source, self.client)

    def fingerprint(self) -> str:
        return _fingerprint(self.ddf, self.client)


def dp_stats(
    table: Any,
    queries,
    *,
    epsilon: float,
    delta: float = 0.0,
    schema=None,
    ledger=None,
    trust_domains: bool = False,
    seed: int | None = None,
    source: str | None = None,
    parameters: dict[str, Any] | None = None,
    scheduler: Any = None,
):
    """:func:`anonlab.privacy.stats.dp_stats` of a table too large for one process: the same parameters, checks,
    ledger charge and :class:`~anonlab.privacy.stats.StatsResult`.

    table : a path (CSV/TSV file or glob, Parquet file or folder; read as :func:`anonlab.io.read_table` reads),
        a Dask DataFrame, or a pandas DataFrame (split into partitions).
    schema : as in-process, except that ``None`` (a schema inferred from the data, with ``trust_domains=True``)
        is refused: give the schema file (``anonlab schema infer`` on a sample drafts one).
    scheduler : where the aggregates are computed: ``"local:N"``, a scheduler address or file, a
        ``distributed.Client``, or ``None`` for the session's current client (else Dask's threads).

    The run is the in-process one (:func:`anonlab.privacy.stats.release.dp_stats`) given the table's
    :class:`ClusterAggregates`: the exact aggregates equal the in-process ones; the ledger is charged once, on
    the client, before any noise is drawn; the noise is drawn once, on the client. With the same seed, ledger
    state and rows in the same order, the answers equal the in-process answers.
    """
    from anonlab.distributed.scheduler import connect
    from anonlab.privacy.stats.plan import plan_stats
    from anonlab.privacy.stats.queries import as_queries
    from anonlab.privacy.stats.release import dp_stats as run_here

    plan_stats(as_queries(queries), epsilon, delta)  # refused before a cluster is started or the table read
    _schema(schema, trust_domains)
    with connect(scheduler) as client:
        ddf, where = _as_dask(table)
        return run_here(
            None,
            queries,
            epsilon=epsilon,
            delta=delta,
            schema=schema,
            ledger=ledger,
            trust_domains=trust_domains,
            seed=seed,
            source=source or where,
            parameters=parameters,
            aggregates=ClusterAggregates(ddf, client),
        )


def preview_dp_stats(
    table: Any,
    queries,
    *,
    epsilon: float,
    delta: float = 0.0,
    schema=None,
    ledger=None,
    trust_domains: bool = False,
    scheduler: Any = None,
):
    """:func:`anonlab.privacy.stats.preview_dp_stats` of a partitioned table: what :func:`dp_stats` would spend
    and with what noise, checked against the ledger; spends and draws nothing. Reads the table only to
    fingerprint it for the ledger's check (and not at all without a ledger)."""
    from anonlab.distributed.scheduler import connect
    from anonlab.privacy.stats.plan import check_columns, plan_stats
    from anonlab.privacy.stats.queries import as_queries
    from anonlab.privacy.stats.release import preview_stats, resolve_ledger
    from anonlab.privacy.stats.result import StatsPreview

    qs = as_queries(queries)
    plan_stats(qs, epsilon, delta)
    sch = _schema(schema, trust_domains)
    led = resolve_ledger(ledger)
    check_columns(qs, sch, trust_domains)  # what preview_stats refuses, refused before the table is read
    fp = "unused"
    if led is not None:
        with connect(scheduler) as client:
            ddf, _ = _as_dask(table)
            fp = _fingerprint(ddf, client)
    return StatsPreview(
        preview_stats(
            None, sch, qs, epsilon=epsilon, delta=delta, ledger=led, dataset=fp, trust_domains=trust_domains
        )
    )
