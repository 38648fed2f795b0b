"""Tables too small for the budget: a pre-fit signal-to-noise check, and a fallback to fewer measurements.

MST and AIM measure marginals with Gaussian noise of a standard deviation fixed by the budget and the number of
columns, whatever the table's size. On a table of a few hundred or a few thousand rows with many columns, a
two-way marginal spreads those rows over hundreds of cells, and the noise on each cell is larger than the count
it is added to: the model then learns the noise, and the release can be worse than the simplest DP release, each
column drawn independently from its own noisy one-way marginal (the DP 1-way baseline).

The check (:func:`plan_small_table`) uses public facts only: the public domain sizes, the budget, and a public
size ``n``. The row count is not public under add/remove-one-record neighbours, so ``n`` is either the user's
order of magnitude (``rows_hint``, nothing spent) or a DP row count released first from a share
:data:`ROW_COUNT_SHARE` of the method's rho (discrete Gaussian, L2 sensitivity 1, through
:func:`anonlab.privacy.mechanisms.gaussian` with the fit's own noise stream; charged in the same fit and ledger
entry, and itemised there as ``row_count``).

For each pair of columns (a, b) with ``cells = |a| x |b|`` the expected count per cell is ``n / cells``; against
the noise ``sigma`` the method would measure that pair with, the signal-to-noise ratio is
``snr = n / (cells * sigma)``. A pair is *too fine* when ``snr`` is below :data:`SNR_THRESHOLD`. When none is, the
method runs as designed. Otherwise the fit warns (one :class:`SmallTableWarning` line naming the worst pairs) and,
with ``small_table="fallback"`` (the default), measures less:

- ``"pairs"``: only pairs with enough expected mass may be measured (``snr >= FALLBACK_SNR`` at the fallback's
  own sigma), and fewer of them: with ``m`` two-way (or AIM workload) measurements planned the noise per
  measurement is ``sigma(m)``, which shrinks as ``m`` does; ``m`` is the largest forest of eligible pairs at
  ``sigma(m)`` (found by lowering ``m`` until the eligible pairs at ``sigma(m)`` span a forest of at least ``m``
  edges);
- ``"1-way"``: when no pair qualifies even alone, the whole budget goes to the one-way marginals (each column
  independent): the DP 1-way baseline itself, each noisy marginal projected onto the simplex
  (:func:`one_way_model`; post-processing).

After the fit, the model choice of :mod:`anonlab.synth.selection` can still release the 1-way model instead, when
held-out noisy pairs (``select_share`` of rho, measured in :func:`start_fit` right after the plan) show that the
fit learned noise; the plan is made for the rho the method gets once that share is set aside.

The plan depends only on the sizes, the budget, the method's parameters and ``n`` (the hint or the DP count), so
two neighbouring tables with the same ``n`` get the same plan; it is recorded in the release's privacy record
(``details.small_table``) through the allow-lists of :mod:`anonlab.synth.artifacts`.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from anonlab.errors import UsageError

__all__ = [
    "ROW_COUNT_SHARE",
    "SNR_THRESHOLD",
    "AIM_SNR_THRESHOLD",
    "FALLBACK_SNR",
    "SMALL_TABLE_MODES",
    "SmallTableWarning",
    "SmallTablePlan",
    "plan_small_table",
    "mst_sigma",
    "aim_sigma",
    "row_count_cost",
    "release_row_count",
    "fit_one_way",
]

#: Share of the method's rho spent on the DP row count when no ``rows_hint`` is given (as NAPSU-MQ's n estimate,
#: :data:`anonlab.synth.twinify.N_ESTIMATE_SHARE`).
ROW_COUNT_SHARE = 0.05
#: A pair is too fine when its expected count per cell, n / cells, is below this multiple of the noise's
#: standard deviation on each cell. At 1 the noise's expected L1 mass on the pair (0.8 sigma per cell) is about
#: 0.8 times the pair's whole count: the graphical model then recovers little beyond the one-way marginals, which
#: it could have measured with less noise. Calibrated in benchmarks/small_tables.py and on COMPAS (3,607 rows x
#: 18 columns at epsilon 1, benchmarks/default_path.py: 45 of 153 pairs under 1, none under 0.5; 2-way TV 0.128
#: (MST) and 0.119 (AIM) as designed, 0.106 and 0.105 with the fallback, 0.117 for the DP 1-way baseline).
SNR_THRESHOLD = 1.0
#: AIM's threshold: its first one-way measurements are far noisier than MST's (it plans 16 d rounds) and its
#: reference sigma is where its annealing ends, so it needs more rows per cell to beat the DP 1-way baseline.
#: Measured on Fair's affairs survey (3,183 rows x 9 columns at epsilon 1, benchmarks/default_path.py: snr 1.1;
#: 2-way TV 0.133 as designed, 0.111 with the fallback, 0.119 for the DP 1-way baseline) and Texas housing
#: (4,301 x 8, snr 1.6: as designed 0.319, the DP 1-way baseline 0.318).
AIM_SNR_THRESHOLD = 1.5
#: Once the check finds pairs too fine, the fallback measures only pairs whose expected count per cell is at
#: least this multiple of the (fallback's own, smaller) noise: after the warning, a pair is measured only if its
#: noise adds little (about 0.4 / FALLBACK_SNR in total variation) against what it costs the one-way marginals,
#: since on a small table the dependence it could reveal is unknown and often weaker than that noise. Calibrated
#: in benchmarks/small_tables.py.
FALLBACK_SNR = 4.0
#: The check changes the fit only when more than this share of the column pairs is too fine: a large table with a
#: few fine pairs (Adult's fnlwgt x native-country) is fitted as designed, since the method simply does not pick
#: those pairs; measured on Adult (16,000 rows: MST 2-way TV 0.053 as designed against 0.063 with the fallback,
#: no pair too fine), on COMPAS (29% of its pairs too fine; the fallback beats the design and the DP 1-way
#: baseline, see :data:`SNR_THRESHOLD`) and on the small tables of benchmarks/small_tables.py, where most pairs
#: are too fine.
FALLBACK_SHARE = 0.25
#: The check counts at most this many codes per column: real columns put their mass in few of their codes (32
#: equal-width bins of a skewed number, a country list led by one country), so n / cells over all codes would call
#: a 13,000-row table of 32-bin numbers "too small" when most of its pairs' occupied cells hold plenty (measured:
#: the weather table of benchmarks/default_path.py fell back to 2 of 78 pairs and came out as independent columns).
EFFECTIVE_SIZE = 10
#: ``small_table`` parameter values: ``"fallback"`` (check, warn, measure less), ``"warn"`` (check and warn, then
#: run the method as designed), ``"off"`` (no check: nothing is spent on a row count), ``"1-way"`` (measure the
#: one-way marginals only, whatever the check says: the DP 1-way baseline, a release to compare others with).
SMALL_TABLE_MODES = ("fallback", "warn", "off", "1-way")


class SmallTableWarning(UserWarning):
    """The table is too small for the budget: expected counts per cell below the noise (see
    :mod:`anonlab.synth.planning`). The CLI prints it as one ``warning:`` line."""


def mst_sigma(d: int, rho: float, m: int) -> float:
    """The noise MST's fallback gives each marginal when it measures the ``d`` one-way marginals and ``m`` two-way
    ones: the tree's selection gets m / (d - 1) of a third of rho (a third, as in MST, for a full tree), and the
    rest is spread evenly over the d + m measurements. (MST as designed measures its d - 1 two-way marginals with
    sqrt(3 (d - 1) / (2 rho)): :func:`mst_design_sigma`.)
    """
    rho_meas = rho * (1 - m / (3 * max(d - 1, 1)))
    return math.sqrt((d + m) / (2 * rho_meas))


def mst_design_sigma(d: int, rho: float) -> float:
    """MST's own two-way noise: sqrt(3 (d - 1) / (2 rho)), the check's reference."""
    return math.sqrt(3 * max(d - 1, 1) / (2 * rho))


def aim_sigma(d: int, rho: float, m: int, alpha: float = 0.9) -> float:
    """AIM's reference noise with ``d`` one-way and ``m`` workload measurements: sqrt((d + m) / (2 alpha rho)).

    AIM plans T = 16 d rounds and halves its sigma as measurements stop helping, so the sigma of its measurements
    is not fixed in advance; the check uses the sigma at which AIM's measuring share (alpha) is spread over d
    one-way and m = d - 1 further marginals (a tree's worth), about where its annealing ends on tables that fit.
    In the fallback AIM plans T = d + m rounds, so this is then its starting sigma.
    """
    return math.sqrt((d + m) / (2 * alpha * rho))


def row_count_cost(rho: float, rows_hint: float | None, small_table: str) -> tuple[float, float | None]:
    """(rho, sigma) of the DP row count a fit with model budget ``rho`` spends: ``(0, None)`` with a
    ``rows_hint`` or with ``small_table="off"``."""
    from anonlab.privacy.accounting import gaussian_sigma_for_rho

    check_small_table(small_table)
    if rows_hint is not None or small_table == "off":
        return 0.0, None
    rho_n = ROW_COUNT_SHARE * rho
    return rho_n, gaussian_sigma_for_rho(rho_n, 1.0)


def check_small_table(mode: str) -> str:
    if mode not in SMALL_TABLE_MODES:
        raise UsageError(f"small_table must be one of {', '.join(SMALL_TABLE_MODES)} (got {mode!r})")
    return mode


def check_rows_hint(value: Any) -> float | None:
    """A user's order of magnitude of the table's size: a positive number, or ``None``."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"rows_hint must be a positive number of rows (got {value!r})") from None
    if not math.isfinite(v) or v < 1:
        raise UsageError(f"rows_hint must be a positive number of rows (got {value!r})")
    return v


def release_row_count(n_rows: int, sigma: float, noise) -> tuple[float, float]:
    """The DP row count: ``n_rows`` + discrete Gaussian noise of ``sigma`` (L2 sensitivity 1 under add/remove
    neighbours), through :func:`anonlab.privacy.mechanisms.gaussian` with the fit's ``noise``; at least 1.
    Returns (the estimate, its rho)."""
    from anonlab.privacy.mechanisms import gaussian

    rel = gaussian(int(n_rows), sigma, l2_sensitivity=1.0, integer=True, noise=noise)
    return float(max(1, int(rel.value))), rel.cost.rho


def fit_one_way(codes, sizes, rho: float, noise) -> tuple[list, float, float]:
    """Every one-way marginal with the whole ``rho``: sigma = sqrt(d / (2 rho)). The DP 1-way baseline's
    measurements. Returns (measurements, rho spent, sigma)."""
    from anonlab.synth.marginal_method import measure

    d = len(sizes)
    sigma = math.sqrt(d / (2 * rho))
    out, spent = [], 0.0
    for j in range(d):
        m, cost = measure(codes, sizes, (j,), sigma, noise)
        out.append(m)
        spent += cost
    return out, spent, sigma


def _forest_rank(d: int, pairs) -> int:
    """Edges of a spanning forest of the graph on ``d`` nodes with edges ``pairs``: d - components."""
    parent = list(range(d))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    rank = 0
    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
            rank += 1
    return rank


@dataclass(frozen=True)
class SmallTablePlan:
    """What a marginal method measures on this table, decided from public facts (sizes, budget, ``n``).

    mode : ``"full"`` (the method as designed), ``"pairs"`` (only ``pairs``, at most ``edges`` of them, or for AIM
        ``edges`` rounds among cliques with enough expected mass), ``"1-way"`` (one-way marginals only).
    n, n_from : the public size used and where it came from (``"rows_hint"`` or ``"dp row count"``).
    sigma : the noise per cell of the full method's two-way measurements (the check's reference).
    too_fine : the pairs (column indices) whose snr at ``sigma`` is under ``threshold``, worst first.
    pairs : the pairs the fallback may measure (all pairs in mode "full").
    edges : how many two-way (MST) or workload (AIM) measurements the fallback plans.
    """

    method: str
    n: float
    n_from: str
    threshold: float
    sigma: float
    names: tuple[str, ...]
    sizes: tuple[int, ...]
    too_fine: tuple[tuple[int, int], ...]
    mode: str
    pairs: tuple[tuple[int, int], ...]
    edges: int
    fallback: bool = True
    columns_too_fine: tuple[int, ...] = field(default_factory=tuple)
    fallback_threshold: float = FALLBACK_SNR
    #: the DP row count's noise (``None`` with a rows_hint)
    n_sigma: float | None = None

    @property
    def changes_fit(self) -> bool:
        """True when the method measures less than designed (mode not "full" and the fallback is on)."""
        return self.fallback and self.mode != "full"

    def snr(self, pair: tuple[int, int], sigma: float | None = None) -> float:
        a, b = pair
        return self.n / (self.sizes[a] * self.sizes[b] * (sigma or self.sigma))

    def eligible(self, clique, sigma: float) -> bool:
        """Whether a clique (any size) has enough expected mass per cell at ``sigma``."""
        cells = float(np.prod([self.sizes[a] for a in clique], dtype=float))
        return self.n / (cells * sigma) >= self.fallback_threshold

    def warning(self) -> str | None:
        """The one-line warning, or ``None`` when no pair is too fine."""
        if not self.too_fine:
            return None
        worst = ", ".join(
            f"{self.names[a]} x {self.names[b]} ({self.n / (self.sizes[a] * self.sizes[b]):.2g} rows/cell)"
            for a, b in self.too_fine[:3]
        )
        total = len(self.names) * (len(self.names) - 1) // 2
        src = "your rows_hint" if self.n_from == "rows_hint" else "a DP row count"
        what = {
            "full": "fitting as designed (small_table='warn')",
            "pairs": f"measuring only {self.edges} of the pairs with enough rows per cell instead",
            "1-way": "measuring one-way marginals only instead (each column independent: the DP 1-way baseline)",
        }[self.mode if self.fallback else "full"]
        cols = ""
        if self.columns_too_fine:
            cols = "; even alone, too fine: " + ", ".join(self.names[j] for j in self.columns_too_fine[:5])
            cols += " (fewer --bins would help)"
        return (
            f"synth {self.method}: table too small for the budget: with about {self.n:.0f} rows ({src}), "
            f"{len(self.too_fine)} of {total} column pairs expect fewer rows per cell than "
            f"{self.threshold:g} x the noise (sigma {self.sigma:.0f}), e.g. {worst}{cols}; {what}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The plan as the release records it (``privacy.details.small_table``): public parameters and functions
        of the public size ``n`` (a DP output when it is the DP row count)."""
        return {
            "mode": self.mode if self.fallback else "full",
            "checked_mode": self.mode,
            "n": self.n,
            "n_from": self.n_from,
            "threshold": self.threshold,
            "fallback_threshold": self.fallback_threshold,
            "sigma_2way": self.sigma,
            "pairs_too_fine": len(self.too_fine),
            "worst_pairs": [[self.names[a], self.names[b]] for a, b in self.too_fine[:10]],
            "columns_too_fine": [self.names[j] for j in self.columns_too_fine],
            "planned_measurements": self.edges,
        }


def plan_small_table(
    method: str,
    sizes,
    names,
    rho: float,
    n: float,
    *,
    n_from: str = "rows_hint",
    threshold: float = SNR_THRESHOLD,
    fallback_threshold: float = FALLBACK_SNR,
    fallback: bool = True,
    n_sigma: float | None = None,
) -> SmallTablePlan:
    """The plan for ``method`` ("mst" or "aim") on a table with public domain ``sizes`` and about ``n`` rows, with
    model budget ``rho`` (zCDP). A function of these public values only (see the module's docstring).

    threshold : a pair is too fine for the method as designed when n / (cells x sigma) is below it.
    fallback_threshold : the fallback measures only pairs at or above it (at the fallback's own sigma).
    n_sigma : the DP row count's noise (``None`` for a hint); used only to post-process a 1-way model.
    """
    # the expected occupied codes per column, not all of them (see EFFECTIVE_SIZE)
    sizes = tuple(min(int(s), EFFECTIVE_SIZE) for s in sizes)
    names = tuple(str(x) for x in names)
    d = len(sizes)
    sigma_of = {"mst": lambda m: mst_sigma(d, rho, m), "aim": lambda m: aim_sigma(d, rho, m)}[method]
    pairs = list(itertools.combinations(range(d), 2))
    sigma_full = mst_design_sigma(d, rho) if method == "mst" else aim_sigma(d, rho, max(d - 1, 0))
    # one-way: the 1-way baseline's own sigma; a column too fine even there is named in the warning
    sigma_1 = math.sqrt(d / (2 * rho))
    cols = tuple(j for j in range(d) if n / (sizes[j] * sigma_1) < threshold)

    def snr(p, s):
        return n / (sizes[p[0]] * sizes[p[1]] * s)

    def make(too_fine, mode, ok, m):
        return SmallTablePlan(
            method, float(n), n_from, threshold, sigma_full, names, sizes, tuple(too_fine), mode, tuple(ok), m,
            fallback, cols, fallback_threshold, n_sigma,
        )  # fmt: skip

    too_fine = sorted((p for p in pairs if snr(p, sigma_full) < threshold), key=lambda p: snr(p, 1.0))
    if len(too_fine) <= FALLBACK_SHARE * len(pairs):
        return make((), "full", pairs, max(d - 1, 0))
    # the largest m whose eligible pairs (at sigma(m)) span a forest of at least m edges
    m = d - 1
    while m > 0:
        s = sigma_of(m)
        rank = _forest_rank(d, [p for p in pairs if snr(p, s) >= fallback_threshold])
        if rank >= m:
            break
        m = rank
    if m == 0:
        return make(too_fine, "1-way", (), 0)
    s = sigma_of(m)
    return make(too_fine, "pairs", [p for p in pairs if snr(p, s) >= fallback_threshold], m)


def warn_plan(plan: SmallTablePlan) -> None:
    """Emit the plan's warning line, if any (:class:`SmallTableWarning`)."""
    text = plan.warning()
    if text:
        warnings.warn(text, SmallTableWarning, stacklevel=4)


def start_fit(method: str, params, codes, sizes, names, rho: float, noise):
    """What a marginal method does before measuring: the public size (``rows_hint``, or the DP row count drawn
    first from ``noise``), the plan, its warning, and the held-out pairs of the model choice
    (:mod:`anonlab.synth.selection`: ``select_share`` of rho, spent before the fit unless the plan measures
    one-way marginals only, in which case there is nothing to choose and the fit gets that share).

    Returns (plan or ``None`` with ``small_table="off"``, the rho left for the model, the record for
    ``privacy_.details``, the rho spent so far: row count and held-out pairs). The held-out measurements travel
    in the record under ``"_held_out"``, which :meth:`GraphicalSynthesizer._spent
    <anonlab.synth.marginal_method.GraphicalSynthesizer._spent>` takes out before anything is published.
    """
    from anonlab.synth.selection import check_select_share, measure_held_out

    mode = check_small_table(params.get("small_table", "fallback"))
    hint = check_rows_hint(params.get("rows_hint"))
    share = check_select_share(params.get("select_share", 0.0)) if mode != "1-way" else 0.0
    rho_s = share * rho

    def held_out(record: dict[str, Any]) -> float:
        if rho_s <= 0:
            return 0.0
        held = measure_held_out(codes, sizes, rho_s, noise)
        record["_held_out"] = held
        return held.rho

    if mode == "off":
        record: dict[str, Any] = {}
        spent_s = held_out(record)
        return None, rho - spent_s, record, spent_s
    rho_n, sigma_n = row_count_cost(rho, hint, mode)
    record = {}
    spent = 0.0
    if hint is not None:
        n, n_from = hint, "rows_hint"
    else:
        n, spent = release_row_count(int(codes.shape[0]), sigma_n, noise)
        n_from = "dp row count"
        record["row_count"] = {"share": ROW_COUNT_SHARE, "rho": spent, "sigma": sigma_n}
        record["n_estimate"] = n
    plan = plan_small_table(
        method,
        sizes,
        names,
        rho - rho_n - rho_s,
        n,
        n_from=n_from,
        threshold=AIM_SNR_THRESHOLD if method == "aim" else SNR_THRESHOLD,
        fallback_threshold=FALLBACK_SNR,
        fallback=mode == "fallback",
        n_sigma=sigma_n,
    )
    if mode == "1-way":  # the user asked for the DP 1-way baseline: a public choice, no warning needed
        plan = replace(plan, mode="1-way", pairs=(), edges=0, fallback=True)
    else:
        warn_plan(plan)
    record["small_table"] = plan.to_dict()
    if plan.changes_fit and plan.mode == "1-way":
        if rho_s > 0:  # nothing to choose between: the one-way fit gets the share
            record["model_choice"] = {
                "chosen": "1-way",
                "share": share,
                "rho": 0.0,
                "skipped": "plan is 1-way",
            }
        return plan, rho - rho_n, record, spent
    spent_s = held_out(record)
    return plan, rho - rho_n - spent_s, record, spent + spent_s


def ledger_record(params, rho: float) -> dict[str, Any]:
    """The parts of a fit's ledger entry beyond the model (charged with the fit, before any noise): the row count
    (none with a ``rows_hint`` or ``small_table="off"``) and the model choice's held-out pairs (none with
    ``select_share=0`` or ``small_table="1-way"``; given to the fit instead when the plan, from the DP row count,
    measures one-way marginals only)."""
    from anonlab.synth.selection import check_select_share

    out: dict[str, Any] = {}
    mode = params.get("small_table", "fallback")
    hint = check_rows_hint(params.get("rows_hint"))
    rho_n, sigma_n = row_count_cost(rho, hint, mode)
    if sigma_n is not None:
        out["row_count"] = {"share": ROW_COUNT_SHARE, "rho": rho_n, "sigma": sigma_n}
    share = check_select_share(params.get("select_share", 0.0))
    if share > 0 and mode != "1-way":
        out["model_choice"] = {"share": share, "rho": share * rho}
    return out


def check_params(params) -> None:
    """Validate a method's ``rows_hint``, ``small_table`` and ``select_share`` when it is built (before anything is read or
    charged): :class:`~anonlab.errors.UsageError` naming the bad value."""
    from anonlab.synth.selection import check_select_share

    check_small_table(params.get("small_table", "fallback"))
    check_rows_hint(params.get("rows_hint"))
    check_select_share(params.get("select_share", 0.0))


def simplex_projection(y: np.ndarray, total: float) -> np.ndarray:
    """The Euclidean projection of noisy counts ``y`` onto {x >= 0, sum x = total}: x = max(y - tau, 0).

    Post-processing. On a noisy one-way marginal it beats clipping negatives and renormalising in total variation
    on skewed columns (cells with no rows lose their noise instead of keeping it), and matches it on flat ones."""
    y = np.asarray(y, dtype=float).ravel()
    total = float(max(total, 1.0))
    u = np.sort(y)[::-1]
    css = np.cumsum(u) - total
    k = np.arange(1, len(u) + 1)
    r = int(k[u - css / k > 0][-1])
    tau = css[r - 1] / r
    return np.maximum(y - tau, 0.0)


def combined_total(measurements, n: float | None, n_sigma: float | None) -> float:
    """The inverse-variance-weighted mean of the DP row count ``n`` (noise ``n_sigma``) and the totals of the
    noisy one-way ``measurements`` (a marginal of c cells with noise sigma has a total of standard deviation
    sigma sqrt(c)); the measurements' totals alone when ``n_sigma`` is ``None`` (a user's ``rows_hint``, an order
    of magnitude, is not trusted to scale the model). Post-processing."""
    num, den = 0.0, 0.0
    if n is not None and n_sigma:
        num, den = n / n_sigma**2, 1.0 / n_sigma**2
    for m in measurements:
        var = m.variance
        num += float(m.y.sum()) / var
        den += 1.0 / var
    return max(1.0, num / den)


def one_way_model(measurements, sizes, n: float | None, n_sigma: float | None):
    """The model of independent columns from noisy one-way ``measurements`` (one per column): each projected
    onto the simplex whose total is :func:`combined_total` of the public size ``n`` and the measurements' own
    totals. Post-processing."""
    from anonlab.synth.graphical import GraphicalModel, JunctionTree

    d = len(sizes)
    total = combined_total(measurements, n, n_sigma)
    tree = JunctionTree.build(sizes, [(j,) for j in range(d)])
    by_col = {m.clique: m.y for m in measurements}
    probs = []
    for clique in tree.cliques:
        x = simplex_projection(by_col[tuple(clique)], total)
        probs.append((x / x.sum()).reshape(tuple(sizes[a] for a in clique)))
    return GraphicalModel(tree, tuple(probs), float(total))
