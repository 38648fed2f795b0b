"""How a ``dp stats`` run spends its budget, decided from public information before any data is read.

The user's total (epsilon, delta) is split equally between the queries' measurements (a mean is a sum and a count;
a quantile query is one selection per level). With ``delta > 0`` the split is in zCDP (rho from the tight conversion
of (epsilon, delta)) and counts and sums get (discrete) Gaussian noise; with ``delta = 0`` the split is of pure
epsilon and they get (discrete) Laplace noise. A selection step in zCDP mode uses epsilon = sqrt(2 rho) of its share.

The queries' columns are checked against the schema here too: every domain a query uses must be public (stated in
the schema) unless the user trusts the data-read ones (``trust_domains=True``, recorded in the ledger).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from anonlab.errors import PrivacyError, SchemaError, UsageError
from anonlab.privacy.accounting import check_delta, check_epsilon, rho_for
from anonlab.privacy.stats.grid import bounds_units, grid_name, integer_bounds
from anonlab.privacy.stats.queries import Query, as_queries

if TYPE_CHECKING:
    from anonlab.schema import Column, Schema

__all__ = [
    "MAX_CELLS",
    "SAFETY",
    "CATEGORICAL",
    "Plan",
    "plan_stats",
    "check_columns",
    "categories",
    "measurement_epsilon",
    "noise_plan",
]

MAX_CELLS = 1_000_000  # contingency tables larger than this are refused
#: Noise scales are multiplied by this (selection epsilons divided) so float rounding never overspends.
SAFETY = 1.0 + 1e-12
#: Text-valued column types whose public categories a table counts over.
CATEGORICAL = ("categorical", "code")


@dataclass(frozen=True)
class Plan:
    """How a run's budget is spent: the mode and the budget per measurement, decided before any data is read.

    mode : ``"zcdp"`` (delta > 0: Gaussian noise, queries composed in zCDP) or ``"pure"`` (delta = 0: Laplace).
    rho : the total zCDP cost in zCDP mode (``None`` in pure mode).
    per_measurement : rho (zCDP mode) or epsilon (pure mode) of each measurement.
    """

    epsilon: float
    delta: float
    mode: str
    rho: float | None
    per_measurement: float
    measurements: int

    @property
    def total_rho(self) -> float:
        """The total rho of a zCDP plan (:class:`PrivacyError` for a pure one, which has none)."""
        if self.rho is None:
            raise PrivacyError("internal error: a pure-DP plan has no rho")
        return self.rho

    def to_dict(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "mode": self.mode,
            "rho": self.rho,
            "per_measurement": self.per_measurement,
            "measurements": self.measurements,
        }


def plan_stats(queries: Iterable[Query | str], epsilon: float, delta: float) -> Plan:
    """Split (epsilon, delta) equally between the measurements of ``queries``."""
    eps = check_epsilon(epsilon, "epsilon=")
    d = check_delta(delta, "delta=")
    qs = as_queries(queries)
    if not qs:
        raise UsageError("give at least one query (queries=)")
    n = sum(q.measurements for q in qs)
    if d > 0:
        rho = rho_for(eps, d)
        return Plan(eps, d, "zcdp", rho, rho / n, n)
    return Plan(eps, d, "pure", None, eps / n, n)


def _check_table_column(q: Query, col: Column) -> None:
    """A ``counts`` column: categorical or code with public categories, or integer with public bounds."""
    name = col.name
    if col.type in CATEGORICAL and col.categories is None:
        raise PrivacyError(
            f"query {q.text!r}: column {name!r} has no public categories in the schema; list them "
            "(a DP table cannot read its categories from the data)"
        )
    if col.type in ("float", "date"):
        raise UsageError(
            f"query {q.text!r}: column {name!r} is {col.type}; counts need a categorical, code or "
            "integer column (bin it first)"
        )
    if col.type == "integer" and col.lower is None:
        raise PrivacyError(f"query {q.text!r}: integer column {name!r} has no public bounds")


def _check_numeric_column(q: Query, col: Column) -> None:
    """A ``sum``, ``mean`` or ``quantile`` column: integer or float with public bounds."""
    if col.type not in ("integer", "float"):
        raise UsageError(f"query {q.text!r}: column {col.name!r} is {col.type}, not a number")
    if col.lower is None:
        raise PrivacyError(
            f"query {q.text!r}: column {col.name!r} has no public bounds in the schema; state lower and "
            "upper (a DP statistic cannot read its bounds from the data)"
        )


def _column(q: Query, name: str, schema: Schema) -> Column:
    """The schema's column ``name``, checked for what query ``q`` does with it."""
    if name not in schema:
        raise SchemaError(f"query {q.text!r}: the schema has no column {name!r}")
    col = schema[name]
    if col.type == "text":
        raise UsageError(f"query {q.text!r}: column {name!r} is free text; DP statistics do not use it")
    if q.kind == "counts":
        _check_table_column(q, col)
    else:
        _check_numeric_column(q, col)
    return col


