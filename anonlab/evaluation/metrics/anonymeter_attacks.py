"""Anonymeter's three privacy attacks (Giomi et al. 2023), anonlab's own vectorised implementation.

Giomi, Boenisch, Wehmeyer and Tasnádi, "A Unified Framework for Quantifying Privacy Risk in Synthetic Data"
(PoPETs 2023), the method of the anonymeter package, measure what a synthetic release gives away about the
records it was trained on with three attacks an attacker holding the release could mount:

- **singling out** (:func:`singling_out_risk`): predicates built from the release alone (one column:
  rare values and extremes; several columns: a released record's values, ``==`` for categories, ``>=`` or
  ``<=`` towards the extreme for numbers) that match exactly one released record; a predicate *singles out*
  when it matches exactly one original record;
- **linkability** (:func:`linkability_risk`): the attacker knows two disjoint sets of columns of a target from
  two sources; each half is matched to its ``n_neighbors`` nearest released records; the halves are linked
  when the two neighbourhoods share a released record;
- **inference** (:func:`inference_risk`): knowing the other (auxiliary) columns, the attacker guesses a secret
  column from the nearest released record; a guess is right when it equals the secret (categories) or lies
  within a relative ``tolerance`` of it (numbers).

Each attack runs against the training records (``ori``) and against a *control* set of records from the same
population that the release never saw (the holdout), and a random-guessing baseline runs beside it. The risk is
the success on training records beyond the success on the control set, normalised by what was left to gain,
``risk = (attack rate - control rate) / (1 - control rate)``, clipped to [0, 1]; its confidence interval
propagates the Wilson score intervals of the two rates (anonymeter's ``EvaluationResults``). A risk near 0 says
the release lets an attacker learn no more about its own people than about anyone in the population; an attack
no better than its random baseline says the figure cannot be trusted (``AttackRisk.beats_baseline``).

Distances are anonymeter's Gower-like L1 distance for mixed types: per numeric column the absolute difference
divided by the column's range (over the released records and the queried records together), per categorical
column 1 for a mismatch and 0 for a match. These are empirical attacks: they can show a release is unsafe, not
prove that it is safe.

Where this implementation deliberately differs from anonymeter 1.1.0 (all documented in docs/evaluation.md):

- every random draw (targets, queries, baselines) comes from the ``seed``; anonymeter draws the linkability and
  inference targets and its baselines without one;
- a missing value is its own value in the distance: two missing numbers are 0 apart, a missing number and a
  present one 1 apart (anonymeter counts two missing numbers as 1 apart and excludes a released record whose
  number is missing where the target's is present); missing categories match each other in both;
- ties between equally distant released records are broken at random (from the seed; each neighbour search
  draws its own order), so the release's row order cannot decide them; anonymeter leaves them to its sort;
- the linkability baseline's success count is drawn from its exact distribution (two random sets of
  ``n_neighbors`` released records intersect with a hypergeometric probability) rather than by drawing the sets;
- the numeric inference tolerance is relative to the magnitude of the guess, ``|guess - secret| <= tolerance
  * |guess|`` (anonymeter divides by the signed guess, so any guess below 0 counted as right).

Works on numpy 1.26 / pandas 1.5 and on numpy 2 / pandas 2 (only APIs common to both).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "AttackRisk",
    "singling_out_risk",
    "linkability_risk",
    "inference_risk",
    "success_rate",
    "gower_neighbours",
]

# predicate operators; a query is a conjunction of (column, operator, value) conditions
_NONE, _ISNULL, _NOTNULL, _EQ, _NE, _LT, _GT, _LE, _GE = range(9)
_CELLS = 1 << 22  # elements per block of a (queries x records) matrix: ~4 M booleans or 32 MB of float64


# -- statistics -----------------------------------------------------------------------------------------------


def success_rate(n_total: float, n_success: float, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score estimate of a Bernoulli success rate and its error at ``confidence``.

    Returns ``(rate, error)``: ``rate = (k + z^2/2) / (n + z^2)`` and ``error = z / (n + z^2) *
    sqrt(k (n - k) / n + z^2 / 4)`` with ``z`` the two-sided normal quantile (Wilson 1927), as anonymeter's
    ``success_rate``. Robust when the rate is near 0 or 1 or the sample small.
    """
    from math import sqrt
    from statistics import NormalDist

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    if n_total <= 0:
        raise ValueError("a success rate needs at least one attack")
    z = NormalDist().inv_cdf(0.5 * (1.0 + confidence))
    z2 = z * z
    den = n_total + z2
    rate = (n_success + 0.5 * z2) / den
    err = (z / den) * sqrt(max(n_success * (n_total - n_success) / n_total, 0.0) + 0.25 * z2)
    return rate, err


