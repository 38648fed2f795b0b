"""AIM: adaptive, workload-aware select-measure-generate (McKenna, Mullins, Sheldon, Miklau 2022).

Re-implemented on anonlab's DP core and graphical-model estimator; anonlab's default DP synthesizer.

The workload is every ``k``-way marginal (``workload_k``, default 3); the candidates are those cliques and all
their subsets, each weighted by how much it overlaps the workload. With rho the zCDP budget and T = 16 d rounds
planned:

1. every one-way marginal is measured with Gaussian noise: as published, sigma^2 = T / (2 * 0.9 * rho) (the
   rounds' starting sigma, so the d one-ways get about 0.9 d / T = 6% of rho); with ``one_way_share`` s, they get
   s rho, sigma^2 = d / (2 s rho), and the rounds plan T - d rounds on the rest (:func:`round_plan`; default
   s = 0.33), split over the columns in proportion to their domain sizes ** ``one_way_power`` (default 2/3, so
   a column of many categories is measured with less noise than one of two). Then each column's rare codes
   (noisy count under 3 sigma) are merged into one code (``compress``, MST's domain compression,
   :mod:`anonlab.synth.compression`: post-processing) when their summed noisy count is below the expected L1
   norm of their noise (so no column with real mass in its rare codes is frozen at a large first noise), and the
   rounds and the model work on the smaller domain;
2. each round, among the candidates whose junction tree would stay under the model-size cap (which grows with the
   share of budget spent), one is selected with report-noisy-max (epsilon^2 / 2 = 0.1 rho / T of zCDP; score:
   weight x (L1 error of the current model on the real marginal - the expected L1 norm of the noise it would be
   measured with), sensitivity = the largest weight), measured with the current sigma, and the model re-fit;
3. when a new measurement barely moves the model (by less than its own expected noise), sigma halves and epsilon
   doubles (budget annealing); the last round spends exactly what is left.

The number of rounds is capped by public parameters only: a round spends at least rho / T, so there are at most
T rounds (``rounds``; default 16 x columns). An optional wall-clock cap (``max_time``, off by default) triggers the
last round early; it makes the release (how many marginals are measured, and so every output) depend on the
machine's speed and load, which is neither a public parameter nor a DP output: use it only knowingly.

Small tables (:mod:`anonlab.synth.planning`): before measuring, a public size (``rows_hint``, or a DP row count
paid from 5% of rho) is checked against AIM's reference noise; when pairs are too fine the fit warns and
(``small_table="fallback"``, the default) plans T = d + m rounds with candidates limited to cliques with enough
rows per cell, or measures only the one-way marginals with all of rho (the DP 1-way baseline; each projected onto the
simplex of the public size).

Neighbouring datasets differ by adding or removing one record. The model-size cap (``max_cells``, cells of all
clique tables) bounds memory and time; private-pgm's reference AIM on Adult ran over an hour, this one is meant to
finish in minutes on two cores.
"""

from __future__ import annotations

import itertools
import math
import numbers
import time
from collections.abc import Sequence
from dataclasses import field
from typing import Any

import numpy as np

from anonlab.synth.budget import Budget, PrivacySpent, require_privacy_ok
from anonlab.synth.compression import Compression, compress_codes, compressible, compression_record
from anonlab.synth.estimation import estimate
from anonlab.synth.graphical import JunctionTree, model_cells
from anonlab.synth.marginal_method import GraphicalSynthesizer, measure, select
from anonlab.synth.marginals import marginal

__all__ = ["AIM"]

_ALPHA = 0.9  # share of each round's rho spent on measuring (the rest on selecting)

#: AIM's default ``bins`` per wide numeric or date column (the other methods': 32). AIM scores a candidate by its
#: error less the expected L1 norm of the noise it would be measured with (0.8 sigma per cell), so a pair of two
#: 32-bin numbers (1,024 cells) is never worth measuring at its sigma on tables of 10,000-40,000 rows and their
#: dependence was lost; at 16 bins (256 cells) it is. Cut points and densities inside the bins stay DP (quantile
#: binning, point masses), so 1-way accuracy does not rest on the bins.
DEFAULT_AIM_BINS = 16