def check_columns(queries: list[Query], schema: Schema, trust_domains: bool) -> list[str]:
    """Validate query columns against the schema; returns the columns whose data-read domains were trusted.

    A column whose domain the schema marks ``from_data`` is refused (:class:`PrivacyError`) unless
    ``trust_domains`` is true: the user then vouches that it is public, and the ledger records it."""
    trusted: list[str] = []
    for q in queries:
        for name in q.columns:
            col = _column(q, name, schema)
            if col.from_data:
                if not trust_domains:
                    raise PrivacyError(
                        f"query {q.text!r}: the domain of column {name!r} was read from the data (from_data = "
                        "true); state it as public in the schema, or pass trust_domains=True to vouch that it is "
                        "public"
                    )
                if name not in trusted:
                    trusted.append(name)
            if q.kind == "counts":
                categories(col)  # size check, after the domain is known to be public or trusted
        if q.kind == "counts":
            cells = math.prod(len(categories(schema[c])) for c in q.columns)
            if cells > MAX_CELLS:
                raise UsageError(f"query {q.text!r}: {cells:,} cells is more than {MAX_CELLS:,}")
    return trusted


def categories(col: Column) -> list:
    """The public values a contingency table counts over: the categories, or every integer in the bounds."""
    if col.type in CATEGORICAL:
        return list(col.categories or ())
    lo, hi = integer_bounds(col)
    if hi - lo + 1 > MAX_CELLS:
        raise UsageError(f"column {col.name!r}: {hi - lo + 1:,} values is too many categories")
    return list(range(lo, hi + 1))


def measurement_epsilon(plan: Plan) -> float:
    """The pure epsilon one selection step may use: its own share, or sqrt(2 rho) of a zCDP share."""
    if plan.mode == "zcdp":
        return math.sqrt(2.0 * plan.per_measurement) / SAFETY
    return plan.per_measurement / SAFETY


def noise_scale(plan: Plan, sensitivity: float) -> float:
    """The noise scale of one measurement of the given sensitivity (Gaussian sigma or Laplace b)."""
    if plan.mode == "zcdp":
        return sensitivity / math.sqrt(2.0 * plan.per_measurement) * SAFETY
    return sensitivity / plan.per_measurement * SAFETY


def noise_plan(q: Query, schema: Schema, plan: Plan) -> dict[str, Any]:
    """The mechanism and noise scale a query will get, from public information only (as the run reports them,
    in the value's units)."""
    kind = "discrete_gaussian" if plan.mode == "zcdp" else "discrete_laplace"
    if q.kind in ("count", "counts"):
        return {"query": q.text, "mechanism": kind, "scale": noise_scale(plan, 1.0)}
    if q.kind == "quantile":
        eps = measurement_epsilon(plan)
        return {"query": q.text, "mechanism": "exponential (permute-and-flip)", "epsilon_per_level": eps}
    k, lo_u, hi_u = bounds_units(schema[q.columns[0]])
    if q.kind == "sum":
        sens = float(max(abs(lo_u), abs(hi_u)))
        return {
            "query": q.text,
            "mechanism": grid_name(kind, k),
            "scale": noise_scale(plan, sens) * math.ldexp(1.0, k),
        }
    if hi_u == lo_u:
        return {"query": q.text, "mechanism": kind, "scale": noise_scale(plan, 1.0)}
    return {
        "query": q.text,
        "mechanism": f"{grid_name(kind, k - 1)} (centred sum) / {kind} (count)",
        "scale": noise_scale(plan, float(hi_u - lo_u)) * math.ldexp(1.0, k - 1),
        "count_scale": noise_scale(plan, 1.0),
    }