def _bounded(value: float, error: float) -> tuple[float, tuple[float, float]]:
    def clip(x: float) -> float:
        return min(max(x, 0.0), 1.0)

    return clip(value), (clip(value - error), clip(value + error))


@dataclass(frozen=True)
class AttackRisk:
    """One attack's outcome.

    Attributes
    ----------
    attack : ``singling_out`` (one column), ``singling_out_multivariate``, ``linkability`` or ``inference``.
    risk, interval : the privacy risk in [0, 1], ``(rate - control) / (1 - control)``, and its confidence
        interval (Wilson errors of both rates propagated, clipped to [0, 1]); the attack rate alone (and its
        interval) when no control set was given.
    rate, rate_error : Wilson estimate of the attack's success rate on training records, and its error.
    baseline, baseline_error : the same for the random-guessing attack (on training records).
    control, control_error : the same for the attack on the control (holdout) records; ``None`` without one.
    n_attacks : attacks made on (training, baseline, control) records.
    n_success, n_baseline, n_control : successful attacks of each kind (``n_control`` can be fractional for
        singling out, corrected for a control set of a different size).
    confidence : the confidence level of the intervals.
    detail : the attack's parameters and counts (predicates found, neighbours, secret, ...).
    """

    attack: str
    risk: float
    interval: tuple[float, float]
    rate: float
    rate_error: float
    baseline: float
    baseline_error: float
    control: float | None
    control_error: float | None
    n_attacks: tuple[int, int, int]
    n_success: int
    n_baseline: int
    n_control: float | None
    confidence: float = 0.95
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def beats_baseline(self) -> bool:
        """False when the attack did no better than random guessing: then anonymeter warns that "analysis
        results cannot be trusted" (the attack is too weak to measure anything)."""
        return self.rate > self.baseline

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["interval"] = list(self.interval)
        d["n_attacks"] = list(self.n_attacks)
        d["beats_baseline"] = self.beats_baseline
        return d


def _result(
    attack: str,
    n_attacks: tuple[int, int, int],
    n_success: int,
    n_baseline: int,
    n_control: float | None,
    confidence: float,
    detail: dict[str, Any],
) -> AttackRisk:
    from math import sqrt

    rate, rate_err = success_rate(n_attacks[0], n_success, confidence)
    base, base_err = success_rate(n_attacks[1], n_baseline, confidence)
    if n_control is None:
        ctl = ctl_err = None
        risk, interval = _bounded(rate, rate_err)
    else:
        ctl, ctl_err = success_rate(n_attacks[2], n_control, confidence)
        # residual success and its propagated error: dF = sqrt((dF/da)^2 da^2 + (dF/dc)^2 dc^2)
        value = (rate - ctl) / (1.0 - ctl)
        error = sqrt((rate_err / abs(1.0 - ctl)) ** 2 + (ctl_err * (rate - 1.0) / (1.0 - ctl) ** 2) ** 2)
        risk, interval = _bounded(value, error)
    return AttackRisk(
        attack=attack,
        risk=float(risk),
        interval=(float(interval[0]), float(interval[1])),
        rate=float(rate),
        rate_error=float(rate_err),
        baseline=float(base),
        baseline_error=float(base_err),
        control=None if ctl is None else float(ctl),
        control_error=None if ctl_err is None else float(ctl_err),
        n_attacks=tuple(int(n) for n in n_attacks),
        n_success=int(n_success),
        n_baseline=int(n_baseline),
        n_control=None if n_control is None else float(n_control),
        confidence=confidence,
        detail=detail,
    )


# -- encoding -------------------------------------------------------------------------------------------------


