"""Differentially private statistics over a table: counts, contingency tables, sums, means and quantiles.

Neighbouring datasets differ by adding or removing one record (so the number of rows is itself private). Every
answer uses only public information besides the data: the schema's categories and bounds, which must be public
(``from_data = false``) unless the user explicitly trusts them (``--trust-domains``, recorded in the ledger).

Budget: the user's total (epsilon, delta) is split equally between the queries (and equally between the
measurements inside one query: a mean is a sum and a count). With ``delta > 0`` the split is in zCDP (rho from the
tight conversion of (epsilon, delta)) and counts and sums get (discrete) Gaussian noise; with ``delta = 0`` the split
is of pure epsilon and they get (discrete) Laplace noise. Quantiles use the exponential mechanism (permute-and-flip)
over a public grid of candidates; in zCDP mode a pure-epsilon step enters as rho = epsilon**2 / 2.

Sums and means are computed without floating-point error: each value, clamped to its column's public bounds, is
rounded to a public fixed-point grid (step ``2**k``, at most ``2**-32`` of the larger bound; whole numbers for integer
columns with bounds below ``2**32``), summed exactly in integer arithmetic, and the integer sum gets discrete noise
calibrated to the grid sensitivity. The sensitivity therefore holds exactly, whatever the number of rows.

Each answer states its noise scale and a 95% interval *for the noise* (the released value's distance from the exact
answer on this data; it does not cover sampling error). The whole run is charged to the ledger before any noise is
drawn.

What is published: every artifact (the ``-o`` JSON or CSV, ``--json``, the printed summary) is built from
:meth:`StatsResult.to_dict`, which passes :func:`anonlab.privacy.artifact.published` with :data:`STATS_ALLOW`: public
parameters (queries, epsilon, delta, the noise scales, the schema's categories, the ledger's path and what is left
of it) and DP outputs (the noisy values and their intervals). Never the seed, the table's fingerprint, an exact
count (rows read, values clamped or missing) or a wall-clock time.

Seeded noise: a seeded release draws from a keystream derived from the seed, a canonical digest of all the release's
parameters (queries, epsilon, delta, the schema's fingerprint, trusted domains, missing-value handling), the table's
content fingerprint (kept inside the process and the ledger) and the ledger sequence number, so two releases that
differ in anything never share noise.

Without a ledger (``ledger=None``) a run still works, for experiments, but emits
:class:`~anonlab.errors.PrivacyWarning` and its privacy statement says ``"no ledger"``: nothing then bounds the
total privacy loss of repeated releases.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from anonlab.errors import InputError, PrivacyError, PrivacyWarning, SchemaError, UsageError
from anonlab.privacy.accounting import ZCDP, PureDP, check_delta, check_epsilon, compose_zcdp, rho_for
from anonlab.privacy.artifact import DP_OUTPUT, PUBLIC, AllowList, published
from anonlab.privacy.mechanisms import exponential, gaussian, laplace
from anonlab.privacy.noise import NoiseSource
from anonlab.provenance import versions

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.privacy.ledger import Ledger
    from anonlab.schema import Column, Schema

__all__ = [
    "Query",
    "parse_query",
    "Answer",
    "StatsResult",
    "Plan",
    "plan_stats",
    "preview_stats",
    "run_stats",
    "coerce_private",
    "MAX_CELLS",
    "KINDS",
    "STATS_ALLOW",
    "PREVIEW_ALLOW",
    "PARAMETERS",
    "NO_LEDGER",
]

MAX_CELLS = 1_000_000  # contingency tables larger than this are refused
MAX_INTEGER_CANDIDATES = 100_000  # integer columns with a wider range use a grid of quantile candidates
QUANTILE_GRID = 1000  # candidates for a float column's quantile
GRID_BITS = 32  # sums: a value at the larger bound is at most 2**33 grid steps
KINDS = ("count", "counts", "sum", "mean", "quantile")
_CATEGORICAL = ("categorical", "code")  # text-valued columns whose public categories a table counts over
#: dp stats releases are add/remove releases (the number of rows is private); on a replace-one ledger the ledger
#: charges them as a group of two.
NEIGHBOURS = "add/remove"
#: The release kind that labels a dp stats run's noise stream.
RELEASE_KIND = "dp stats"
#: The privacy statement of a run made without a ledger.
NO_LEDGER = "no ledger"
#: How dp stats treats missing and out-of-domain values (part of every release's parameters).
MISSING_HANDLING = (
    "missing values are absent from every statistic; out-of-domain values are not counted in tables and are "
    "clamped to the bounds in sums, means and quantiles"
)

_QUERY_HELP = (
    "count | counts:COL[,COL...] | sum:COL | mean:COL | quantile:COL:Q[,Q...] (0 < Q < 1) | median:COL"
)

#: The keys ``parameters`` (the run's public parameters, as the CLI records them) may hold.
PARAMETERS = (
    "input",
    "schema",
    "ledger",
    "no_ledger",
    "epsilon",
    "delta",
    "queries",
    "trust_domains",
    "seeded",
)

#: Every field a dp stats report (``-o OUT.json``, ``--json``, the printed summary, the CSV) may hold.
STATS_ALLOW = AllowList(
    "dp stats report",
    {
        "answers.*.query": PUBLIC,
        "answers.*.kind": PUBLIC,
        "answers.*.mechanism": PUBLIC,
        "answers.*.scale": PUBLIC,
        "answers.*.cost.**": PUBLIC,  # the mechanisms' privacy maps at the public sensitivity
        "answers.*.notes.*": PUBLIC,
        "answers.*.rows.*.group.*": PUBLIC,  # a cell of the public category product (every cell is released)
        "answers.*.rows.*.level": PUBLIC,
        "answers.*.rows.*.rank_error95": PUBLIC,  # from epsilon, the level and the public candidates
        "answers.*.rows.*.count_scale": PUBLIC,
        "answers.*.rows.*.value": DP_OUTPUT,
        "answers.*.rows.*.ci95": DP_OUTPUT,  # None for a quantile
        "answers.*.rows.*.ci95.*": DP_OUTPUT,  # the noisy value +- a public half-width
        "privacy.epsilon": PUBLIC,
        "privacy.delta": PUBLIC,
        "privacy.mode": PUBLIC,
        "privacy.rho": PUBLIC,
        "privacy.per_measurement": PUBLIC,
        "privacy.measurements": PUBLIC,
        "privacy.neighbours": PUBLIC,
        "privacy.ledger": PUBLIC,  # the ledger's path, or "no ledger"
        "privacy.missing": PUBLIC,
        "privacy.noise.*": PUBLIC,  # whether seeded and which sampler; never the seed
        "privacy.trusted_domains": PUBLIC,
        "privacy.trusted_domains.*": PUBLIC,
        "privacy.measured.*": PUBLIC,
        "ledger.path": PUBLIC,
        "ledger.entry": PUBLIC,  # how many releases came before: public, not the data
        "ledger.remaining.*": PUBLIC,
        "ledger.charged.*": PUBLIC,
        "ledger.population": PUBLIC,
        "ledger.neighbours": PUBLIC,
        "parameters": PUBLIC,  # empty: an API call that recorded none
        **{f"parameters.{k}": PUBLIC for k in PARAMETERS},
        "parameters.queries.*": PUBLIC,
        "versions.*": PUBLIC,
    },
)

#: Every field a ``--dry-run`` preview may hold (nothing in it is computed from the data).
PREVIEW_ALLOW = AllowList(
    "dp stats preview",
    {
        "dry_run": PUBLIC,
        "privacy.*": PUBLIC,
        "privacy.trusted_domains.*": PUBLIC,
        "noise.*.query": PUBLIC,
        "noise.*.mechanism": PUBLIC,
        "noise.*.scale": PUBLIC,
        "noise.*.count_scale": PUBLIC,
        "noise.*.epsilon_per_level": PUBLIC,
        "ledger.path": PUBLIC,
        "ledger.remaining_before.*": PUBLIC,
    },
)


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
            raise UsageError(f"query kind {kind!r} is not one of {', '.join(KINDS)}; use {_QUERY_HELP}")
        cols = self.columns
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
        if kind in ("sum", "mean", "quantile") and len(cols) != 1:
            raise UsageError(f"{kind} query: give exactly one column, not {len(cols)}")
        if len(set(cols)) != len(cols):
            raise UsageError(f"{kind} query: a column is repeated")
        levels = self.levels
        try:
            levels = tuple(levels)
        except TypeError:
            raise UsageError(f"{kind} query: levels must be a sequence of numbers") from None
        if kind != "quantile" and levels:
            raise UsageError(f"{kind} query: levels are for quantile queries only")
        if kind == "quantile":
            if not levels:
                raise UsageError("quantile query: give at least one level")
            if any(isinstance(q, bool) or not isinstance(q, numbers.Real) for q in levels):
                raise UsageError("quantile query: levels must be numbers strictly between 0 and 1")
            levels = tuple(float(q) for q in levels)
            if any(not (math.isfinite(q) and 0 < q < 1) for q in levels):
                raise UsageError("quantile query: levels must be numbers strictly between 0 and 1")
            if len(set(levels)) != len(levels):
                raise UsageError("quantile query: a level is repeated")
        if not isinstance(self.text, str):
            raise UsageError(f"{kind} query: text must be a string")
        object.__setattr__(self, "columns", cols)
        object.__setattr__(self, "levels", levels)
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
    raise UsageError(f"query {text!r} not understood; use {_QUERY_HELP}")


@dataclass(frozen=True)
class Answer:
    """One query's noisy answer.

    rows : one dict per released number: ``value``, ``ci95`` ([low, high] for the noise, or ``None``), and for a
        contingency table the cell's ``group``; for a quantile its ``level`` and ``rank_error95`` (with 95%
        probability the released value's rank imbalance exceeds the best candidate's by at most this many records).
    mechanism : the noise used; scale : its scale per measurement (the Gaussian sigma or the Laplace b), in the
        value's units.
    """

    query: str
    kind: str
    mechanism: str
    scale: float
    cost: dict[str, Any]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "kind": self.kind,
            "mechanism": self.mechanism,
            "scale": self.scale,
            "cost": self.cost,
            "rows": self.rows,
            **({"notes": self.notes} if self.notes else {}),
        }


@dataclass(frozen=True)
class Plan:
    """How a run's budget is spent: the mode and the budget per measurement, decided before any data is read."""

    epsilon: float
    delta: float
    mode: str  # "zcdp" or "pure"
    rho: float | None  # total rho in zCDP mode
    per_measurement: float  # rho (zCDP mode) or epsilon (pure mode) per measurement
    measurements: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "mode": self.mode,
            "rho": self.rho,
            "per_measurement": self.per_measurement,
            "measurements": self.measurements,
        }


