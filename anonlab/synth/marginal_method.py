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

from typing import Any

import numpy as np

from anonlab.synth.base import EncodedSynthesizer
from anonlab.synth.budget import PrivacySpent
from anonlab.synth.estimation import Measurement
from anonlab.synth.graphical import GraphicalModel, JunctionTree
from anonlab.synth.marginals import marginal
from anonlab.synth.selection import SELECT_SHARE

__all__ = ["measure", "select", "GraphicalSynthesizer"]

#: Parameters :class:`GraphicalSynthesizer` gives every marginal method (listed after the method's own).
_SHARED = ("select_share",)


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

    select_share : the share of the fit's rho spent on held-out noisy two-way marginals, measured before the fit,
        on which the fitted model and the independent product of its one-way marginals (the 1-way model) are
        compared after it; the better one is released (:mod:`anonlab.synth.selection`; default 0.1, at most 0.5;
        0 turns the choice off and gives the whole budget to the fit). It does not change the guarantee.
    """

    select_share: float = SELECT_SHARE

    @classmethod
    def default_domain_share(cls, categories: bool = True) -> float:
        """:data:`anonlab.synth.domains.MARGINAL_DOMAIN_SHARE` when a categorical column is discovered: these
        methods combine the discovery's category counts into their one-way measurements (:meth:`_with_discovery`),
        so that budget is not spent on names alone. Bounds alone are not reused: the base share then."""
        from anonlab.synth.domains import DEFAULT_DOMAIN_SHARE, MARGINAL_DOMAIN_SHARE

        return MARGINAL_DOMAIN_SHARE if categories else DEFAULT_DOMAIN_SHARE

    def _default_binning(self) -> str:
        """``"density"`` with ``point_masses`` (the bins cut at the quantiles of the DP densities measured anyway,
        nothing more spent), else ``"quantile"``. Measured with AIM on ten real tables at two seeds
        (benchmarks/default_path.py, docs/synth.md "final-8"): the density cuts follow heavy tails where the quantile
        search's public candidate grid is too coarse (GeoNames' population: 31% of rows in one bin), and the
        quantile share goes to the model."""
        return "density" if self.point_masses else "quantile"

    @classmethod
    def _wrap_init(cls) -> None:
        """The signature lists the parameters this base gives every marginal method (``select_share``) after the
        method's own, so ``AIM(epsilon, delta, workload_k, ...)`` still opens with AIM's."""
        import inspect

        super()._wrap_init()
        sig = inspect.signature(cls.__init__)
        params = list(sig.parameters.values())
        shared = [p for p in params if p.name in _SHARED]
        rest = [p for p in params if p.name not in _SHARED]
        own = {f.name for f in cls._method_fields()} - set(_SHARED)
        at = max((i for i, p in enumerate(rest) if p.name in own), default=len(rest) - 1) + 1
        cls.__init__.__signature__ = sig.replace(parameters=[*rest[:at], *shared, *rest[at:]])

    def _learn(self, run, noise):
        """The method's fit, then the model choice (:mod:`anonlab.synth.selection`) on the held-out pairs that
        :func:`anonlab.synth.planning.start_fit` measured before it: post-processing, recorded in
        ``privacy_.details.model_choice``."""
        from dataclasses import replace

        from anonlab.synth.selection import choose

        self._held_out_ = None
        spent = super()._learn(run, noise)
        held, self._held_out_ = self._held_out_, None
        if held is None or spent is None:
            return spent
        choice, self.model_ = choose(
            self.model_, getattr(self, "compression_", None), held, self.encoding_.sizes, self.select_share
        )
        return replace(spent, details={**spent.details, "model_choice": choice.to_dict()})

    def _bar(self, total: int | None, desc: str):
        """A progress bar (:mod:`anonlab.progress`) that names cliques by their columns. Without a ``total``, a
        method with ``rounds`` (AIM) gets a budget-based one: its rounds are capped by that public count (T, default
        16 per column), a round at sigma costing (sigma_0 / sigma)^2 / T of the budget, so the bar shows the share
        of the budget spent and a time left; the last round spends the rest."""
        from anonlab.progress import bar

        names = list(self.encoding_.names)
        if total is None and "rounds" in self.params:
            rounds = int(self.params["rounds"] or 16 * len(names))
            fmt = "{desc}: {percentage:3.0f}% of the budget |{bar}| {elapsed}<{remaining}{postfix}"
            return _CliqueBar(
                bar(rounds, desc=desc, enabled=self.progress, bar_format=fmt), names, budget=True
            )
        return _CliqueBar(bar(total, desc=desc, enabled=self.progress), names)

    def _with_discovery(self, measurements: list[Measurement]) -> list[Measurement]:
        """The one-way ``measurements`` with the domain discovery's noisy category counts combined in, where the
        fit discovered its domains (:func:`anonlab.synth.domains.domain_measurement`; inverse-variance weighted,
        :func:`anonlab.synth.estimation.combine`): the discovery's share of the budget then also measures the
        categories' shares, instead of only naming them. Post-processing of DP outputs."""
        from anonlab.synth.estimation import combine

        priors = getattr(self, "_domain_measurements_", None) or {}
        return [
            combine(m, priors[m.clique[0]]) if len(m.clique) == 1 and m.clique[0] in priors else m
            for m in measurements
        ]

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        codes = self.model_.sample(n, rng)
        comp = getattr(self, "compression_", None)  # rare codes merged after the 1-way measurements
        return comp.expand(codes, rng) if comp is not None and comp.active else codes

    @property
    def n_estimate_(self) -> float:
        return self.model_.total

    def _spent(self, budget, rho: float, noise, details: dict[str, Any]) -> PrivacySpent:
        """What a marginal-based fit spent: the charged budget, over add/remove-one-record neighbours, with noise
        and selection through anonlab.privacy.mechanisms. The held-out pairs of the model choice leave ``details``
        here (kept for :meth:`_learn`, never published)."""
        details = dict(details)
        self._held_out_ = details.pop("_held_out", None)
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
        comp = getattr(self, "compression_", None)
        if comp is not None and comp.active:
            state["compression"] = comp.to_dict()
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
        from anonlab.synth.compression import Compression  # models saved before it have none

        self.compression_ = Compression.from_dict(state.get("compression"), len(tree.sizes))


