"""The privacy budget of one fit, what the fit spent, and how its parts add up.

:class:`Budget` is what a DP fit may spend ((epsilon, delta), and the zCDP rho of its tight conversion);
:class:`PrivacySpent` is the record of what it did spend, which the ledger, the sidecar and ``privacy_spent`` carry.
A DP fit can spend on up to four parts before its model (each planned from public facts, charged with the fit):
DP domain discovery (:mod:`anonlab.synth.domains`), quantile cut points (:mod:`anonlab.synth.binning`), densities
inside bins (:mod:`anonlab.synth.density`); the functions here add each part back into the record, so the record
always states the whole budget, itemised.

A leaf of :mod:`anonlab.synth`: it imports no synthesizer.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from typing import Any

from anonlab.errors import PrivacyError

__all__ = [
    "Budget",
    "PrivacySpent",
    "binning_record",
    "require_privacy_ok",
    "with_binning",
    "with_density",
    "with_domains",
]


@dataclass(frozen=True)
class Budget:
    """The privacy budget of one fit: (epsilon, delta)-DP for the whole release.

    epsilon : the privacy-loss bound; smaller is more private and noisier.
    delta : the probability with which the bound may fail; keep it far below 1 / (number of people).
    Gaussian-noise methods work in zCDP: ``rho`` is the largest zCDP budget whose tight conversion
    (Canonne, Kamath, Steinke 2020) stays within (epsilon, delta).
    zcdp_rho : a smaller zCDP budget to use instead of that largest one (what is left for the synthesizer after
        quantile binning took its share); (epsilon, delta) must then be a valid conversion of it.
    """

    epsilon: float
    delta: float
    zcdp_rho: float | None = None

    def __post_init__(self) -> None:
        from anonlab.privacy.accounting import check_delta, check_epsilon

        object.__setattr__(self, "epsilon", check_epsilon(self.epsilon))
        object.__setattr__(self, "delta", check_delta(self.delta))
        if self.zcdp_rho is not None:
            from anonlab.privacy.accounting import zcdp_epsilon

            r = check_epsilon(self.zcdp_rho, "rho")
            if zcdp_epsilon(r, self.delta) > self.epsilon * (1 + 1e-9):
                raise PrivacyError(f"rho {r} does not fit in epsilon {self.epsilon} at delta {self.delta}")
            object.__setattr__(self, "zcdp_rho", r)

    @property
    def rho(self) -> float:
        if self.zcdp_rho is not None:
            return self.zcdp_rho
        from anonlab.privacy.accounting import rho_for

        return float(rho_for(self.epsilon, self.delta))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"epsilon": self.epsilon, "delta": self.delta}
        if self.zcdp_rho is not None:
            out["rho"] = self.zcdp_rho
        return out


@dataclass(frozen=True)
class PrivacySpent:
    """What a fit spent and how: the record the sidecar and the ledger carry.

    ``rho`` is set for zCDP-accounted methods; ``neighbours`` states what "neighbouring datasets" means for the
    guarantee; ``noise`` says where the randomness came from; ``seeded`` whether it was reproducible (then private
    only while the seed stays secret); ``trusted_domains`` whether domains read from the data were used as public;
    ``details`` the method's own record (what it measured, its budget parts).
    """

    epsilon: float
    delta: float
    rho: float | None
    neighbours: str
    noise: str
    seeded: bool
    trusted_domains: bool
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "neighbours": self.neighbours,
            "noise": self.noise,
            "seeded": self.seeded,
            "trusted_domains": self.trusted_domains,
            "details": self.details,
        }

    def __str__(self) -> str:
        rho = f", rho={self.rho:.4g}" if self.rho is not None else ""
        return f"(epsilon={self.epsilon:g}, delta={self.delta:g}){rho}-DP; neighbouring tables: {self.neighbours}"

    def _repr_html_(self) -> str:
        """A notebook's view: the guarantee, then the budget parts when there are several."""
        rows = [
            ("epsilon", f"{self.epsilon:g}"),
            ("delta", f"{self.delta:g}"),
            ("rho (zCDP)", "" if self.rho is None else f"{self.rho:.4g}"),
            ("neighbouring tables", self.neighbours),
            ("noise", self.noise),
            ("seeded", "yes: private only while the seed stays secret" if self.seeded else "no"),
            ("domains read from the data trusted", "yes" if self.trusted_domains else "no"),
        ]
        for part, rec in (self.details.get("budget_parts") or {}).items():
            if isinstance(rec, dict):
                cost = ", ".join(f"{k}={v:.4g}" for k, v in rec.items() if k in ("epsilon", "rho") and v)
                rows.append((f"part: {part}", cost))
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in rows
        )
        return f"<table><caption>privacy spent</caption>{body}</table>"