#: The share of the model's rho AIM spends on its first one-way measurements (``one_way_share``); ``None`` is AIM
#: as published (the one-ways at the rounds' starting sigma: about 0.9 d / T = 6% of rho with T = 16 d), which
#: left many-valued columns (time zones, counties, countries) with a 1-way TV of 0.06-0.13 on the default path.
#: 0.33 (MST spends a third on them too) was chosen from runs on the eight tables of benchmarks/default_path.py
#: (docs/synth.md, "final-5").
DEFAULT_ONE_WAY_SHARE: float | None = 0.33


#: The first one-way measurements' rho is split over the columns in proportion to (domain size) ** this power
#: (``one_way_power``; 0: equally, as AIM was published). A column of k cells measured with noise sigma has a 1-way
#: error (TV) of about k sigma / n; for a fixed total rho, the sum of the columns' errors is least with
#: sigma_j proportional to k_j ** (-1/3), that is rho_j proportional to k_j ** (2/3). On the ten tables of
#: benchmarks/default_path.py (docs/synth.md, "final-8"; two seeds) 2/3 beat 0 and 1/3: COMPAS closed -0.20 of the
#: gap against -0.34 and -0.68 at 0, its charge descriptions' 1-way TV 0.11-0.13 against 0.21-0.27.
DEFAULT_ONE_WAY_POWER = 2 / 3


def check_one_way_power(value: Any) -> float:
    """``one_way_power`` as a float in [0, 2], else :class:`UsageError` naming it."""
    from anonlab.errors import UsageError

    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 2.0:
        raise UsageError(f"one_way_power={value!r}: must be a number from 0 to 2 (0: every column alike)")
    return float(value)


def one_way_sigmas(sizes: Sequence[int], sigma_1: float, power: float) -> np.ndarray:
    """Each column's one-way noise: the one-ways' rho ``d / (2 sigma_1**2)`` split in proportion to
    ``sizes[j] ** power`` (public domain sizes), so their total cost is the same as ``d`` measurements at
    ``sigma_1``."""
    w = np.asarray(sizes, dtype=float) ** float(power)
    return sigma_1 * np.sqrt(w.sum() / (len(w) * w))


def check_one_way_share(value: Any) -> float | None:
    """``one_way_share`` as a float strictly between 0 and 1 (or ``None``), else :class:`UsageError` naming it."""
    from anonlab.errors import UsageError

    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageError(f"one_way_share={value!r}: must be a number strictly between 0 and 1, or None")
    f = float(value)
    if not (math.isfinite(f) and 0.0 < f < 1.0):
        raise UsageError(f"one_way_share={value!r}: must be strictly between 0 and 1 (a share of rho)")
    return f


def round_plan(d: int, rho: float, rounds: int, one_way_share: float | None) -> tuple[float, float, float]:
    """(sigma of the first one-way measurements, starting sigma of the rounds, starting epsilon of their
    selection) for ``d`` columns, model budget ``rho`` and ``rounds`` = T planned rounds; public inputs only.

    ``one_way_share=None`` is AIM as published: every one-way at the rounds' sigma, sqrt(T / (2 alpha rho)), and
    each round costs rho / T. A share s spends s rho on the d one-ways, sigma_1 = sqrt(d / (2 s rho)), and plans
    the T - d remaining rounds on the rest: sigma = sqrt((T - d) / (2 alpha (1 - s) rho)) and
    epsilon = sqrt(2 (1 - alpha) (1 - s) rho / (T - d)).
    """
    if one_way_share is None:
        sigma = math.sqrt(rounds / (2 * _ALPHA * rho))
        return sigma, sigma, math.sqrt(2 * (1 - _ALPHA) * rho / rounds)
    s = float(one_way_share)
    left = max(rounds - d, 1)
    rest = (1 - s) * rho
    return (
        math.sqrt(d / (2 * s * rho)),
        math.sqrt(left / (2 * _ALPHA * rest)),
        math.sqrt(2 * (1 - _ALPHA) * rest / left),
    )


