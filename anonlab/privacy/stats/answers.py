"""Answering one query with noise: the exact input each mechanism needs, the noisy answer and its 95% interval.

Counts and contingency tables get discrete noise of sensitivity 1; sums and means are summed exactly on the public
fixed-point grid (:mod:`anonlab.privacy.stats.grid`) and get discrete noise calibrated to the grid sensitivity;
quantiles use the exponential mechanism (permute-and-flip) with exact integer scores over a public grid of
candidates. Each answer states its noise scale and a 95% interval *for the noise* (the released value's distance
from the exact answer on this data; it does not cover sampling error). Every measurement appends its own cost
(OpenDP's privacy map at the public sensitivity) to ``spent``, which :func:`measured` checks against the plan.

The exact inputs (:func:`exact`) are computed before the ledger is charged and are never released as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from anonlab.errors import PrivacyError, UsageError
from anonlab.privacy.accounting import ZCDP, PureDP, compose_zcdp
from anonlab.privacy.mechanisms import exponential, gaussian, laplace
from anonlab.privacy.stats.grid import (
    bounds_units,
    exact_sum,
    grid_name,
    integer_bounds,
    numeric_bounds,
    units,
)
from anonlab.privacy.stats.plan import CATEGORICAL, Plan, categories, measurement_epsilon, noise_scale
from anonlab.privacy.stats.queries import Query

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.privacy.noise import NoiseSource
    from anonlab.schema import Column, Schema

__all__ = [
    "MAX_INTEGER_CANDIDATES",
    "QUANTILE_GRID",
    "Answer",
    "exact",
    "combine",
    "answer",
    "measured",
    "half_width",
]

MAX_INTEGER_CANDIDATES = 100_000  # integer columns with a wider range use a grid of quantile candidates
QUANTILE_GRID = 1000  # candidates for a float column's quantile


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


# -- intervals --------------------------------------------------------------------------------------------------


def _discrete_gaussian_half_width(scale: float, level: float) -> float:
    if scale > 1e4:
        from scipy.stats import norm

        return math.ceil(scale * float(norm.isf((1.0 - level) / 2))) + 1.0
    m = int(math.ceil(scale * 12)) + 2
    z = np.arange(-m, m + 1)
    w = np.exp(-(z.astype(float) ** 2) / (2 * scale * scale))
    w /= w.sum()
    inside = np.cumsum(w[m:] * 2) - w[m]  # P(|Z| <= k) for k = 0..m
    return float(int(np.searchsorted(inside, level)))


def half_width(mechanism: str, scale: float, level: float = 0.95) -> float:
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
        return _discrete_gaussian_half_width(scale, level)
    raise UsageError(f"no interval for mechanism {mechanism!r}")


def _interval(value: float, half: float) -> list[float]:
    return [value - half, value + half]


# -- measuring --------------------------------------------------------------------------------------------------


def _noisy(values, sensitivity: float, integer: bool, plan: Plan, noise: NoiseSource, spent: list):
    """Add the plan's noise for one measurement of the given (L1 = L2) sensitivity; record its cost in ``spent``."""
    scale = noise_scale(plan, sensitivity)
    if plan.mode == "zcdp":
        r = gaussian(values, scale, l2_sensitivity=sensitivity, integer=integer, noise=noise)
    else:
        r = laplace(values, scale, l1_sensitivity=sensitivity, integer=integer, noise=noise)
    spent.append(r.cost)
    return r


def measured(spent: list, plan: Plan) -> dict[str, Any]:
    """The mechanisms' own costs added up (OpenDP's privacy maps on the default path), checked against the plan
    that was charged. A shortfall would be a bug in anonlab; it is raised, never printed as a guarantee."""
    if plan.mode == "zcdp":
        total = compose_zcdp(spent).rho
        if total > plan.total_rho * (1 + 1e-9):
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


# -- the exact inputs (never released as they are) ---------------------------------------------------------------