def _is_numeric(s: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def _encode(frames: list[pd.DataFrame], cols: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """Encode ``frames`` (same columns) as float matrices: numbers as float64, categories as shared integer
    codes; missing as NaN. A column is numeric when it is numeric in every frame (booleans are categories)."""
    import numpy as np
    import pandas as pd

    numeric = np.array([all(_is_numeric(f[c]) for f in frames) for c in cols], dtype=bool)
    sizes = [len(f) for f in frames]
    out = [np.empty((n, len(cols)), dtype=np.float64) for n in sizes]
    for j, c in enumerate(cols):
        if numeric[j]:
            for f, o in zip(frames, out, strict=False):
                o[:, j] = f[c].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            both = pd.concat([f[c].astype(object) for f in frames], ignore_index=True)
            codes, _ = pd.factorize(both)  # missing -> -1
            codes = codes.astype(np.float64)
            codes[codes < 0] = np.nan
            for o, s, n in zip(out, np.cumsum([0, *sizes[:-1]]), sizes, strict=False):
                o[:, j] = codes[s : s + n]
    return out, numeric


def _check(frames: dict[str, pd.DataFrame], cols: list[str]) -> None:
    from anonlab.errors import UsageError

    for name, f in frames.items():
        missing = [c for c in cols if c not in f.columns]
        if missing:
            raise UsageError(f"{name} lacks the column(s) {', '.join(map(repr, missing))}")
        if len(f) == 0:
            raise UsageError(f"{name} has no records")


# -- predicate queries ------------------------------------------------------------------------------------------


def _condition(x: np.ndarray, op: int, v: np.ndarray) -> np.ndarray:
    """Where records ``x`` (1 x N) meet ``op v`` for each value ``v`` (Q x 1): a missing cell meets no
    comparison, only ``is null`` (as in SQL and polars)."""
    import numpy as np

    if op == _ISNULL:
        return np.broadcast_to(np.isnan(x), (len(v), x.shape[1]))
    if op == _NOTNULL:
        return np.broadcast_to(~np.isnan(x), (len(v), x.shape[1]))
    if op == _EQ:
        return x == v
    if op == _NE:
        return (x != v) & ~np.isnan(x)
    if op == _LT:
        return x < v
    if op == _GT:
        return x > v
    if op == _LE:
        return x <= v
    return x >= v


def _groups(cols: np.ndarray, ops: np.ndarray):
    """Yield the positions of the queries sharing one signature (the same columns and operators), so that each
    group is evaluated with one broadcast comparison per condition."""
    import numpy as np

    sig = np.concatenate([cols, ops], axis=1)
    order = np.lexsort(sig.T[::-1])
    srt = sig[order]
    cuts = np.flatnonzero(np.any(srt[1:] != srt[:-1], axis=1)) + 1
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(order)], strict=True):
        yield order[a:b], srt[a]