@dataclass(frozen=True)
class StatsResult:
    """Everything a DP statistics run released, and what it cost.

    ledger : the ledger's public facts after the charge (path, entry number, what is left), or ``None`` when the
        run was made without a ledger (then :meth:`to_dict` says ``"no ledger"``).
    """

    answers: list[Answer]
    plan: Plan
    noise: dict[str, Any]
    trusted_domains: list[str]
    ledger: dict[str, Any] | None
    parameters: dict[str, Any]
    measured: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report, checked field by field against :data:`STATS_ALLOW` (public parameters and DP outputs only;
        anything else raises :class:`~anonlab.privacy.artifact.ArtifactError`)."""
        record: dict[str, Any] = {
            "answers": [a.to_dict() for a in self.answers],
            "privacy": {
                **self.plan.to_dict(),
                "neighbours": "add or remove one record",
                "ledger": self.ledger["path"] if self.ledger else NO_LEDGER,
                "missing": MISSING_HANDLING,
                "noise": self.noise,
                "trusted_domains": self.trusted_domains,
                "measured": self.measured,
            },
        }
        if self.ledger:
            record["ledger"] = self.ledger
        record["parameters"] = self.parameters
        record["versions"] = versions("opendp")
        return published(record, STATS_ALLOW)


# -- planning ---------------------------------------------------------------------------------------------------


def plan_stats(queries: list[Query], epsilon: float, delta: float) -> Plan:
    """Split (epsilon, delta) equally between the measurements of ``queries``."""
    eps = check_epsilon(epsilon)
    d = check_delta(delta)
    queries = _queries(queries)
    if not queries:
        raise UsageError("give at least one --query")
    n = sum(q.measurements for q in queries)
    if d > 0:
        rho = rho_for(eps, d)
        return Plan(eps, d, "zcdp", rho, rho / n, n)
    return Plan(eps, d, "pure", None, eps / n, n)


def _check_columns(queries: list[Query], schema: Schema, trust_domains: bool) -> list[str]:
    """Validate query columns against the schema; returns the columns whose data-read domains were trusted."""
    trusted: list[str] = []
    for q in queries:
        for name in q.columns:
            if name not in schema:
                raise SchemaError(f"query {q.text!r}: the schema has no column {name!r}")
            col = schema[name]
            if col.type == "text":
                raise UsageError(
                    f"query {q.text!r}: column {name!r} is free text; DP statistics do not use it"
                )
            if q.kind == "counts":
                if col.type in _CATEGORICAL and col.categories is None:
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
            else:
                if col.type not in ("integer", "float"):
                    raise UsageError(f"query {q.text!r}: column {name!r} is {col.type}, not a number")
                if col.lower is None:
                    raise PrivacyError(
                        f"query {q.text!r}: column {name!r} has no public bounds in the schema; state lower and "
                        "upper (a DP statistic cannot read its bounds from the data)"
                    )
            if col.from_data:
                if not trust_domains:
                    raise PrivacyError(
                        f"query {q.text!r}: the domain of column {name!r} was read from the data (from_data = true); "
                        "state it as public in the schema, or pass --trust-domains to vouch that it is public"
                    )
                if name not in trusted:
                    trusted.append(name)
            if q.kind == "counts":
                _categories(col)  # size check
        if q.kind == "counts":
            cells = math.prod(len(_categories(schema[c])) for c in q.columns)
            if cells > MAX_CELLS:
                raise UsageError(f"query {q.text!r}: {cells:,} cells is more than {MAX_CELLS:,}")
    return trusted


def _categories(col: Column) -> list:
    if col.type in _CATEGORICAL:
        return list(col.categories or ())
    lo, hi = int(col.lower), int(col.upper)
    if hi - lo + 1 > MAX_CELLS:
        raise UsageError(f"column {col.name!r}: {hi - lo + 1:,} values is too many categories")
    return list(range(lo, hi + 1))


# -- intervals --------------------------------------------------------------------------------------------------


def _half_width(mechanism: str, scale: float, level: float = 0.95) -> float:
    """Half-width w with P(|noise| <= w) >= level, for the noise of ``mechanism`` at ``scale``."""
    tail = 1.0 - level
    if mechanism == "laplace":
        return scale * math.log(1.0 / tail)
    if mechanism == "gaussian":
        from scipy.stats import norm

        return scale * float(norm.isf(tail / 2))
    if mechanism == "discrete_laplace":
        # P(|Z| > k) = 2 exp(-(k+1)/b) / (1 + exp(-1/b))
        b = scale
        k = math.ceil(-b * math.log(tail * (1 + math.exp(-1.0 / b)) / 2.0) - 1.0)
        return float(max(0, k))
    if mechanism == "discrete_gaussian":
        if scale > 1e4:
            from scipy.stats import norm

            return math.ceil(scale * float(norm.isf(tail / 2))) + 1.0
        m = int(math.ceil(scale * 12)) + 2
        z = np.arange(-m, m + 1)
        w = np.exp(-(z.astype(float) ** 2) / (2 * scale * scale))
        w /= w.sum()
        inside = np.cumsum(w[m:] * 2) - w[m]  # P(|Z| <= k) for k = 0..m
        k = int(np.searchsorted(inside, level))
        return float(k)
    raise UsageError(f"no interval for mechanism {mechanism!r}")


def _interval(value: float, half: float) -> list[float]:
    return [value - half, value + half]


# -- measuring --------------------------------------------------------------------------------------------------


_SAFETY = (
    1.0 + 1e-12
)  # noise scales are rounded up (selection epsilons down) so float rounding never overspends


def _noisy(values, sensitivity: float, integer: bool, plan: Plan, noise: NoiseSource, spent: list):
    """Add the plan's noise for one measurement of the given (L1 = L2) sensitivity; record its cost in ``spent``."""
    r = _noisy_release(values, sensitivity, integer, plan, noise)
    spent.append(r.cost)
    return r


