"""The statistics ``dp stats`` answers: a :class:`Query` and its text form (``counts:sex,race``).

A query is validated when it is built, so a bad query never reaches a ledger: :class:`Query` refuses an unknown kind,
missing or repeated columns and quantile levels outside (0, 1); :func:`parse_query` reads the text form the CLI takes
and the Python API accepts beside ``Query`` objects.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from dataclasses import dataclass

from anonlab.errors import UsageError

__all__ = ["KINDS", "QUERY_HELP", "Query", "parse_query", "as_queries"]

KINDS = ("count", "counts", "sum", "mean", "quantile")
#: The text forms a query may take.
QUERY_HELP = (
    "count | counts:COL[,COL...] | sum:COL | mean:COL | quantile:COL:Q[,Q...] (0 < Q < 1) | median:COL"
)
_ONE_COLUMN = ("sum", "mean", "quantile")


def _columns(kind: str, cols) -> tuple[str, ...]:
    """The query's columns as a tuple of distinct non-empty names, as many as its kind takes."""
    if isinstance(cols, str):
        cols = (cols,)
    try:
        cols = tuple(cols)
    except TypeError:
        raise UsageError(f"{kind} query: columns must be a sequence of column names") from None
    if any(not isinstance(c, str) or not c.strip() for c in cols):
        raise UsageError(f"{kind} query: column names must be non-empty text")
    if kind == "count" and cols:
        raise UsageError("count query: takes no columns (it counts records)")
    if kind == "counts" and not cols:
        raise UsageError("counts query: give at least one column")
    if kind in _ONE_COLUMN and len(cols) != 1:
        raise UsageError(f"{kind} query: give exactly one column, not {len(cols)}")
    if len(set(cols)) != len(cols):
        raise UsageError(f"{kind} query: a column is repeated")
    return cols


def _levels(kind: str, levels) -> tuple[float, ...]:
    """The quantile levels as distinct floats strictly between 0 and 1 (none for other kinds)."""
    try:
        levels = tuple(levels)
    except TypeError:
        raise UsageError(f"{kind} query: levels must be a sequence of numbers") from None
    if kind != "quantile":
        if levels:
            raise UsageError(f"{kind} query: levels are for quantile queries only")
        return ()
    if not levels:
        raise UsageError("quantile query: give at least one level")
    bad = "quantile query: levels must be numbers strictly between 0 and 1"
    if any(isinstance(q, bool) or not isinstance(q, numbers.Real) for q in levels):
        raise UsageError(bad)
    out = tuple(float(q) for q in levels)
    if any(not (math.isfinite(q) and 0 < q < 1) for q in out):
        raise UsageError(bad)
    if len(set(out)) != len(out):
        raise UsageError("quantile query: a level is repeated")
    return out


@dataclass(frozen=True)
class Query:
    """One statistic a user asks for; validated when it is built, so a bad query never reaches a ledger.

    kind : ``count`` (number of records), ``counts`` (a contingency table over the public categories of
        ``columns``, every cell including empty ones), ``sum`` / ``mean`` (of a numeric column clamped to its
        public bounds), ``quantile`` (of a numeric column, over its public bounds).
    columns : the column names (none for ``count``; one for ``sum``, ``mean``, ``quantile``; distinct).
    levels : the quantile levels, strictly between 0 and 1 and distinct (``quantile`` only).
    text : how the query is shown (defaults to :attr:`canonical`).

    Raises :class:`UsageError` for anything else (an unknown kind, missing or repeated columns, bad levels).
    """

    kind: str
    columns: tuple[str, ...] = ()
    levels: tuple[float, ...] = ()
    text: str = ""

    def __post_init__(self) -> None:
        kind = self.kind
        if not isinstance(kind, str) or kind not in KINDS:
            raise UsageError(f"query kind {kind!r} is not one of {', '.join(KINDS)}; use {QUERY_HELP}")
        object.__setattr__(self, "columns", _columns(kind, self.columns))
        object.__setattr__(self, "levels", _levels(kind, self.levels))
        if not isinstance(self.text, str):
            raise UsageError(f"{kind} query: text must be a string")
        if not self.text.strip():
            object.__setattr__(self, "text", self.canonical)

    @property
    def canonical(self) -> str:
        """One spelling per query (``quantile:x:0.5`` for ``median:x``): what the noise derivation digests."""
        if self.kind == "count":
            return "count"
        cols = ",".join(self.columns)
        if self.kind == "quantile":
            return f"quantile:{cols}:{','.join(repr(q) for q in self.levels)}"
        return f"{self.kind}:{cols}"

    @property
    def measurements(self) -> int:
        """How many noisy measurements the query takes (its budget is split equally between them)."""
        if self.kind == "mean":
            return 2
        if self.kind == "quantile":
            return len(self.levels)
        return 1


def parse_query(text: str) -> Query:
    """Parse ``count``, ``counts:a,b``, ``sum:a``, ``mean:a``, ``quantile:a:0.25,0.5``, ``median:a``."""
    if not isinstance(text, str):
        raise UsageError(f"a query must be a Query or its text, not {type(text).__name__}")
    t = text.strip()
    parts = t.split(":")
    kind = parts[0].strip().lower()
    if kind == "count" and len(parts) == 1:
        return Query("count", text=t)
    if kind in ("counts", "sum", "mean", "median") and len(parts) == 2:
        cols = tuple(c.strip() for c in parts[1].split(",") if c.strip())
        if not cols or (kind != "counts" and len(cols) != 1):
            raise UsageError(f"query {text!r}: give {'column names' if kind == 'counts' else 'one column'}")
        if len(set(cols)) != len(cols):
            raise UsageError(f"query {text!r}: a column is repeated")
        if kind == "median":
            return Query("quantile", cols, (0.5,), t)
        return Query(kind, cols, (), t)
    if kind == "quantile" and len(parts) == 3:
        return _parse_quantile(text, t, parts)
    raise UsageError(f"query {text!r} not understood; use {QUERY_HELP}")


def _parse_quantile(text: str, t: str, parts: list[str]) -> Query:
    col = parts[1].strip()
    try:
        levels = tuple(float(q) for q in re.split(r"[,\s]+", parts[2].strip()) if q)
    except ValueError:
        raise UsageError(f"query {text!r}: quantile levels must be numbers between 0 and 1") from None
    if not col or not levels or any(not 0 < q < 1 for q in levels):
        raise UsageError(f"query {text!r}: quantile levels must be numbers strictly between 0 and 1")
    try:
        return Query("quantile", (col,), levels, t)
    except UsageError as exc:
        raise UsageError(f"query {text!r}: {exc}") from None


def as_queries(queries: Query | str | Iterable[Query | str]) -> list[Query]:
    """Queries as :class:`Query` objects (text is parsed with :func:`parse_query`). One query may be given alone."""
    if isinstance(queries, Query | str):
        queries = [queries]
    try:
        items = list(queries)
    except TypeError:
        raise UsageError(
            f"queries= must be a query or a list of queries, not {type(queries).__name__}"
        ) from None
    out = []
    for q in items:
        if isinstance(q, str):
            q = parse_query(q)
        elif not isinstance(q, Query):
            raise UsageError(f"queries=: a query must be a Query or its text, not {type(q).__name__}")
        out.append(q)
    return out