def require_privacy_ok(spent_rho: float, budget_rho: float) -> None:
    """Internal check: a method's own accounting never exceeds what was charged."""
    if spent_rho > budget_rho * (1 + 1e-9):
        raise PrivacyError(
            f"internal accounting error: spent rho {spent_rho} above the budget's {budget_rho}"
        )


def binning_record(plan: Any, synthesis: Budget, zcdp: bool) -> dict[str, Any]:
    """The two parts of a fit with quantile binning (the cut points' plan, the synthesis), as the ledger entry
    itemises them."""
    return {
        **plan.to_dict(),
        "synthesis": {
            "epsilon": synthesis.epsilon,
            "delta": synthesis.delta,
            "rho": synthesis.rho if zcdp else None,
        },
    }


def with_density(spent: PrivacySpent, dplan: Any) -> PrivacySpent:
    """The synthesis record with the densities' share added back: the whole synthesis budget, itemised."""
    from anonlab.privacy.accounting import zcdp_epsilon

    rho = (spent.rho or 0.0) + dplan.rho
    parts = dict(spent.details.get("budget_parts") or {})
    parts["density"] = dplan.to_dict()
    parts["model"] = {"rho": spent.rho}
    return replace(
        spent,
        rho=rho,
        epsilon=max(spent.epsilon, zcdp_epsilon(rho, spent.delta)) if spent.delta > 0 else spent.epsilon,
        noise=spent.noise + "; densities inside bins: discrete Gaussian from the same noise source",
        details={**spent.details, "budget_parts": parts},
    )


def with_binning(spent: PrivacySpent, budget: Budget, released: dict[str, Any], zcdp: bool) -> PrivacySpent:
    """The fit's record for both parts: the whole budget, with the binning and the synthesis itemised."""
    parts = {
        **(spent.details.get("budget_parts") or {}),
        "binning": {k: v for k, v in released.items() if k != "edges"},
        "synthesis": {"epsilon": spent.epsilon, "delta": spent.delta, "rho": spent.rho},
    }
    return replace(
        spent,
        epsilon=budget.epsilon,
        delta=budget.delta,
        rho=budget.rho if zcdp else None,
        noise=spent.noise + "; cut points: anonlab.privacy.mechanisms.exponential (report-noisy-max)",
        details={**spent.details, "budget_parts": parts, "learned_edges": released["edges"]},
    )


def with_domains(spent: PrivacySpent, budget: Budget, dom: Any, discovered: dict[str, Any]) -> PrivacySpent:
    """The whole fit's record: the discovery itemised beside the rest, the discovered domains as DP outputs."""
    parts = dict(spent.details.get("budget_parts") or {})
    parts.setdefault("synthesis", {"epsilon": spent.epsilon, "delta": spent.delta, "rho": spent.rho})
    parts["domains"] = dom.to_dict()
    return replace(
        spent,
        epsilon=budget.epsilon,
        delta=budget.delta,
        rho=dom.total_rho if dom.total_rho is not None else spent.rho,
        noise=spent.noise + "; domains: thresholded noisy histograms, discrete Gaussian (OpenDP)",
        details={**spent.details, "budget_parts": parts, "discovered_domains": discovered},
    )