class _CliqueBar:
    """A progress bar whose ``set_postfix(clique="5,7", sigma="53")`` shows column names (``age+sex``), and, with
    ``budget``, whose ``update()`` advances by the round's share of the budget read from its sigma: a round at
    sigma costs (sigma_0 / sigma)^2 rounds at the starting sigma_0. Terminal output only (public figures)."""

    def __init__(self, bar, names: list[str], budget: bool = False):
        self.bar, self.names, self.budget = bar, names, budget
        self.rounds, self.sigma0, self._pending = 0, None, False

    def update(self, n: int = 1) -> None:
        if not self.budget:
            self.bar.update(n)
            return
        self.rounds += n
        self._pending = True  # advanced in set_postfix, which says the round's sigma

    def set_postfix(self, clique: str | None = None, sigma: str | None = None, **kw) -> None:
        step = 1.0
        try:
            s = float(sigma) if sigma is not None else None
        except ValueError:
            s = None
        if s and s > 0:
            self.sigma0 = self.sigma0 or s
            step = (self.sigma0 / s) ** 2
        if self.budget and self._pending:
            self.bar.update(min(step, max(0.0, self.bar.total - self.bar.n)))
            self._pending = False
        text = [f"round {self.rounds}"] if self.budget else []
        if clique is not None:
            cols = [
                self.names[int(i)] if i.strip().isdigit() and int(i) < len(self.names) else i
                for i in clique.split(",")
            ]
            text.append("+".join(cols))
        if sigma is not None:
            text.append(f"sigma {sigma}")
        text += [f"{k} {v}" for k, v in kw.items()]
        self.bar.set_postfix_str(", ".join(text))

    def close(self) -> None:
        if self.budget and self._pending:
            self.bar.update(1)
        if self.budget and self.bar.total and self.bar.n < self.bar.total:
            self.bar.update(self.bar.total - self.bar.n)  # the last round spends what is left
        self.bar.close()