def _noisy_release(values, sensitivity: float, integer: bool, plan: Plan, noise: NoiseSource):
    if plan.mode == "zcdp":
        sigma = sensitivity / math.sqrt(2.0 * plan.per_measurement) * _SAFETY
        return gaussian(values, sigma, l2_sensitivity=sensitivity, integer=integer, noise=noise)
    return laplace(
        values,
        sensitivity / plan.per_measurement * _SAFETY,
        l1_sensitivity=sensitivity,
        integer=integer,
        noise=noise,
    )


def _measurement_epsilon(plan: Plan) -> float:
    """The pure epsilon one selection step may use: its own share, or sqrt(2 rho) of a zCDP share."""
    if plan.mode == "zcdp":
        return math.sqrt(2.0 * plan.per_measurement) / _SAFETY
    return plan.per_measurement / _SAFETY


def _answer_count(q: Query, n: int, plan: Plan, noise: NoiseSource, spent: list) -> Answer:
    r = _noisy(int(n), 1.0, True, plan, noise, spent)
    half = _half_width(r.mechanism, r.scale)
    return Answer(
        q.text,
        "count",
        r.mechanism,
        r.scale,
        r.cost.to_dict(),
        [{"value": int(r.value), "ci95": _interval(int(r.value), half)}],
    )