def exact(q: Query, df: pd.DataFrame, schema: Schema):
    """The exact (un-noised) input each query's mechanism needs: never released as is.

    It is additive over the rows: the input of a table is :func:`combine` of the inputs of its parts, exactly
    (integer counts and integer sums on the public grid), so a partitioned table gets the same input from its
    partitions (:mod:`anonlab.distributed`). Per kind: ``count`` an int; ``counts`` the cell counts (int64, C order
    over the public category product); ``sum`` the exact sum of the clamped values in grid units (an int);
    ``mean`` (number of values, exact centred sum in half grid units); ``quantile`` (#{x < c}, #{x > c}) for each
    public candidate c (int64 arrays).
    """
    if q.kind == "count":
        return int(len(df))
    if q.kind == "counts":
        return table_counts(q, df, schema)
    col = schema[q.columns[0]]
    if q.kind == "sum" and max(abs(b) for b in numeric_bounds(col)) == 0:
        raise UsageError(f"query {q.text!r}: column {col.name!r} has bounds [0, 0]; its sum is always 0")
    x = numeric(df, col)
    k, lo_u, hi_u = bounds_units(col)
    if q.kind == "sum":
        return exact_sum(units(x, k))
    if q.kind == "mean":
        # centred on the grid's midpoint, in half grid units: 2 u - (L + U) lies in [-(U - L), U - L], exactly
        return int(x.size), exact_sum(2 * units(x, k) - (lo_u + hi_u))
    x = np.sort(x)
    cand = _candidates(col)
    below = np.searchsorted(x, cand, side="left").astype(np.int64)  # #{x < c}
    above = (x.size - np.searchsorted(x, cand, side="right")).astype(np.int64)  # #{x > c}
    return below, above


def combine(q: Query, a, b):
    """The exact input of two disjoint parts of a table together (:func:`exact` is additive): exact integers."""
    if q.kind in ("count", "sum"):
        return int(a) + int(b)
    if q.kind == "counts":
        return np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)
    if q.kind == "mean":
        return int(a[0]) + int(b[0]), int(a[1]) + int(b[1])
    return a[0] + b[0], a[1] + b[1]


def _codes(s: pd.Series, col: Column, values: list) -> np.ndarray:
    """Each value's position among the public ``values`` (-1: missing or out of the domain)."""
    import pandas as pd

    if col.type in CATEGORICAL:
        code = pd.Categorical(s.astype(object).where(s.notna(), None), categories=values).codes
        return np.asarray(code, dtype=np.int64)
    lo, hi = integer_bounds(col)
    num = pd.to_numeric(s, errors="coerce")
    ok = num.notna() & (num >= lo) & (num <= hi)
    return np.where(ok.to_numpy(), num.fillna(lo).to_numpy().astype(np.int64) - lo, -1).astype(np.int64)


