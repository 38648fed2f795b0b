"""MST: all one-way marginals and a maximum spanning tree of two-way marginals (McKenna, Miklau, Sheldon 2021).

The winner of the NIST 2018 synthetic-data challenge, re-implemented on anonlab's DP core and graphical-model
estimator. The zCDP budget rho is split in three equal parts:

1. every one-way marginal, with Gaussian noise (sigma^2 = 3 d / (2 rho));
2. d - 1 rounds of noisy selection building a spanning tree (Kruskal order): each round picks, among the pairs
   that join two components, one whose two-way marginal is badly explained by the one-way model (score: the L1
   distance between the real marginal and the model's, sensitivity 1), with epsilon = sqrt(2 (rho/3) / (d - 1));
3. the d - 1 selected two-way marginals, with Gaussian noise (sigma^2 = 3 (d - 1) / (2 rho)).

A graphical model fit to all measurements (:mod:`anonlab.synth.estimation`) generates the rows. Neighbouring
datasets differ by adding or removing one record.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from anonlab.synth.base import Budget, PrivacySpent, register, require_privacy_ok
from anonlab.synth.estimation import estimate
from anonlab.synth.marginal_method import GraphicalSynthesizer, measure, select
from anonlab.synth.marginals import marginal

__all__ = ["MST"]


@register
class MST(GraphicalSynthesizer):
    """MST. Parameters: ``iters`` (mirror-descent iterations of the final fit; more is closer to the best fit)."""

    name = "mst"
    private = True
    description = (
        "MST (McKenna et al. 2021): 1-way marginals + a noisy maximum spanning tree of 2-way marginals"
    )

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {"iters": 1000}

    def _fit_codes(self, codes, sizes, budget: Budget, noise) -> PrivacySpent:
        rho = budget.rho
        d = len(sizes)
        spent = 0.0
        bar = self._bar(d + 2 * max(d - 1, 0) + 1, "mst")
        sigma1 = math.sqrt(3 * d / (2 * rho)) if d > 1 else math.sqrt(1 / (2 * rho))
        measurements = []
        for j in range(d):
            m, cost = measure(codes, sizes, (j,), sigma1, noise)
            measurements.append(m)
            spent += cost
            bar.update()
        self.measured_ = [m.clique for m in measurements]
        if d > 1:
            model = estimate(sizes, measurements, iters=200)
            eps = math.sqrt(2 * (rho / 3) / (d - 1))
            edges = self._select_tree(codes, sizes, model, eps, noise, bar)
            spent += sum(c for _, c in edges)
            sigma2 = math.sqrt(3 * (d - 1) / (2 * rho))
            for e, _ in edges:
                m, cost = measure(codes, sizes, e, sigma2, noise)
                measurements.append(m)
                spent += cost
                self.measured_.append(e)
                bar.update()
        require_privacy_ok(spent, rho)
        self.model_ = estimate(sizes, measurements, iters=int(self.params["iters"]))
        bar.update()
        bar.close()
        return self._spent(
            budget,
            rho,
            noise,
            {"rho_spent": spent, "measured": [list(c) for c in self.measured_], "sigma_1way": sigma1},
        )

    def _select_tree(self, codes, sizes, model, eps, noise, bar) -> list[tuple[tuple[int, int], float]]:
        import networkx as nx

        d = len(sizes)
        pairs = list(itertools.combinations(range(d), 2))
        total = model.total
        weights = np.array(
            [np.abs(marginal(codes, sizes, p) - total * model.marginal(p)).sum() for p in pairs], dtype=float
        )
        comp = nx.utils.UnionFind(range(d))
        chosen = []
        for _ in range(d - 1):
            cand = [k for k, (a, b) in enumerate(pairs) if comp[a] != comp[b]]
            idx, cost = select(weights[cand], eps, 1.0, noise)
            a, b = pairs[cand[idx]]
            comp.union(a, b)
            chosen.append(((a, b), cost))
            bar.update()
        return chosen