class AIM(GraphicalSynthesizer):
    """AIM (McKenna et al. 2022), anonlab's default DP synthesizer: ``AIM(epsilon=1.0).fit(df, schema)``.

    Parameters (and those of :class:`~anonlab.synth.base.EncodedSynthesizer` and
    :class:`~anonlab.synth.base.Synthesizer`: ``epsilon``, ``delta``, ``seed``, ``bins`` (16 for AIM, see
    :data:`DEFAULT_AIM_BINS`) ...). None of them changes the privacy guarantee, which is (``epsilon``, ``delta``)
    whatever they are; they shape how the budget is spent.

    workload_k : the size of the workload marginals (every ``k``-way marginal; default 3).
    max_cells : cap on the model's table cells (memory and time; default 200,000).
    max_time : ``None`` (the default): no wall-clock cap; else seconds after which the remaining budget goes to one
        last round, which makes the release depend on machine speed (not a public parameter: use knowingly).
    rounds : the planned number of rounds T, also the most rounds a fit runs (default 16 x columns).
    iters : mirror-descent iterations of the final fit. round_iters : iterations of each warm-started re-fit.
    rows_hint : a public order of magnitude of the table's row count for the small-table check (recorded; say
        it only if it is public), instead of a DP row count paid from 5% of rho.
    small_table : ``"fallback"`` (default: when the table is too small for the budget, warn and measure fewer
        pairs or only 1-way marginals), ``"warn"`` (only warn) or ``"off"`` (no check, no row count).
    one_way_share : the share of the model's rho spent on the first one-way measurements, strictly between 0 and 1
        (default 0.33; ``None``: AIM as published, the one-ways at the rounds' starting sigma, about 6% of rho).
        A larger share makes every column's one-way marginal more exact (many-valued columns' 1-way error is
        mostly this noise) and leaves less for the adaptive rounds. The small-table plan's ``pairs`` mode keeps
        the published schedule. Public (recorded with the parameters); the total spent is ``rho`` whatever it is.
    one_way_power : the one-way measurements' rho is split over the columns in proportion to (domain size) ** this
        (default 2/3, :data:`DEFAULT_ONE_WAY_POWER`; 0: equally), so a column of 300 categories gets its one-way
        marginal with less noise than a column of 2: each column's 1-way error grows with its number of cells.
        The small-table plan's ``pairs`` mode splits its one-ways (the published schedule's total) the same way;
        ``one_way_share=None`` (AIM as published) measures them alike. Public (the domain sizes are); the one-ways'
        total cost is unchanged.
    compress : merge each column's rare codes (noisy one-way count under 3 sigma) into one code after the one-way
        measurements, so the rounds, the model and its size cap work on the smaller domain (MST's domain
        compression, :mod:`anonlab.synth.compression`; post-processing, default on).
    """

    bins: int = field(default=DEFAULT_AIM_BINS, metadata={"common": True})  # see DEFAULT_AIM_BINS
    workload_k: int = 3
    max_cells: int = 200_000
    max_time: float | None = None
    rounds: int | None = None
    iters: int = 1000
    round_iters: int = 100
    rows_hint: int | None = None
    small_table: str = "fallback"
    compress: bool = True
    one_way_share: float | None = DEFAULT_ONE_WAY_SHARE
    one_way_power: float = DEFAULT_ONE_WAY_POWER

    name = "aim"
    private = True
    description = (
        "AIM (McKenna et al. 2022): adaptive workload-aware marginal selection; the default DP method"
    )

    def _check_params(self) -> None:
        super()._check_params()
        from anonlab.synth.planning import check_params

        check_params(self.params)  # rows_hint, small_table: refused before anything is read or charged
        check_one_way_share(self.params.get("one_way_share"))
        check_one_way_power(self.params.get("one_way_power", DEFAULT_ONE_WAY_POWER))

    def _check_resources(self) -> None:
        """Also refuse, before anything is read or charged, ``rounds`` too few for AIM as published
        (``one_way_share=None``): each of the d one-way marginals is measured at one round's share of rho, so fewer
        than d + 1 rounds would spend more than rho on the one-ways alone."""
        from anonlab.errors import UsageError

        super()._check_resources()
        d, rounds = len(self.encoding_.sizes), self.params.get("rounds")
        if self.params.get("one_way_share") is None and rounds is not None and int(rounds) <= d:
            raise UsageError(
                f"rounds={rounds}: with one_way_share=None (AIM as published) each of the table's {d} one-way "
                f"marginals takes one round's share of the budget, so give at least {d + 1} rounds (or a "
                "one_way_share)"
            )

    def _ledger_extra(self, budget: Budget) -> dict[str, Any]:
        from anonlab.synth.planning import ledger_record

        return ledger_record(self.params, budget.rho)

    def _fit_codes(self, codes, sizes, budget: Budget, noise) -> PrivacySpent:
        from anonlab.synth.planning import fit_one_way, one_way_model, start_fit

        start = time.monotonic()
        p = self.params
        d = len(sizes)
        self.compression_ = Compression.none(d)
        plan, rho, record, spent = start_fit("aim", p, codes, sizes, self.encoding_.names, budget.rho, noise)
        mode = plan.mode if plan is not None and plan.changes_fit else "full"
        if mode == "1-way":
            measurements, cost, _ = fit_one_way(codes, sizes, rho, noise)
            measurements = self._with_discovery(measurements)
            spent += cost
            require_privacy_ok(spent, budget.rho)
            self.measured_ = [m.clique for m in measurements]
            self.model_ = one_way_model(measurements, sizes, plan.n, plan.n_sigma)
            return self._spent(
                budget,
                budget.rho,
                noise,
                {
                    "rho_spent": spent,
                    "rounds": 0,
                    "measured": [list(c) for c in self.measured_],
                    "model_cells": self.model_.tree.cells(),
                    **record,
                },
            )
        k = max(1, min(int(p["workload_k"]), d))
        rounds = int(p["rounds"] or 16 * d)
        if mode == "pairs":
            rounds = d + plan.edges  # AIM's starting sigma is then the plan's reference sigma
        # the small-table plan's pairs mode keeps AIM's published schedule, which its sigma was planned on
        share = None if mode == "pairs" else check_one_way_share(p.get("one_way_share"))
        sigma_1, sigma, eps = round_plan(d, rho, rounds, share)
        spent_n = spent  # the row count's rho (0 with a rows_hint)
        measurements = []
        bar = self._bar(None, "aim rounds")
        # AIM as published (one_way_share=None) measures every one-way alike; the small-table pairs mode keeps the
        # published schedule's total for the one-ways (its plan's noise is the rounds'), split by domain size
        published = p.get("one_way_share") is None
        power = 0.0 if published else check_one_way_power(p.get("one_way_power", DEFAULT_ONE_WAY_POWER))
        sigmas = one_way_sigmas(sizes, sigma_1, power)
        for j in range(d):
            m, cost = measure(codes, sizes, (j,), float(sigmas[j]), noise)
            measurements.append(m)
            spent += cost
        measurements = self._with_discovery(measurements)
        if p["compress"]:  # rare codes merged from the noisy 1-way counts (post-processing)
            self.compression_, codes, sizes, measurements = compress_codes(
                codes, sizes, measurements, compressible(self.encoding_), limit_groups=True
            )
        workload = list(itertools.combinations(range(d), k))
        candidates = sorted(
            {
                tuple(sorted(s))
                for w in workload
                for r in range(1, k + 1)
                for s in itertools.combinations(w, r)
            },
            key=lambda c: (len(c), c),
        )
        cells = np.array([np.prod([sizes[a] for a in c], dtype=float) for c in candidates])
        if mode == "pairs":  # only cliques with enough expected rows per cell at the plan's sigma (public)
            ok = [
                len(c) == 1 or plan.n / (n_cells * sigma) >= plan.fallback_threshold
                for c, n_cells in zip(candidates, cells, strict=True)
            ]
            candidates = [c for c, keep in zip(candidates, ok, strict=True) if keep]
            cells = cells[np.asarray(ok, dtype=bool)]
        weights = np.array([sum(len(set(c) & set(w)) for w in workload) for c in candidates], dtype=float)
        max_cells = float(p["max_cells"])
        real = {c: marginal(codes, sizes, c) for c in candidates}

        model = estimate(sizes, measurements, iters=int(p["round_iters"]))
        self.measured_ = [m.clique for m in measurements]
        size_cache: dict[tuple[int, ...], int] = {}
        n_rounds = 0
        while rho - (spent - spent_n) > 1e-12 * rho:
            remaining = rho - (spent - spent_n)
            out_of_time = p["max_time"] is not None and time.monotonic() - start > float(p["max_time"])
            final = remaining < 2 * (1 / (2 * sigma**2) + eps**2 / 2) or out_of_time
            if final:
                sigma = math.sqrt(1 / (2 * _ALPHA * remaining))
                eps = math.sqrt(2 * (1 - _ALPHA) * remaining)
            cap = max_cells * (spent - spent_n + 1 / (2 * sigma**2) + eps**2 / 2) / rho
            ok = self._fitting(model.tree, candidates, cells, cap, size_cache)
            cand_idx = np.flatnonzero(ok)
            total = model.total
            penalty = math.sqrt(2 / math.pi) * sigma
            scores = np.array(
                [
                    weights[i]
                    * (
                        np.abs(real[candidates[i]] - total * model.marginal(candidates[i])).sum()
                        - penalty * cells[i]
                    )
                    for i in cand_idx
                ]
            )
            idx, sel_cost = select(scores, eps, float(weights[cand_idx].max()), noise)
            chosen = candidates[cand_idx[idx]]
            m, meas_cost = measure(codes, sizes, chosen, sigma, noise)
            spent += sel_cost + meas_cost
            measurements.append(m)
            self.measured_.append(chosen)
            before = model.marginal(chosen) * total
            model = estimate(sizes, measurements, iters=int(p["round_iters"]), warm=model)
            size_cache.clear()
            after = model.marginal(chosen) * model.total
            n_rounds += 1
            bar.update()
            bar.set_postfix(clique=",".join(map(str, chosen)), sigma=f"{sigma:.0f}")
            if final:
                break
            if np.abs(after - before).sum() <= penalty * cells[cand_idx[idx]]:
                sigma /= 2
                eps *= 2
        bar.close()
        require_privacy_ok(spent, budget.rho)
        self.model_ = estimate(sizes, measurements, iters=int(p["iters"]), warm=model)
        return self._spent(
            budget,
            budget.rho,
            noise,
            {
                "rho_spent": spent,
                "rounds": n_rounds,
                "measured": [list(c) for c in self.measured_],
                "model_cells": self.model_.tree.cells(),
                **compression_record(self.compression_, self.encoding_.names),
                **record,
            },
        )

    @staticmethod
    def _fitting(tree: JunctionTree, candidates, cells, cap: float, cache) -> np.ndarray:
        """Which candidates keep the model within ``cap`` cells (data-independent: depends on the measured
        cliques only). A candidate inside an existing clique adds nothing."""
        current = tree.cells()
        existing = [set(c) for c in tree.cliques]
        ok = np.zeros(len(candidates), dtype=bool)
        for i, c in enumerate(candidates):
            if any(set(c) <= e for e in existing):
                ok[i] = current <= cap or len(c) == 1
                continue
            if cells[i] > cap:
                continue
            if c not in cache:
                cache[c] = model_cells(tree.sizes, list(tree.cliques) + [c])
            ok[i] = cache[c] <= cap
        ok[[i for i, c in enumerate(candidates) if len(c) == 1]] = True
        return ok