def table_counts(q: Query, df: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Exact counts over the full public category product (C order over ``q.columns``)."""
    cats = [categories(schema[c]) for c in q.columns]
    shape = tuple(len(c) for c in cats)
    codes = [_codes(df[name], schema[name], values) for name, values in zip(q.columns, cats, strict=True)]
    valid = np.ones(len(df), dtype=bool)
    for code in codes:
        valid &= code >= 0
    flat = (
        np.ravel_multi_index(tuple(c[valid] for c in codes), shape)
        if valid.any()
        else np.array([], dtype=np.int64)
    )
    return np.bincount(flat, minlength=math.prod(shape)).astype(np.int64)


def numeric(df: pd.DataFrame, col: Column) -> np.ndarray:
    """The column's non-missing values as floats, clamped to its public bounds."""
    import pandas as pd

    lo, hi = numeric_bounds(col)
    x = pd.to_numeric(df[col.name], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    x = x[~np.isnan(x)]
    return np.clip(x, lo, hi)


# -- one answer per kind -------------------------------------------------------------------------------------------


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _sum_note(col: Column, k: int) -> str:
    lo, hi = col.lower, col.upper
    grid = "" if k == 0 else f"; rounded to the grid 2^{k} and summed exactly"
    return (
        f"values clamped to the public bounds [{_fmt(lo)}, {_fmt(hi)}]{grid}; missing values count as absent"
    )


def _answer_count(q: Query, n: int, schema: Schema, plan: Plan, noise: NoiseSource, spent: list) -> Answer:
    r = _noisy(int(n), 1.0, True, plan, noise, spent)
    half = half_width(r.mechanism, r.scale)
    return Answer(
        q.text,
        "count",
        r.mechanism,
        r.scale,
        r.cost.to_dict(),
        [{"value": int(r.value), "ci95": _interval(int(r.value), half)}],
    )


def _answer_counts(
    q: Query, counts: np.ndarray, schema: Schema, plan: Plan, noise: NoiseSource, spent: list
) -> Answer:
    cats = [categories(schema[c]) for c in q.columns]
    shape = tuple(len(c) for c in cats)
    r = _noisy(counts, 1.0, True, plan, noise, spent)
    half = half_width(r.mechanism, r.scale)
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


def _answer_sum(q: Query, total: int, schema: Schema, plan: Plan, noise: NoiseSource, spent: list) -> Answer:
    col = schema[q.columns[0]]
    k, lo_u, hi_u = bounds_units(col)
    sens = max(abs(lo_u), abs(hi_u))
    if sens == 0:
        raise UsageError(f"query {q.text!r}: column {col.name!r} has bounds [0, 0]; its sum is always 0")
    r = _noisy(int(total), float(sens), True, plan, noise, spent)
    g = math.ldexp(1.0, k)
    half = half_width(r.mechanism, r.scale) * g
    noisy = int(r.value)
    v = noisy * (1 << k) if col.type == "integer" else float(math.ldexp(noisy, k))
    return Answer(
        q.text,
        "sum",
        grid_name(r.mechanism, k),
        r.scale * g,
        r.cost.to_dict(),
        [{"value": v, "ci95": _interval(v, half)}],
        [_sum_note(col, k)],
    )


def _mean_interval(
    lo: float, hi: float, mid: float, s_value: float, n_hat: int, s, c, half_unit: float
) -> list[float]:
    """A 95% interval for a noisy mean, from a 97.5% interval for each noisy part (union bound)."""
    hw_s = half_width(s.mechanism, s.scale, 0.975) * half_unit
    hw_c = half_width(c.mechanism, c.scale, 0.975)
    n_lo = n_hat - hw_c
    if n_lo <= 0:
        return [lo, hi]
    ends = [mid + sv / nv for sv in (s_value - hw_s, s_value + hw_s) for nv in (n_lo, n_hat + hw_c)]
    return [max(lo, min(ends)), min(hi, max(ends))]


def _answer_mean(
    q: Query, moments: tuple[int, int], schema: Schema, plan: Plan, noise: NoiseSource, spent: list
) -> Answer:
    col = schema[q.columns[0]]
    lo, hi = numeric_bounds(col)
    n, centred = moments
    c = _noisy(int(n), 1.0, True, plan, noise, spent)
    k, lo_u, hi_u = bounds_units(col)
    if hi_u == lo_u:
        return Answer(
            q.text, "mean", c.mechanism, c.scale, c.cost.to_dict(), [{"value": lo, "ci95": [lo, lo]}]
        )
    half_unit = math.ldexp(1.0, k - 1)
    s = _noisy(int(centred), float(hi_u - lo_u), True, plan, noise, spent)
    mid = (lo_u + hi_u) * half_unit
    s_value = int(s.value) * half_unit
    n_hat = int(c.value)
    mean = mid + s_value / n_hat if n_hat > 0 else mid
    mean = min(hi, max(lo, mean))
    ci = _mean_interval(lo, hi, mid, s_value, n_hat, s, c, half_unit)
    cost = {"count": c.cost.to_dict(), "sum": s.cost.to_dict()}
    return Answer(
        q.text,
        "mean",
        f"{grid_name(s.mechanism, k - 1)} (centred sum) / {c.mechanism} (count)",
        s.scale * half_unit,
        cost,
        [{"value": mean, "ci95": ci, "count_scale": c.scale}],
        [_sum_note(col, k).replace("; missing", "; the interval covers both noises at 95%; missing")],
    )


def _candidates(col: Column) -> np.ndarray:
    lo, hi = numeric_bounds(col)
    if col.type == "integer" and int(hi) - int(lo) + 1 <= MAX_INTEGER_CANDIDATES:
        return np.arange(int(lo), int(hi) + 1, dtype=float)
    return np.linspace(lo, hi, QUANTILE_GRID)


def _answer_quantile(
    q: Query,
    ranks: tuple[np.ndarray, np.ndarray],
    schema: Schema,
    plan: Plan,
    noise: NoiseSource,
    spent: list,
) -> Answer:
    col = schema[q.columns[0]]
    cand = _candidates(col)
    below, above = ranks  # #{x < c} and #{x > c} for each candidate c
    eps = measurement_epsilon(plan)
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


#: kind -> the function that answers a query of that kind from its exact input.
ANSWERS: dict[str, Callable[..., Answer]] = {
    "count": _answer_count,
    "counts": _answer_counts,
    "sum": _answer_sum,
    "mean": _answer_mean,
    "quantile": _answer_quantile,
}


def answer(q: Query, exact_input, schema: Schema, plan: Plan, noise: NoiseSource, spent: list) -> Answer:
    """Answer ``q`` with the plan's noise from its exact input (:func:`exact`); appends each cost to ``spent``."""
    return ANSWERS[q.kind](q, exact_input, schema, plan, noise, spent)
