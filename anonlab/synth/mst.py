"""MST: all one-way marginals and a maximum spanning tree of two-way marginals (McKenna, Miklau, Sheldon 2021).

The winner of the NIST 2018 synthetic-data challenge, re-implemented on anonlab's DP core and graphical-model
estimator. The zCDP budget rho is split in three equal parts:

1. every one-way marginal, with Gaussian noise (sigma^2 = 3 d / (2 rho));
2. d - 1 rounds of noisy selection building a spanning tree (Kruskal order): each round picks, among the pairs
   that join two components, one whose two-way marginal is badly explained by the one-way model (score: the L1
   distance between the real marginal and the model's, sensitivity 1), with epsilon = sqrt(2 (rho/3) / (d - 1));
3. the d - 1 selected two-way marginals, with Gaussian noise (sigma^2 = 3 (d - 1) / (2 rho)).

After step 1, the rare codes of each column (noisy count below 3 sigma) are merged into one code, as MST's
``compress_domain`` does (:mod:`anonlab.synth.compression`, post-processing, ``compress=True``): steps 2 and 3 and the
model work on the smaller domain, and sampling expands the merged code in proportion to the noisy one-way counts.

A graphical model fit to all measurements (:mod:`anonlab.synth.estimation`) generates the rows. Neighbouring
datasets differ by adding or removing one record.

Small tables (:mod:`anonlab.synth.planning`): before measuring, a public size (``rows_hint``, or a DP row count
paid from 5% of rho) is checked against the noise per two-way cell; when pairs are too fine the fit warns and
(``small_table="fallback"``, the default) measures only a forest of ``m < d - 1`` pairs with enough rows per cell
(selection share m / (d - 1) of a third; the rest spread evenly over the d + m measurements), or only the
one-way marginals with all of rho (the DP 1-way baseline; each projected onto the simplex of the public
size).

Model choice (:mod:`anonlab.synth.selection`, ``select_share``, default 10% of rho): held-out noisy two-way
marginals are measured before the fit, and the fitted model is released unless the independent product of its
own one-way marginals beats it on them (post-processing; recorded in ``privacy.details.model_choice``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from anonlab.synth.budget import Budget, PrivacySpent, require_privacy_ok
from anonlab.synth.compression import Compression, compress_codes, compressible, compression_record
from anonlab.synth.estimation import estimate
from anonlab.synth.marginal_method import GraphicalSynthesizer, measure, select
from anonlab.synth.marginals import marginal

__all__ = ["MST"]


class MST(GraphicalSynthesizer):
    """MST (McKenna et al. 2021): ``MST(epsilon=1.0).fit(df, schema)``.

    Parameters (beyond ``epsilon``, ``delta`` and the common ones); none changes the guarantee:

    iters : mirror-descent iterations of the final fit (more is closer to the best fit; default 1000).
    rows_hint, small_table : the small-table check, as for :class:`~anonlab.synth.aim.AIM`.
    select_share : the share of rho spent on the held-out pairs of the model choice (default 0.1; 0: off), see
        :class:`~anonlab.synth.marginal_method.GraphicalSynthesizer`.
    compress : merge each column's rare codes (noisy one-way count under 3 sigma) into one code before the pairs
        are selected and measured (MST's domain compression; post-processing, default on).
    """

    iters: int = 1000
    rows_hint: int | None = None
    small_table: str = "fallback"
    compress: bool = True

    name = "mst"
    private = True
    description = (
        "MST (McKenna et al. 2021): 1-way marginals + a noisy maximum spanning tree of 2-way marginals"
    )

    def _check_params(self) -> None:
        super()._check_params()
        from anonlab.synth.planning import check_params

        check_params(self.params)  # rows_hint, small_table: refused before anything is read or charged

    def _ledger_extra(self, budget: Budget) -> dict[str, Any]:
        from anonlab.synth.planning import ledger_record

        return ledger_record(self.params, budget.rho)

    def _fit_codes(self, codes, sizes, budget: Budget, noise) -> PrivacySpent:
        from anonlab.synth.planning import fit_one_way, mst_sigma, one_way_model, start_fit

        d = len(sizes)
        self.compression_ = Compression.none(d)
        plan, rho, record, spent = start_fit(
            "mst", self.params, codes, sizes, self.encoding_.names, budget.rho, noise
        )
        mode = plan.mode if plan is not None and plan.changes_fit else "full"
        bar = self._bar(d + 2 * max(d - 1, 0) + 1, "mst")
        if mode == "1-way":
            measurements, cost, sigma1 = fit_one_way(codes, sizes, rho, noise)
            measurements = self._with_discovery(measurements)
            spent += cost
            self.measured_ = [m.clique for m in measurements]
        else:
            m_edges = plan.edges if mode == "pairs" else d - 1
            if mode == "pairs":
                sigma1 = sigma2 = mst_sigma(d, rho, m_edges)
                rho_select = rho * m_edges / (3 * (d - 1))
            else:
                sigma1 = math.sqrt(3 * d / (2 * rho)) if d > 1 else math.sqrt(1 / (2 * rho))
                sigma2 = math.sqrt(3 * (d - 1) / (2 * rho)) if d > 1 else 0.0
                rho_select = rho / 3
            measurements = []
            for j in range(d):
                m, cost = measure(codes, sizes, (j,), sigma1, noise)
                measurements.append(m)
                spent += cost
                bar.update()
            self.measured_ = [m.clique for m in measurements]
            measurements = self._with_discovery(measurements)
            if self.params["compress"]:
                self.compression_, codes, sizes, measurements = compress_codes(
                    codes, sizes, measurements, compressible(self.encoding_)
                )
            if d > 1 and m_edges > 0:
                model = estimate(sizes, measurements, iters=200)
                eps = math.sqrt(2 * rho_select / m_edges)
                allowed = set(plan.pairs) if mode == "pairs" else None
                edges = self._select_tree(codes, sizes, model, eps, noise, bar, m_edges, allowed)
                spent += sum(c for _, c in edges)
                for e, _ in edges:
                    m, cost = measure(codes, sizes, e, sigma2, noise)
                    measurements.append(m)
                    spent += cost
                    self.measured_.append(e)
                    bar.update()
        require_privacy_ok(spent, budget.rho)
        if mode == "1-way":
            self.model_ = one_way_model(measurements, sizes, plan.n, plan.n_sigma)
        else:
            self.model_ = estimate(sizes, measurements, iters=int(self.params["iters"]))
        bar.update()
        bar.close()
        return self._spent(
            budget,
            budget.rho,
            noise,
            {
                "rho_spent": spent,
                "measured": [list(c) for c in self.measured_],
                "sigma_1way": sigma1,
                **compression_record(self.compression_, self.encoding_.names),
                **record,
            },
        )

    def _select_tree(
        self, codes, sizes, model, eps, noise, bar, rounds: int, allowed=None
    ) -> list[tuple[tuple[int, int], float]]:
        """``rounds`` noisy Kruskal steps among the pairs (only those in ``allowed``, a public set, if given)."""
        import networkx as nx

        d = len(sizes)
        pairs = [p for p in itertools.combinations(range(d), 2) if allowed is None or p in allowed]
        total = model.total
        weights = np.array(
            [np.abs(marginal(codes, sizes, p) - total * model.marginal(p)).sum() for p in pairs], dtype=float
        )
        comp = nx.utils.UnionFind(range(d))
        chosen = []
        for _ in range(rounds):
            cand = [k for k, (a, b) in enumerate(pairs) if comp[a] != comp[b]]
            if not cand:  # cannot happen: the plan's rounds never pass the allowed pairs' forest
                break
            idx, cost = select(weights[cand], eps, 1.0, noise)
            a, b = pairs[cand[idx]]
            comp.union(a, b)
            chosen.append(((a, b), cost))
            bar.update()
        return chosen
