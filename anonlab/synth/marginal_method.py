"""What the marginal-based DP synthesizers (MST, AIM) share: measuring a marginal, and keeping the model.

A marginal's counts change by one in one cell when one record is added or removed, so its L2 sensitivity is 1
(add/remove-one-record neighbours). :func:`measure` releases it with Gaussian noise through
:func:`anonlab.privacy.mechanisms.gaussian` (discrete Gaussian on the counts), which returns the zCDP cost it
computed; the caller adds the costs up and checks them against the rho it was charged for.

Noisy selection goes through :func:`anonlab.privacy.mechanisms.exponential`, whose pure-DP cost enters zCDP as
epsilon**2 / 2 (Bun and Steinke 2016); the tighter epsilon**2 / 8 of the bounded-range analysis is not claimed,
because that mechanism is report-noisy-max with exponential noise, not the exponential mechanism.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from anonlab.synth.base import EncodedSynthesizer
from anonlab.synth.budget import PrivacySpent
from anonlab.synth.estimation import Measurement
from anonlab.synth.graphical import GraphicalModel, JunctionTree
from anonlab.synth.marginals import marginal

__all__ = ["measure", "select", "GraphicalSynthesizer"]


def measure(codes: np.ndarray, sizes, clique, sigma: float, noise) -> tuple[Measurement, float]:
    """The marginal on ``clique`` with discrete Gaussian noise of standard deviation ``sigma``; and its rho."""
    from anonlab.privacy.mechanisms import gaussian

    clique = tuple(sorted(clique))
    counts = marginal(codes, sizes, clique)
    rel = gaussian(counts.astype(np.int64), sigma, l2_sensitivity=1.0, integer=True, noise=noise)
    return Measurement(clique, np.asarray(rel.value, dtype=float).reshape(counts.shape), sigma), rel.cost.rho


def select(scores, epsilon: float, sensitivity: float, noise) -> tuple[int, float]:
    """Index of a high score chosen with ``epsilon``-DP, and its zCDP cost (epsilon**2 / 2)."""
    from anonlab.privacy.mechanisms import exponential

    idx, cost = exponential(np.asarray(scores, dtype=float), epsilon, sensitivity=sensitivity, noise=noise)
    return int(idx), cost.to_zcdp().rho


class GraphicalSynthesizer(EncodedSynthesizer):
    """Base for methods whose fitted state is a :class:`GraphicalModel` (``model_``).

    Their guarantee is for add/remove-one-record neighbours whatever the ledger (n is never needed: the model's
    total is a post-processed DP estimate); a replace-one ledger charges them as a group of two.
    """

    def _bar(self, total: int | None, desc: str):
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, file=sys.stderr, disable=not self.progress, leave=False)

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.model_.sample(n, rng)

    @property
    def n_estimate_(self) -> float:
        return self.model_.total

    def _spent(self, budget, rho: float, noise, details: dict[str, Any]) -> PrivacySpent:
        """What a marginal-based fit spent: the charged budget, over add/remove-one-record neighbours, with noise
        and selection through anonlab.privacy.mechanisms."""
        return PrivacySpent(
            epsilon=budget.epsilon,
            delta=budget.delta,
            rho=rho,
            neighbours="add/remove one record",
            noise="anonlab.privacy.mechanisms (discrete Gaussian, report-noisy-max)"
            + ("; seeded keystream" if noise.seeded else "; OpenDP, OS CSPRNG"),
            seeded=noise.seeded,
            trusted_domains=self.trusted_domains_,
            details=details,
        )

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray], bytes | None]:
        tree = self.model_.tree
        state = {
            "sizes": list(tree.sizes),
            "cliques": [list(c) for c in tree.cliques],
            "edges": [list(e) for e in tree.edges],
            "total": self.model_.total,
            "measured": getattr(self, "measured_", []),
        }
        arrays = {f"p{i}": p for i, p in enumerate(self.model_.probs)}
        return state, arrays, None

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], payload: bytes | None) -> None:
        tree = JunctionTree(
            tuple(state["sizes"]),
            tuple(tuple(c) for c in state["cliques"]),
            tuple(tuple(e) for e in state["edges"]),
        )
        probs = tuple(arrays[f"p{i}"] for i in range(len(tree.cliques)))
        self.model_ = GraphicalModel(tree, probs, float(state["total"]))
        self.measured_ = [tuple(c) for c in state.get("measured", [])]
