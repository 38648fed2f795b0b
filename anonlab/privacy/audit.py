"""Empirical privacy audits: a statistical lower bound on the privacy loss a mechanism really has.

Run a mechanism many times on two neighbouring datasets D and D', and for an event S (an output above a threshold,
a particular index chosen) count how often it happens under each. If the mechanism is (epsilon, delta)-DP then
``P[M(D) in S] <= exp(epsilon) P[M(D') in S] + delta`` for every S, so

    epsilon >= log((P[M(D) in S] - delta) / P[M(D') in S]).

Replacing the two probabilities by one-sided Clopper-Pearson bounds (the lower bound in the numerator, the upper
bound in the denominator) gives a lower bound on the true epsilon that holds with probability at least
``1 - alpha``, after a Bonferroni correction over every event and direction tried. An audit *passes* when this
lower bound does not exceed the claimed epsilon; a mechanism whose noise is smaller than its claimed cost implies
(for example a scale off by a factor of 2) is caught with enough trials.

An audit can only refute a claim, never prove one: passing means no violation was found at this sample size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from anonlab.errors import UsageError

__all__ = ["AuditResult", "clopper_pearson", "audit_outputs", "threshold_events", "index_events"]

Event = tuple[str, Callable[[np.ndarray], np.ndarray]]


@dataclass(frozen=True)
class AuditResult:
    """The outcome of an empirical audit.

    epsilon_lower : with probability >= 1 - alpha, the mechanism's true epsilon (at ``delta``) is at least this.
    claimed_epsilon : what the mechanism's cost says.
    event : the event (and direction) that gave the largest bound.
    """

    epsilon_lower: float
    claimed_epsilon: float
    delta: float
    event: str
    trials: int
    alpha: float

    @property
    def passed(self) -> bool:
        """No evidence that the true privacy loss exceeds the claim."""
        return self.epsilon_lower <= self.claimed_epsilon

    def to_dict(self) -> dict[str, Any]:
        return {
            "epsilon_lower": self.epsilon_lower,
            "claimed_epsilon": self.claimed_epsilon,
            "delta": self.delta,
            "event": self.event,
            "trials": self.trials,
            "alpha": self.alpha,
            "passed": self.passed,
        }


def clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    """One-sided Clopper-Pearson bounds for a binomial proportion: P(p < lower) <= alpha, P(p > upper) <= alpha."""
    from scipy.stats import beta

    if n < 1 or not 0 <= k <= n:
        raise UsageError(f"clopper_pearson needs 0 <= k <= n and n >= 1, got k={k}, n={n}")
    lower = 0.0 if k == 0 else float(beta.ppf(alpha, k, n - k + 1))
    upper = 1.0 if k == n else float(beta.ppf(1 - alpha, k + 1, n - k))
    return lower, upper


def threshold_events(thresholds: Sequence[float]) -> list[Event]:
    """Events ``output >= t`` for each threshold (the audit also tries each event's complement)."""
    return [(f"output >= {t:g}", _at_least(t)) for t in thresholds]


def index_events(n: int) -> list[Event]:
    """Events ``chosen index == i`` for a selection among ``n`` candidates."""
    return [(f"index == {i}", _equal_to(i)) for i in range(n)]


def _at_least(t: float) -> Callable[[np.ndarray], np.ndarray]:
    def event(x: np.ndarray) -> np.ndarray:
        return np.asarray(x) >= t

    return event


def _equal_to(i: int) -> Callable[[np.ndarray], np.ndarray]:
    def event(x: np.ndarray) -> np.ndarray:
        return np.asarray(x) == i

    return event


def audit_outputs(
    out_a: np.ndarray,
    out_b: np.ndarray,
    events: Sequence[Event],
    *,
    claimed_epsilon: float,
    delta: float = 0.0,
    alpha: float = 1e-3,
) -> AuditResult:
    """Lower-bound the privacy loss from outputs on neighbouring datasets D (``out_a``) and D' (``out_b``).

    Each event is tried as given and complemented, in both directions (D against D' and D' against D); the
    Bonferroni-corrected confidence is ``1 - alpha`` for the whole audit.
    """
    a = np.asarray(out_a)
    b = np.asarray(out_b)
    if len(a) == 0 or len(b) == 0:
        raise UsageError("an audit needs outputs from both datasets")
    tests = 4 * len(events)
    per = alpha / (2 * tests)  # two bounds per test
    best, best_name = -math.inf, "none"
    for name, ev in events:
        in_a = np.asarray(ev(a), dtype=bool)
        in_b = np.asarray(ev(b), dtype=bool)
        counts = {"": (int(in_a.sum()), int(in_b.sum())), "not ": (int((~in_a).sum()), int((~in_b).sum()))}
        for neg, (ka, kb) in counts.items():
            for direction, (k1, n1, k2, n2) in {
                "D vs D'": (ka, len(a), kb, len(b)),
                "D' vs D": (kb, len(b), ka, len(a)),
            }.items():
                lo, _ = clopper_pearson(k1, n1, per)
                _, hi = clopper_pearson(k2, n2, per)
                num = lo - delta
                if num <= 0 or hi <= 0:
                    continue
                eps = math.log(num / hi)
                if eps > best:
                    best, best_name = eps, f"{neg}{name} ({direction})"
    return AuditResult(
        max(best, 0.0), float(claimed_epsilon), float(delta), best_name, min(len(a), len(b)), alpha
    )