def _table_counts(q: Query, df: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Exact counts over the full public category product (C order over ``q.columns``)."""
    import pandas as pd

    cats = [_categories(schema[c]) for c in q.columns]
    shape = tuple(len(c) for c in cats)
    codes = []
    valid = np.ones(len(df), dtype=bool)
    for name, values in zip(q.columns, cats, strict=True):
        s = df[name]
        if schema[name].type in _CATEGORICAL:
            code = pd.Categorical(s.astype(object).where(s.notna(), None), categories=values).codes
        else:
            lo = int(schema[name].lower)
            num = pd.to_numeric(s, errors="coerce")
            ok = num.notna() & (num >= lo) & (num <= int(schema[name].upper))
            code = np.where(ok.to_numpy(), num.fillna(lo).to_numpy().astype(np.int64) - lo, -1)
        code = np.asarray(code, dtype=np.int64)
        valid &= code >= 0
        codes.append(code)
    flat = (
        np.ravel_multi_index(tuple(c[valid] for c in codes), shape)
        if valid.any()
        else np.array([], dtype=np.int64)
    )
    return np.bincount(flat, minlength=math.prod(shape)).astype(np.int64)


def _answer_counts(
    q: Query, counts: np.ndarray, schema: Schema, plan: Plan, noise: NoiseSource, spent: list
) -> Answer:
    cats = [_categories(schema[c]) for c in q.columns]
    shape = tuple(len(c) for c in cats)
    r = _noisy(counts, 1.0, True, plan, noise, spent)
    half = _half_width(r.mechanism, r.scale)
    idx = np.indices(shape).reshape(len(shape), -1)
    rows = []
    values = np.asarray(r.value).ravel()
    for j in range(values.size):
        group = {name: _plain(cats[i][idx[i, j]]) for i, name in enumerate(q.columns)}
        v = int(values[j])
        rows.append({"group": group, "value": v, "ci95": _interval(v, half)})
    notes = [
        "every cell of the public category product is released, including empty ones; records with a missing or "
        "out-of-domain value are not counted"
    ]
    return Answer(q.text, "counts", r.mechanism, r.scale, r.cost.to_dict(), rows, notes)


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _numeric(df: pd.DataFrame, col: Column) -> np.ndarray:
    """The column's non-missing values as floats, clamped to its public bounds."""
    import pandas as pd

    x = pd.to_numeric(df[col.name], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    x = x[~np.isnan(x)]
    return np.clip(x, float(col.lower), float(col.upper))


# -- exact sums on a public fixed-point grid ---------------------------------------------------------------------


def _grid_exponent(col: Column) -> int:
    """k of the public grid 2**k a column's values are rounded to before summing: at most 2**-GRID_BITS of the
    larger bound (whole numbers for an integer column whose bounds are below 2**GRID_BITS). From the schema only."""
    m = max(abs(float(col.lower)), abs(float(col.upper)))
    if m == 0:
        return 0
    k = math.floor(math.log2(m)) - GRID_BITS
    return max(0, k) if col.type == "integer" else k


def _units(x, k: int) -> np.ndarray:
    """Values in grid units (round half to even; monotone, so a clamped value stays between the rounded bounds)."""
    return np.rint(np.ldexp(np.asarray(x, dtype=float), -k)).astype(np.int64)


def _bounds_units(col: Column) -> tuple[int, int, int]:
    """(k, L, U): the grid exponent and the public bounds in grid units."""
    k = _grid_exponent(col)
    lo, hi = _units([float(col.lower), float(col.upper)], k)
    return k, int(lo), int(hi)


def _exact_sum(units: np.ndarray) -> int:
    """The exact integer sum (int64 chunks of 2**28 values, each at most 2**34 in size, added as Python ints)."""
    step = 1 << 28
    return sum((int(units[i : i + step].sum()) for i in range(0, units.size, step)), 0)


def _grid_name(mechanism: str, k: int) -> str:
    return mechanism if k == 0 else f"{mechanism} on the fixed-point grid 2^{k}"


def _sum_note(col: Column, k: int) -> str:
    grid = "" if k == 0 else f"; rounded to the grid 2^{k} and summed exactly"
    return (
        f"values clamped to the public bounds [{_fmt(col.lower)}, {_fmt(col.upper)}]{grid}; missing values count "
        "as absent"
    )


def _answer_sum(
    q: Query, x: np.ndarray, schema: Schema, plan: Plan, noise: NoiseSource, spent: list
) -> Answer:
    col = schema[q.columns[0]]
    k, lo_u, hi_u = _bounds_units(col)
    sens = max(abs(lo_u), abs(hi_u))
    if sens == 0:
        raise UsageError(f"query {q.text!r}: column {col.name!r} has bounds [0, 0]; its sum is always 0")
    total = _exact_sum(_units(x, k))
    r = _noisy(total, float(sens), True, plan, noise, spent)
    g = math.ldexp(1.0, k)
    half = _half_width(r.mechanism, r.scale) * g
    noisy = int(r.value)
    v = noisy * (1 << k) if col.type == "integer" else float(math.ldexp(noisy, k))
    return Answer(
        q.text,
        "sum",
        _grid_name(r.mechanism, k),
        r.scale * g,
        r.cost.to_dict(),
        [{"value": v, "ci95": _interval(v, half)}],
        [_sum_note(col, k)],
    )


def _answer_mean(
    q: Query, x: np.ndarray, schema: Schema, plan: Plan, noise: NoiseSource, spent: list
) -> Answer:
    col = schema[q.columns[0]]
    lo, hi = float(col.lower), float(col.upper)
    c = _noisy(int(x.size), 1.0, True, plan, noise, spent)
    k, lo_u, hi_u = _bounds_units(col)
    if hi_u == lo_u:
        return Answer(
            q.text, "mean", c.mechanism, c.scale, c.cost.to_dict(), [{"value": lo, "ci95": [lo, lo]}]
        )
    # Centred on the grid's midpoint, in half grid units: 2 u - (L + U) lies in [-(U - L), U - L], exactly.
    half_unit = math.ldexp(1.0, k - 1)
    centred = 2 * _units(x, k) - (lo_u + hi_u)
    s = _noisy(_exact_sum(centred), float(hi_u - lo_u), True, plan, noise, spent)
    mid = (lo_u + hi_u) * half_unit
    s_value = int(s.value) * half_unit
    n_hat = int(c.value)
    mean = mid + s_value / n_hat if n_hat > 0 else mid
    mean = min(hi, max(lo, mean))
    # A 95% interval from a 97.5% interval for each noisy part (union bound).
    hw_s = _half_width(s.mechanism, s.scale, 0.975) * half_unit
    hw_c = _half_width(c.mechanism, c.scale, 0.975)
    n_lo = n_hat - hw_c
    if n_lo <= 0:
        ci = [lo, hi]
    else:
        ends = [mid + sv / nv for sv in (s_value - hw_s, s_value + hw_s) for nv in (n_lo, n_hat + hw_c)]
        ci = [max(lo, min(ends)), min(hi, max(ends))]
    cost = {"count": c.cost.to_dict(), "sum": s.cost.to_dict()}
    return Answer(
        q.text,
        "mean",
        f"{_grid_name(s.mechanism, k - 1)} (centred sum) / {c.mechanism} (count)",
        s.scale * half_unit,
        cost,
        [{"value": mean, "ci95": ci, "count_scale": c.scale}],
        [_sum_note(col, k).replace("; missing", "; the interval covers both noises at 95%; missing")],
    )


def _candidates(col: Column) -> np.ndarray:
    lo, hi = col.lower, col.upper
    if col.type == "integer" and int(hi) - int(lo) + 1 <= MAX_INTEGER_CANDIDATES:
        return np.arange(int(lo), int(hi) + 1, dtype=float)
    return np.linspace(float(lo), float(hi), QUANTILE_GRID)


def _answer_quantile(
    q: Query, x: np.ndarray, schema: Schema, plan: Plan, noise: NoiseSource, spent: list
) -> Answer:
    col = schema[q.columns[0]]
    x = np.sort(x)
    cand = _candidates(col)
    below = np.searchsorted(x, cand, side="left").astype(np.int64)  # #{x < c}
    above = (x.size - np.searchsorted(x, cand, side="right")).astype(np.int64)  # #{x > c}
    eps = _measurement_epsilon(plan)
    rows = []
    cost = None
    for level in q.levels:
        # Integer scores, exactly: with level = a / b, score(c) = -|(b - a) #{x < c} - a #{x > c}|; adding or
        # removing one record moves every score by at most max(a, b - a).
        frac = Fraction(level).limit_denominator(10**6)
        a, b = frac.numerator, frac.denominator
        sens = float(max(a, b - a))
        scores = -np.abs((b - a) * below - a * above)
        i, cost = exponential(scores.astype(float), eps, sensitivity=sens, noise=noise)
        spent.append(ZCDP(cost.epsilon**2 / 2.0) if plan.mode == "zcdp" else cost)
        value = _plain(cand[i])
        if col.type == "integer":
            value = int(value)
        gap = 2.0 * sens / eps * (math.log(cand.size) + math.log(20.0)) / b
        rows.append({"level": float(frac), "value": value, "ci95": None, "rank_error95": gap})
    mech_cost = cost.to_dict() if cost is not None else {}
    if plan.mode == "zcdp":
        mech_cost = {**mech_cost, "as_zcdp": {"measure": "zcdp", "rho": eps * eps / 2.0}}
    return Answer(
        q.text,
        "quantile",
        "exponential (permute-and-flip)",
        2.0 * max(max(lv, 1 - lv) for lv in q.levels) / eps,
        mech_cost,
        rows,
        [
            f"chosen among {cand.size:,} public candidates in [{_fmt(col.lower)}, {_fmt(col.upper)}]; rank_error95 "
            "bounds the extra rank imbalance (records) with 95% probability"
        ],
    )


def _exact(q: Query, df: pd.DataFrame, schema: Schema):
    """The exact (un-noised) input each query's mechanism needs: never released as is."""
    if q.kind == "count":
        return int(len(df))
    if q.kind == "counts":
        return _table_counts(q, df, schema)
    col = schema[q.columns[0]]
    if q.kind == "sum" and max(abs(float(col.lower)), abs(float(col.upper))) == 0:
        raise UsageError(f"query {q.text!r}: column {col.name!r} has bounds [0, 0]; its sum is always 0")
    return _numeric(df, col)


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _measured(spent: list, plan: Plan) -> dict[str, Any]:
    """The mechanisms' own costs added up (OpenDP's privacy maps on the default path), checked against the plan
    that was charged. A shortfall would be a bug in anonlab; it is raised, never printed as a guarantee."""
    if plan.mode == "zcdp":
        total = compose_zcdp(spent).rho
        if total > plan.rho * (1 + 1e-9):
            raise PrivacyError(
                f"internal error: the mechanisms cost rho {total} but only {plan.rho} was charged"
            )
        return {"measure": "zcdp", "rho": total, "charged_rho": plan.rho}
    total = sum(c.epsilon for c in spent if isinstance(c, PureDP))
    if total > plan.epsilon * (1 + 1e-9) or any(not isinstance(c, PureDP) for c in spent):
        raise PrivacyError(
            f"internal error: the mechanisms cost epsilon {total} but only {plan.epsilon} was charged"
        )
    return {"measure": "pure", "epsilon": total, "charged_epsilon": plan.epsilon}


def _noise_plan(q: Query, schema: Schema, plan: Plan) -> dict[str, Any]:
    """The mechanism and noise scale a query will get, from public information only (as :func:`run_stats`
    reports them, in the value's units)."""
    gauss = plan.mode == "zcdp"

    def scale(sens: float) -> float:
        if gauss:
            return sens / math.sqrt(2.0 * plan.per_measurement) * _SAFETY
        return sens / plan.per_measurement * _SAFETY

    kind = "discrete_gaussian" if gauss else "discrete_laplace"
    if q.kind in ("count", "counts"):
        return {"query": q.text, "mechanism": kind, "scale": scale(1.0)}
    col = schema[q.columns[0]]
    if q.kind in ("sum", "mean"):
        k, lo_u, hi_u = _bounds_units(col)
        if q.kind == "sum":
            sens = float(max(abs(lo_u), abs(hi_u)))
            return {
                "query": q.text,
                "mechanism": _grid_name(kind, k),
                "scale": scale(sens) * math.ldexp(1.0, k),
            }
        if hi_u == lo_u:
            return {"query": q.text, "mechanism": kind, "scale": scale(1.0)}
        return {
            "query": q.text,
            "mechanism": f"{_grid_name(kind, k - 1)} (centred sum) / {kind} (count)",
            "scale": scale(float(hi_u - lo_u)) * math.ldexp(1.0, k - 1),
            "count_scale": scale(1.0),
        }
    eps = _measurement_epsilon(plan)
    return {"query": q.text, "mechanism": "exponential (permute-and-flip)", "epsilon_per_level": eps}


def _queries(queries) -> list[Query]:
    """Queries as :class:`Query` objects (text is parsed with :func:`parse_query`)."""
    if isinstance(queries, Query | str):
        queries = [queries]
    out = []
    for q in queries:
        if isinstance(q, str):
            q = parse_query(q)
        elif not isinstance(q, Query):
            raise UsageError(f"a query must be a Query or its text, not {type(q).__name__}")
        out.append(q)
    return out


def _no_ledger_warning() -> None:
    warnings.warn(
        "dp stats without a ledger: this release is charged to no budget, so nothing bounds the total privacy "
        f"loss of repeated releases (its privacy statement says {NO_LEDGER!r})",
        PrivacyWarning,
        stacklevel=3,
    )


def preview_stats(
    df: pd.DataFrame,
    schema: Schema,
    queries: list[Query],
    *,
    epsilon: float,
    delta: float,
    ledger: Ledger | None,
    dataset: str | None = None,
    trust_domains: bool = False,
) -> dict[str, Any]:
    """What :func:`run_stats` would spend and with what noise, checked against the ledger; draws and writes
    nothing. Raises what ``run_stats`` would raise (budget exceeded, untrusted domains). The preview holds public
    facts only (:data:`PREVIEW_ALLOW`)."""
    queries = _queries(queries)
    plan = plan_stats(queries, epsilon, delta)
    trusted = _check_columns(queries, schema, trust_domains)
    if ledger is None:
        _no_ledger_warning()
        ledger_info: dict[str, Any] = {}
    else:
        from anonlab.privacy.ledger import dataset_fingerprint

        fp = dataset or dataset_fingerprint(df)  # checked against the ledger only; never shown
        ledger.check(
            neighbours=NEIGHBOURS,
            epsilon=plan.epsilon,
            delta=plan.delta,
            dataset=fp,
            rho=plan.rho if plan.mode == "zcdp" else None,
        )
        ledger_info = {"ledger": {"path": str(ledger.path), "remaining_before": ledger.remaining().to_dict()}}
    record = {
        "dry_run": True,
        "privacy": {
            **plan.to_dict(),
            "ledger": str(ledger.path) if ledger is not None else NO_LEDGER,
            "trusted_domains": trusted,
        },
        "noise": [_noise_plan(q, schema, plan) for q in queries],
        **ledger_info,
    }
    return published(record, PREVIEW_ALLOW)


def coerce_private(df: pd.DataFrame, sub: Schema, source: str) -> pd.DataFrame:
    """``sub.coerce(df)`` for a DP release: the schema's columns converted to their types, and a value that does not
    fit refused naming the column only (:class:`~anonlab.errors.InputError`). The value and its row number are
    facts about one person of the private table, and this refusal happens before any budget is spent, so neither
    may appear in the message (``dp stats`` and every DP synthesizer's ``fit`` use it)."""
    from anonlab.schema import Schema as _Schema

    sub.check_frame(df, source)
    try:
        return sub.coerce(df, source)
    except InputError:
        for col in sub.columns:
            try:
                _Schema((col,)).coerce(df[[col.name]], source)
            except InputError:
                raise InputError(
                    f"{source}: column {col.name!r} holds a value that is not a valid {col.type} (the schema's "
                    "type); the values and their rows are not shown, as they are private"
                ) from None
        raise InputError(f"{source}: a queried column does not fit its schema type") from None


def _release_params(
    queries: list[Query], plan: Plan, schema: Schema, trust_domains: bool, trusted: list[str]
) -> dict[str, Any]:
    """Every parameter that shapes a dp stats release, for the digest its seeded noise stream is derived from."""
    return {
        "queries": [q.canonical for q in queries],
        "epsilon": plan.epsilon,
        "delta": plan.delta,
        "mode": plan.mode,
        "rho": plan.rho,
        "schema": schema.fingerprint(),
        "trust_domains": bool(trust_domains),
        "trusted": list(trusted),
        "missing": MISSING_HANDLING,
        "grid_bits": GRID_BITS,
        "neighbours": NEIGHBOURS,
    }


def _release_noise(
    noise: NoiseSource, params: dict[str, Any], fingerprint: str, seq: int | None
) -> NoiseSource:
    """This release's own noise stream (:meth:`NoiseSource.release_stream`): from the seed, the canonical digest of
    ``params``, the table's content fingerprint and the ledger sequence (``None`` without a ledger). Unseeded
    sources give fresh OpenDP noise."""
    return noise.release_stream(RELEASE_KIND, params, fingerprint, seq)


# -- the run ----------------------------------------------------------------------------------------------------


def run_stats(
    df: pd.DataFrame,
    schema: Schema,
    queries: list[Query],
    *,
    epsilon: float,
    delta: float,
    ledger: Ledger | None,
    dataset: str | None = None,
    trust_domains: bool = False,
    noise: NoiseSource | None = None,
    source: str = "input",
    parameters: dict[str, Any] | None = None,
) -> StatsResult:
    """Answer ``queries`` on ``df`` with (epsilon, delta)-DP in total (add/remove-one-record neighbours), charging
    ``ledger`` first (``neighbours="add/remove"``; a replace-one ledger charges the run as a group of two).

    epsilon, delta : the total privacy cost of the whole run (split equally between queries).
    ledger : the population's budget ledger, charged before any noise is drawn. ``None`` is allowed for
        experiments: it emits :class:`~anonlab.errors.PrivacyWarning` and the result's privacy statement says
        ``"no ledger"``.
    trust_domains : use domains marked ``from_data`` as if public (the user vouches; recorded in the ledger).
    noise : the randomness (seeded or OpenDP's). A seeded source is forked for this release from a digest of all its
        parameters, the table's fingerprint and the ledger entry; only whether it was seeded is recorded.
    dataset : the table's content fingerprint (computed from ``df`` when omitted); it goes into the ledger file and
        the noise derivation, never into the result.
    parameters : the run's public parameters as the CLI records them (keys from :data:`PARAMETERS` only).

    Everything that can fail on the data fails before the charge, and names columns only, never values or rows.
    """
    from anonlab.privacy.ledger import dataset_fingerprint

    queries = _queries(queries)
    noise = noise or NoiseSource()
    plan = plan_stats(queries, epsilon, delta)
    trusted = _check_columns(queries, schema, trust_domains)
    params = dict(parameters or {})
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise UsageError(f"parameters {unknown} are not recorded by dp stats; use {', '.join(PARAMETERS)}")
    if ledger is None:
        _no_ledger_warning()
    used = sorted({c for q in queries for c in q.columns})
    from anonlab.schema import Schema as _Schema

    data = coerce_private(df, _Schema(tuple(schema[c] for c in used)), source) if used else df
    fp = dataset or dataset_fingerprint(df)
    release = _release_params(queries, plan, schema, trust_domains, trusted)
    # Every exact statistic is computed before the charge (so a bad value fails without spending budget) and no
    # noise is drawn before it.
    exact = [_exact(q, data, schema) for q in queries]
    seq = None
    ledger_info = None
    if ledger is not None:
        details = {
            "queries": [q.text for q in queries],
            "mode": plan.mode,
            "noise": noise.describe(),
            "trusted_domains": trusted,
            "schema": schema.fingerprint(),
        }
        entry = ledger.charge(
            neighbours=NEIGHBOURS,
            dataset=fp,
            what="dp stats: " + "; ".join(q.text for q in queries),
            mechanism="gaussian/exponential (zCDP)"
            if plan.mode == "zcdp"
            else "laplace/exponential (pure DP)",
            epsilon=plan.epsilon,
            delta=plan.delta,
            rho=plan.rho if plan.mode == "zcdp" else None,
            details=details,
        )
        seq = entry.seq
        ledger_info = {
            "path": str(ledger.path),
            "population": ledger.population,
            "neighbours": ledger.neighbours,
            "entry": entry.seq,
            "charged": entry.charged_cost.to_dict(),  # twice the release's own cost on a replace-one ledger
            "remaining": ledger.remaining().to_dict(),
        }
    # A seeded source gets a keystream of its own for this release: two different releases made with the same seed
    # must never share noise, or subtracting them would cancel it.
    noise = _release_noise(noise, release, fp, seq)
    answers = []
    spent: list = []
    for q, ex in zip(queries, exact, strict=True):
        if q.kind == "count":
            answers.append(_answer_count(q, ex, plan, noise, spent))
        elif q.kind == "counts":
            answers.append(_answer_counts(q, ex, schema, plan, noise, spent))
        elif q.kind == "sum":
            answers.append(_answer_sum(q, ex, schema, plan, noise, spent))
        elif q.kind == "mean":
            answers.append(_answer_mean(q, ex, schema, plan, noise, spent))
        else:
            answers.append(_answer_quantile(q, ex, schema, plan, noise, spent))
    measured = _measured(spent, plan)
    return StatsResult(answers, plan, noise.describe(), trusted, ledger_info, params, measured)