def _group_mask(table: np.ndarray, sig: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Where each of a group's queries (signature ``sig``, values ``v``: one row per query) matches a record."""
    import numpy as np

    width = len(sig) // 2
    mask = np.ones((len(v), len(table)), dtype=bool)
    for j in range(width):
        if sig[width + j] != _NONE:
            mask &= _condition(table[None, :, sig[j]], int(sig[width + j]), v[:, j][:, None])
    return mask


def _match_matrix(table: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """``mask[q, r]``: query ``q`` (the conjunction of its conditions) matches record ``r`` of ``table``."""
    import numpy as np

    mask = np.zeros((len(cols), len(table)), dtype=bool)
    for rows, sig in _groups(cols, ops):
        mask[rows] = _group_mask(table, sig, vals[rows])
    return mask


def _count_dense(table: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.zeros(len(cols), dtype=np.int64)
    step = max(1, _CELLS // max(len(table), 1))
    for rows, sig in _groups(cols, ops):
        for s in range(0, len(rows), step):
            r = rows[s : s + step]
            out[r] = np.count_nonzero(_group_mask(table, sig, vals[r]), axis=1)
    return out


def _count_single(table: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Exact counts of one-condition queries, by sorting each column: no (queries x records) matrix."""
    import numpy as np

    out = np.zeros(len(cols), dtype=np.int64)
    for col in np.unique(cols[:, 0]):
        q = np.flatnonzero(cols[:, 0] == col)
        x = table[:, col]
        s = np.sort(x[~np.isnan(x)])
        present, v, op = len(s), vals[q, 0], ops[q, 0]
        lo, hi = np.searchsorted(s, v, "left"), np.searchsorted(s, v, "right")
        eq = hi - lo
        out[q] = np.select(
            [op == _ISNULL, op == _NOTNULL, op == _EQ, op == _NE, op == _LT, op == _GT, op == _LE, op == _GE],
            [len(x) - present, present, eq, present - eq, lo, present - hi, hi, present - lo],
            len(x),
        )
    return out


def _singles_out(table: np.ndarray, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Whether each query matches exactly one record of ``table``.

    Multi-column queries are counted on growing slices of the records (1,024, then 4x more each time); a query
    that already matches two records is settled and leaves the search, so the rare queries that single out are
    the only ones counted against the whole table. Exact (rows are in random order, which only speeds it up)."""
    import numpy as np

    if len(cols) == 0:
        return np.zeros(0, dtype=bool)
    if cols.shape[1] == 1:
        return _count_single(table, cols, ops, vals) == 1
    counts = np.zeros(len(cols), dtype=np.int64)
    alive = np.arange(len(cols))
    start, size = 0, 1024
    while start < len(table) and len(alive):
        part = table[start : start + size]
        counts[alive] += _count_dense(part, cols[alive], ops[alive], vals[alive])
        alive = alive[counts[alive] <= 1]
        start, size = start + size, size * 4
    return counts == 1


def _unique_rows(x: np.ndarray) -> np.ndarray:
    """Distinct records (anonymeter's singling out works on de-duplicated tables), in first-seen order."""
    import numpy as np

    if len(x) == 0:
        return x
    miss = np.isnan(x)
    key = np.ascontiguousarray(np.concatenate([np.where(miss, 0.0, x + 0.0), miss], axis=1))  # -0.0 == 0.0
    _, first = np.unique(key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))), return_index=True)
    return x[np.sort(first)]


def _univariate_queries(syn: np.ndarray, numeric: np.ndarray, n: int, rng: np.random.Generator):
    """Anonymeter's one-column predicates from the release: ``is null`` when one value is missing, ``<= min``
    and ``>= max`` of each numeric column, ``== v`` for each value held by one record; shuffled, the first ``n``
    that single out a released record."""
    import numpy as np

    c, o, v = [], [], []
    for j in range(syn.shape[1]):
        x = syn[:, j]
        miss = np.isnan(x)
        if miss.sum() == 1:
            c.append([j]), o.append([_ISNULL]), v.append([0.0])
        if numeric[j] and (~miss).any():
            c += [[j], [j]]
            o += [[_LE], [_GE]]
            v += [[np.nanmin(x)], [np.nanmax(x)]]
        vals, counts = np.unique(x[~miss], return_counts=True)
        rare = vals[counts == 1]
        c += [[j]] * len(rare)
        o += [[_EQ]] * len(rare)
        v += [[r] for r in rare]
    cols = np.array(c, dtype=np.int64).reshape(-1, 1)
    ops = np.array(o, dtype=np.int64).reshape(-1, 1)
    vals = np.array(v, dtype=np.float64).reshape(-1, 1)
    order = rng.permutation(len(cols))
    cols, ops, vals = cols[order], ops[order], vals[order]
    keep = np.flatnonzero(_singles_out(syn, cols, ops, vals))[:n]
    return cols[keep], ops[keep], vals[keep], len(cols)


def _multivariate_queries(
    syn: np.ndarray,
    numeric: np.ndarray,
    n: int,
    n_cols: int,
    max_attempts: int | None,
    rng: np.random.Generator,
):
    """Anonymeter's multi-column predicates: a random released record and ``n_cols`` random columns; ``==`` its
    category, ``>=`` its number when above the column's median and ``<=`` otherwise, ``is null`` when missing;
    kept when it singles out one released record and was not found before. Batches of 1,000 until ``n`` are
    found or ``max_attempts`` were made."""
    import numpy as np

    rows_n, d = syn.shape
    with np.errstate(all="ignore"):
        med = np.array([np.nanmedian(syn[:, j]) if numeric[j] else np.nan for j in range(d)])
    batch = 1000 if max_attempts is None else max(1, min(1000, max_attempts))
    found_c, found_o, found_v, seen = [], [], [], set()
    attempts = 0
    while len(seen) < n and (max_attempts is None or attempts < max_attempts):
        rows = rng.integers(0, rows_n, size=batch)
        cols = np.sort(np.argsort(rng.random((batch, d)), axis=1)[:, :n_cols], axis=1)
        vals = syn[rows[:, None], cols]
        miss = np.isnan(vals)
        ops = np.where(miss, _ISNULL, np.where(numeric[cols], np.where(vals > med[cols], _GE, _LE), _EQ))
        vals = np.where(miss, 0.0, vals)
        ok = np.flatnonzero(_singles_out(syn, cols, ops, vals))
        attempts += batch
        keys = np.concatenate([cols[ok], ops[ok], vals[ok].view(np.int64)], axis=1)
        for i, k in zip(
            ok, map(bytes, keys), strict=False
        ):  # de-duplicate the found predicates, in the order found
            if k not in seen:
                seen.add(k)
                found_c.append(cols[i]), found_o.append(ops[i]), found_v.append(vals[i])
                if len(seen) >= n:
                    break
    shape = (len(found_c), n_cols)
    return (
        np.array(found_c, dtype=np.int64).reshape(shape),
        np.array(found_o, dtype=np.int64).reshape(shape),
        np.array(found_v, dtype=np.float64).reshape(shape),
        attempts,
    )


def _random_queries(syn: np.ndarray, numeric: np.ndarray, n: int, n_cols: int, rng: np.random.Generator):
    """The baseline: ``n`` random predicates on ``n_cols`` random columns, each a random value of the column in
    the release (missing included) with a random operator (``==``/``!=`` for categories, any comparison for
    numbers; ``is (not) null`` for a missing value)."""
    import numpy as np

    d = syn.shape[1]
    uniq = []
    for j in range(d):
        x = syn[:, j]
        u = np.unique(x[~np.isnan(x)])
        uniq.append(np.append(u, np.nan) if np.isnan(x).any() else u)
    sizes = np.array([len(u) for u in uniq])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pool = np.concatenate(uniq) if uniq else np.empty(0)
    cols = np.sort(np.argsort(rng.random((n, d)), axis=1)[:, :n_cols], axis=1)
    vals = pool[
        offsets[cols] + np.minimum((rng.random(cols.shape) * sizes[cols]).astype(np.int64), sizes[cols] - 1)
    ]
    num_ops = np.array([_EQ, _NE, _LT, _GT, _LE, _GE])
    pick = rng.random(cols.shape)
    ops = np.where(numeric[cols], num_ops[(pick * 6).astype(np.int64)], np.where(pick < 0.5, _EQ, _NE))
    miss = np.isnan(vals)
    ops = np.where(miss, np.where(ops == _EQ, _ISNULL, _NOTNULL), ops)
    return cols, ops, np.where(miss, 0.0, vals)


def _size_correction(ctl: np.ndarray, n_ori: int, queries, rng: np.random.Generator) -> float | None:
    """Anonymeter's correction of the control count for a control set of a different size than the training
    set: the share of queries singling out in random subsets of the control set, of 10 sizes x 5 repeats, is
    fitted by ``norm * I(n, w)`` (Cohen and Nissim's probability that a query of weight up to ``w`` singles out
    one of ``n`` records) and the count scaled by ``I(n_ori) / I(n_control)``. ``None`` when the fit fails."""
    import warnings

    import numpy as np
    from scipy.optimize import curve_fit

    cols, ops, vals = queries
    n = len(ctl)
    if len(cols) == 0:
        return None
    mask = _match_matrix(ctl, cols, ops, vals).astype(np.float32)
    sizes = np.repeat(np.linspace(min(1000, n), n, 10).astype(np.int64), 5)
    picks = np.zeros((n, len(sizes)), dtype=np.float32)
    for i, k in enumerate(sizes):  # 50 subsets, not a loop over records
        picks[rng.choice(n, k, replace=False), i] = 1.0
    successes = np.count_nonzero(np.rint(mask @ picks) == 1, axis=0).astype(float)

    def model(x, w, norm):
        x = np.asarray(x, dtype=float)
        return norm * (1.0 - (x * w + 1.0) * (1.0 - w) ** x) / (x + 1.0)

    w0 = 1.0 / sizes.max()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p, _ = curve_fit(
                model,
                sizes.astype(float),
                successes,
                p0=(w0, 1.0 / model(sizes.max(), w0, 1.0)),
                bounds=(0, (1, np.inf)),
            )
        den = float(model(n, *p))
        num = float(model(n_ori, *p))
    except (RuntimeError, ValueError, FloatingPointError):
        return None
    if not (np.isfinite(num) and np.isfinite(den)) or den <= 0:
        return None
    return num / den


def singling_out_risk(
    ori: pd.DataFrame,
    syn: pd.DataFrame,
    control: pd.DataFrame | None = None,
    *,
    n_attacks: int = 500,
    mode: str = "multivariate",
    n_cols: int = 3,
    max_attempts: int | None = 10_000_000,
    seed: int | None = None,
    confidence: float = 0.95,
) -> AttackRisk:
    """Singling-out risk: how often predicates an attacker builds from the release ``syn`` single out exactly
    one original record, beyond how often they single out one control (holdout) record.

    ``mode`` ``"univariate"`` builds one-column predicates (rare values and extremes), ``"multivariate"``
    ``n_cols``-column predicates from released records, at most ``max_attempts`` tried (``None``: no bound).
    All three tables are de-duplicated first. The rates are over ``n_attacks`` (not over the predicates found:
    finding fewer underestimates the risk; ``detail["predicates_found"]`` says how many). The baseline makes
    ``n_attacks`` random predicates on as many columns. When the control set (de-duplicated) is not the size of
    the training set, its count is corrected for the size as anonymeter does (``detail["control_correction"]``).
    """
    import numpy as np

    if mode not in ("univariate", "multivariate"):
        raise ValueError(f"mode must be 'univariate' or 'multivariate', got {mode!r}")
    if n_attacks < 1:
        raise ValueError("n_attacks must be at least 1")
    cols = list(syn.columns)
    _check(
        {
            "the original table": ori,
            "the release": syn,
            **({} if control is None else {"the control set": control}),
        },
        cols,
    )
    frames = [ori[cols], syn[cols]] + ([] if control is None else [control[cols]])
    enc, numeric = _encode(frames, cols)
    rng = np.random.default_rng(seed)
    # de-duplicated, rows in random order (which only speeds up the counting)
    o, s = (_unique_rows(e) for e in enc[:2])
    c = None if control is None else _unique_rows(enc[2])
    o, s = o[rng.permutation(len(o))], s[rng.permutation(len(s))]
    c = None if c is None else c[rng.permutation(len(c))]
    width = 1 if mode == "univariate" else max(1, min(n_cols, len(cols)))
    detail: dict[str, Any] = {"mode": mode, "n_cols": width}
    if mode == "univariate":
        q = _univariate_queries(s, numeric, n_attacks, rng)
        detail["candidates"] = int(q[3])
    else:
        q = _multivariate_queries(s, numeric, n_attacks, width, max_attempts, rng)
        detail["max_attempts"] = max_attempts
        detail["attempts"] = int(q[3])
    queries = q[:3]
    detail["predicates_found"] = int(len(queries[0]))
    n_success = int(np.count_nonzero(_singles_out(o, *queries)))
    base = _random_queries(s, numeric, n_attacks, width, rng)
    n_baseline = int(np.count_nonzero(_singles_out(o, *base)))
    n_control: float | None = None
    if c is not None:
        n_control = float(np.count_nonzero(_singles_out(c, *queries)))
        if len(c) != len(o):
            corr = _size_correction(c, len(o), queries, rng)
            detail["control_correction"] = corr
            if corr is not None:
                n_control *= corr
    detail["rows"] = {"ori": int(len(o)), "syn": int(len(s)), "control": None if c is None else int(len(c))}
    name = "singling_out" if mode == "univariate" else "singling_out_multivariate"
    return _result(
        name, (n_attacks, n_attacks, n_attacks), n_success, n_baseline, n_control, confidence, detail
    )


# -- nearest neighbours in the Gower-like distance ----------------------------------------------------------------


def gower_neighbours(
    queries: pd.DataFrame, candidates: pd.DataFrame, k: int = 1, *, return_distance: bool = False
):
    """Indices (positions) of the ``k`` nearest ``candidates`` of each query record, nearest first, in
    anonymeter's mixed-type distance: the sum over numeric columns of ``|a - b| / range`` (the range over both
    tables; 1 when it is 0) and over other columns of 1 for each mismatch. Ties go to the lower position.
    Returns ``(distances, indices)`` when ``return_distance``."""
    cols = list(candidates.columns)
    _check({"the queries": queries, "the candidates": candidates}, cols)
    (q, c), numeric = _encode([queries[cols], candidates[cols]], cols)
    d, idx = _knn(q, c, numeric, k)
    return (d, idx) if return_distance else idx


def _knn(
    q: np.ndarray, c: np.ndarray, numeric: np.ndarray, k: int, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest candidates of each query; ties go to the first candidate or, with ``rng``, to a random
    one (the candidates are searched in a random order), so that the release's row order cannot decide them."""
    import numpy as np

    k = max(1, min(k, len(c)))
    if rng is not None:
        perm = rng.permutation(len(c))
        d, i = _knn(q, c[perm], numeric, k)
        return d, perm[i]
    num = np.flatnonzero(numeric)
    cat = np.flatnonzero(~numeric)
    with np.errstate(all="ignore"):
        both = np.concatenate([q[:, num], c[:, num]], axis=0)
        rng_ = np.nanmax(both, axis=0) - np.nanmin(both, axis=0) if len(both) else np.ones(len(num))
    rng_ = np.where(np.isfinite(rng_) & (rng_ != 0), rng_, 1.0)
    qn, cn = q[:, num] / rng_, c[:, num] / rng_
    qc = np.where(np.isnan(q[:, cat]), -1.0, q[:, cat])
    cc = np.where(np.isnan(c[:, cat]), -1.0, c[:, cat])
    dist = np.empty((len(q), k))
    idx = np.empty((len(q), k), dtype=np.int64)
    step = max(1, _CELLS // max(len(c), 1))
    for s in range(0, len(q), step):
        e = min(s + step, len(q))
        d = np.zeros((e - s, len(c)))
        for j in range(len(num)):
            a, b = qn[s:e, j][:, None], cn[None, :, j]
            diff = np.abs(a - b)
            na, nb = np.isnan(a), np.isnan(b)
            if na.any() or nb.any():  # missing is its own value: 0 from missing, 1 from a number
                diff = np.where(na & nb, 0.0, np.where(na | nb, 1.0, diff))
            d += diff
        for j in range(len(cat)):
            d += qc[s:e, j][:, None] != cc[None, :, j]
        if k == 1:
            best = np.argmin(d, axis=1)[:, None]  # the first of equals
        else:
            kth = np.partition(d, k - 1, axis=1)[:, k - 1 : k]
            less = d < kth
            tied = d == kth
            take = less | (tied & (np.cumsum(tied, axis=1) <= k - less.sum(axis=1, keepdims=True)))
            best = np.nonzero(take)[1].reshape(-1, k)  # ascending positions
            best = np.take_along_axis(best, np.argsort(np.take_along_axis(d, best, 1), 1, kind="stable"), 1)
        idx[s:e] = best
        dist[s:e] = np.take_along_axis(d, best, 1)
    return dist, idx


def _targets(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    return df.iloc[rng.choice(len(df), n, replace=False)]


def linkability_risk(
    ori: pd.DataFrame,
    syn: pd.DataFrame,
    aux_cols: tuple[list[str], list[str]],
    control: pd.DataFrame | None = None,
    *,
    n_attacks: int | None = 500,
    n_neighbors: int = 1,
    seed: int | None = None,
    confidence: float = 0.95,
) -> AttackRisk:
    """Linkability risk: an attacker holding two sources with the columns ``aux_cols[0]`` and ``aux_cols[1]``
    of the same people links them through the release when the ``n_neighbors`` nearest released records of the
    two halves of a record share one; the risk is the share linked among ``n_attacks`` random training records
    beyond the share among as many control records. ``n_attacks`` ``None``: every record. The baseline links
    two random sets of ``n_neighbors`` released records."""
    import numpy as np

    a0, a1 = list(aux_cols[0]), list(aux_cols[1])
    if not a0 or not a1:
        raise ValueError("linkability needs two non-empty sets of auxiliary columns")
    _check(
        {
            "the original table": ori,
            "the release": syn,
            **({} if control is None else {"the control set": control}),
        },
        a0 + a1,
    )
    rng = np.random.default_rng(seed)
    k = max(1, min(n_neighbors, len(syn)))

    def links(df: pd.DataFrame, n: int) -> int:
        t = _targets(df, n, rng)
        hits = []
        for aux in (a0, a1):
            (q, c), numeric = _encode([t[aux], syn[aux]], aux)
            hits.append(_knn(q, c, numeric, k, rng)[1])
        return int(np.count_nonzero((hits[0][:, :, None] == hits[1][:, None, :]).any(axis=(1, 2))))

    n_o = len(ori) if n_attacks is None else min(n_attacks, len(ori))
    n_c = None if control is None else (len(control) if n_attacks is None else min(n_attacks, len(control)))
    # random guessing: two random k-sets of the m released records meet with p = 1 - C(m-k, k) / C(m, k)
    m = len(syn)
    p_miss = float(np.prod((m - k - np.arange(k)) / (m - np.arange(k)))) if 2 * k <= m else 0.0
    n_baseline = int(rng.binomial(n_o, 1.0 - p_miss))
    n_success = links(ori, n_o)
    n_control = None if control is None else float(links(control, n_c))
    detail = {"aux_cols": [a0, a1], "n_neighbors": k}
    return _result(
        "linkability", (n_o, n_o, n_c or n_o), n_success, n_baseline, n_control, confidence, detail
    )


def inference_risk(
    ori: pd.DataFrame,
    syn: pd.DataFrame,
    aux_cols: list[str],
    secret: str,
    control: pd.DataFrame | None = None,
    *,
    regression: bool | None = None,
    n_attacks: int | None = 500,
    tolerance: float = 0.05,
    seed: int | None = None,
    confidence: float = 0.95,
) -> AttackRisk:
    """Attribute-inference risk: an attacker who knows ``aux_cols`` of a target guesses its ``secret`` as the
    secret of the nearest released record. A guess is right when equal (categories; ``regression`` False) or
    within ``tolerance`` relative to the guess (numbers; ``regression`` None: numeric secret). The risk is
    the success on ``n_attacks`` training records beyond the success on as many control records; the baseline
    guesses the secret of a random released record."""
    import numpy as np

    aux = [a for a in aux_cols if a != secret]
    if not aux:
        raise ValueError("inference needs at least one auxiliary column besides the secret")
    _check(
        {
            "the original table": ori,
            "the release": syn,
            **({} if control is None else {"the control set": control}),
        },
        [*aux, secret],
    )
    if regression is None:
        regression = _is_numeric(ori[secret]) and _is_numeric(syn[secret])
    elif regression and not (_is_numeric(ori[secret]) and _is_numeric(syn[secret])):
        raise ValueError(f"secret {secret!r} is not numeric: it cannot be inferred as a regression")
    rng = np.random.default_rng(seed)

    def right(guess: pd.Series, truth: pd.Series) -> int:
        (g, t), _ = _encode([guess.to_frame(secret), truth.to_frame(secret)], [secret])
        g, t = g[:, 0], t[:, 0]
        with np.errstate(all="ignore"):
            ok = np.abs(g - t) <= tolerance * (np.abs(g) + 1e-12) if regression else g == t
        return int(np.count_nonzero(ok | (np.isnan(g) & np.isnan(t))))

    def attack(df: pd.DataFrame, n: int) -> int:
        t = _targets(df, n, rng)
        (q, c), numeric = _encode([t[aux], syn[aux]], aux)
        nearest = _knn(q, c, numeric, 1, rng)[1][:, 0]
        return right(syn[secret].iloc[nearest].reset_index(drop=True), t[secret].reset_index(drop=True))

    n_o = len(ori) if n_attacks is None else min(n_attacks, len(ori))
    n_b = min(len(syn), n_o)
    n_c = None if control is None else (len(control) if n_attacks is None else min(n_attacks, len(control)))
    guesses = syn[secret].iloc[rng.choice(len(syn), n_b, replace=False)].reset_index(drop=True)
    n_baseline = right(guesses, _targets(ori, n_b, rng)[secret].reset_index(drop=True))
    n_success = attack(ori, n_o)
    n_control = None if control is None else float(attack(control, n_c))
    detail = {"secret": secret, "aux_cols": aux, "regression": bool(regression), "tolerance": tolerance}
    return _result("inference", (n_o, n_b, n_c or n_o), n_success, n_baseline, n_control, confidence, detail)
