"""The one verdict rule every evaluation and study report uses, written down in one place.

Utility verdicts are ``good`` / ``fair`` / ``poor``; risk verdicts are ``low`` / ``moderate`` / ``high``; a figure
that could not be computed gets ``n/a`` with the reason. Every verdict carries its reason and the figures it was
judged against, so a reader can disagree with it.

**Utility is judged relative to baselines computed in the same run, on the same binning and the same column sets**
(:mod:`anonlab.evaluation.metrics.baselines`), never against absolute thresholds:

- *independent columns*: each column resampled independently from the real table. It keeps every 1-way marginal
  and loses every relation between columns: what a release is worth if it learned nothing joint;
- *DP 1-way baseline* (only for a differentially private release whose epsilon is known): the same budget spent on
  noisy 1-way marginals only, columns then sampled independently: what the budget buys with no joint modelling;
- *sampling floor*: the holdout (real records the release never saw) against the real table: the error a second
  real sample of the population already has, below which no release can be told apart from real data.

For an error (a 2- or 3-way marginal's total variation distance, an association difference) the *gap* is
``independent - floor`` and the release's *closure* is ``(independent - value) / gap``; for a score (TSTR, the
SDMetrics quality score) the same with the signs turned (``(value - independent) / (floor - independent)``, where
the floor of TSTR is the model trained on real records, and its independent-columns baseline the score of a
constant prediction on the same test records, what a model of columns that carry no information about the target
is worth in expectation). Then:

- ``good``: the release closes at least half of the gap (closure >= 0.5);
- ``fair``: it closes less than half but is no worse than independent columns (0 <= closure < 0.5);
- ``poor``: it is worse than independent columns (closure < 0), or, for a DP release, worse than the DP 1-way
  baseline: a release worse than independent columns never gets ``good`` or ``fair``.

Where the gap is smaller than ``MIN_GAP`` (the real columns are nearly independent on this figure, or the table is
so small that the sampling floor is not below independent columns) the figure cannot separate a release from
independent columns: the verdict is ``poor`` when the release is worse than both the independent baseline and the
floor, else ``n/a`` with that reason (never ``good`` or ``fair``).

1-way marginals are the exception: independent columns keep them, so that baseline *is* the sampling floor there.
A 1-way figure is judged by its excess over the floor: ``good`` within ``ONE_WAY_GOOD``, ``fair`` within
``ONE_WAY_FAIR``, ``poor`` beyond; the DP 1-way baseline is shown beside it. Separately, any column whose own 1-way
TV exceeds ``COLLAPSE_TV`` (and twice that column's sampling floor, so that sampling noise on a tiny table is not
flagged) is flagged with a warning: a column the method collapsed or smeared.

**Risk figures carry their 95% interval, and a risk verdict is taken at the interval's pessimistic end** (its
upper end: the largest risk the measurement cannot rule out), never at the point estimate alone. A membership AUC
is ``moderate`` when its interval reaches ``AUC_MODERATE`` and ``high`` when it reaches ``AUC_HIGH``; the share of
released records closer to training than to holdout records likewise with ``SHARE_MODERATE`` / ``SHARE_HIGH``; an
anonymeter risk with ``ANON_MODERATE`` / ``ANON_HIGH``. So "0.000 [0.000, 0.214]" is ``high`` when high starts at
0.2: the attack measured nothing, but on that sample it cannot exclude a risk of 0.214 (more attacks or records
narrow the interval). On small holdouts (fewer than ``SMALL_HOLDOUT`` records) the membership and anonymeter
attacks are repeated over ``REPEATS`` seeds, the spread is reported, and the verdict is taken at the pessimistic
end of the spread too (the repetition with the highest risk, and the highest upper end).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Verdict",
    "RULE",
    "RISK_RULE",
    "UTILITY_RULE",
    "MIN_GAP",
    "GOOD_CLOSURE",
    "ONE_WAY_GOOD",
    "ONE_WAY_FAIR",
    "COLLAPSE_TV",
    "SMALL_HOLDOUT",
    "REPEATS",
    "AUC_MODERATE",
    "AUC_HIGH",
    "SHARE_MODERATE",
    "SHARE_HIGH",
    "ANON_MODERATE",
    "ANON_HIGH",
    "closure",
    "relative_verdict",
    "one_way_verdict",
    "not_computed",
    "auc_verdict",
    "share_verdict",
    "anonymeter_verdict",
    "k_verdict",
    "copy_verdict",
]

GOOD_CLOSURE = 0.5
MIN_GAP = 0.01
ONE_WAY_GOOD, ONE_WAY_FAIR = 0.03, 0.10
COLLAPSE_TV = 0.2
SMALL_HOLDOUT = 1000
REPEATS = 5
AUC_MODERATE, AUC_HIGH = 0.55, 0.60
SHARE_MODERATE, SHARE_HIGH = 0.55, 0.60
ANON_MODERATE, ANON_HIGH = 0.05, 0.20
K_HIGH_RISK, K_MODERATE_RISK = 5, 10

#: The utility half of the rule in a few sentences, shown in every report.
UTILITY_RULE = (
    "Utility is judged against baselines computed in the same run on the same binning: independent columns "
    "(each column resampled independently from the real table), for a DP release with a known epsilon a DP "
    "baseline that spends the same budget on 1-way marginals only, and the sampling floor (holdout against the "
    f"real table). GOOD: the release closes at least {GOOD_CLOSURE:.0%} of the gap between independent columns "
    "and the floor; FAIR: less, but no worse than independent columns; POOR: worse than independent columns (or "
    "than the DP 1-way baseline). 1-way marginals, which independent columns keep, are judged by their excess "
    f"over the floor (GOOD <= {ONE_WAY_GOOD}, FAIR <= {ONE_WAY_FAIR}); a column whose 1-way TV exceeds "
    f"{COLLAPSE_TV} is flagged."
)

#: The risk half of the rule in a few sentences, shown in every report.
RISK_RULE = (
    "Risk figures carry their 95% interval and the verdict is taken at its pessimistic (upper) end: the largest "
    "risk the measurement cannot rule out, not the point estimate. Membership AUC: MODERATE when the interval "
    f"reaches {AUC_MODERATE}, HIGH at {AUC_HIGH} (0.5 is guessing); share of released records closer to training "
    f"than to holdout records: MODERATE at {SHARE_MODERATE}, HIGH at {SHARE_HIGH} (0.5 is none); anonymeter "
    f"risks: MODERATE at {ANON_MODERATE}, HIGH at {ANON_HIGH}. A wide interval can therefore give MODERATE or "
    "HIGH to a figure measured near zero: the attack could not rule the risk out on so few records. On holdouts "
    f"under {SMALL_HOLDOUT:,} records the attacks are repeated over {REPEATS} seeds and the verdict takes the "
    "pessimistic end of the spread (the repetition with the highest risk)."
)

#: The rule in a few lines, shown in every report.
RULE = f"{UTILITY_RULE} {RISK_RULE}"


@dataclass(frozen=True)
class Verdict:
    """``metric``: what was measured; ``value``: the figure as printed; ``verdict``; ``reason``: why;
    ``baselines``: the figures it was judged against (name -> value), shown beside it; ``figure`` and
    ``interval``: the figure as a number and its 95% interval, where it has them (for tables and notebooks; the
    JSON report carries them in its per-part sections)."""

    metric: str
    value: str
    verdict: str
    reason: str
    kind: str  # "utility" or "risk"
    baselines: dict[str, float | None] = field(default_factory=dict)
    figure: float | None = None
    interval: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["figure"], d["interval"]
        d["baselines"] = {k: _finite(v) for k, v in self.baselines.items()}
        return d

    def line(self) -> str:
        return f"{self.metric:<42} {self.value:<24} {self.verdict.upper():<9} {self.reason}"


def _finite(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _ok(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def not_computed(metric: str, reason: str, kind: str = "utility") -> Verdict:
    """The verdict of a figure that could not be computed: ``n/a``, with the reason."""
    return Verdict(metric, "n/a", "n/a", f"not computed: {reason}", kind)


def closure(value: float, independent: float, floor: float, higher_is_better: bool = False) -> float:
    """The share of the gap between the independent-columns baseline and the sampling floor that ``value`` closes
    (1 at the floor, 0 at independent columns, negative when worse than independent columns)."""
    if higher_is_better:
        value, independent, floor = -value, -independent, -floor
    return (independent - value) / max(independent - floor, MIN_GAP)


def relative_verdict(
    metric: str,
    value: float | None,
    *,
    independent: float | None,
    floor: float | None,
    dp_1way: float | None = None,
    higher_is_better: bool = False,
    value_text: str | None = None,
    floor_name: str = "sampling floor",
) -> Verdict:
    """The verdict of one utility figure under the rule of this module (see the module docstring).

    ``floor_name`` names the floor where it is not the holdout (TSTR's floor is the model trained on real records).
    """
    base = {"independent columns": independent, floor_name: floor}
    if dp_1way is not None:
        base["DP 1-way baseline"] = dp_1way
    if not _ok(value):
        return Verdict(metric, "n/a", "n/a", "not computed: the figure is undefined here", "utility", base)
    text = value_text or f"{value:.3f}"
    if not (_ok(independent) and _ok(floor)):
        return Verdict(
            metric,
            text,
            "n/a",
            "not judged: a baseline could not be computed in this run",
            "utility",
            base,
            value,
        )
    c = closure(value, independent, floor, higher_is_better)
    worse = (lambda a, b: a < b) if higher_is_better else (lambda a, b: a > b)
    beside = f"independent {independent:.3f}, {floor_name} {floor:.3f}" + (
        f", DP 1-way {dp_1way:.3f}" if _ok(dp_1way) else ""
    )
    gap = (floor - independent) if higher_is_better else (independent - floor)
    if gap < MIN_GAP:
        if worse(value, independent) and worse(value, floor):
            return Verdict(
                metric,
                text,
                "poor",
                f"worse than independent columns and the floor; {beside}",
                "utility",
                base,
                value,
            )
        return Verdict(
            metric,
            text,
            "n/a",
            f"not judged: the {floor_name} is not clearly better than independent columns here (too few rows, or "
            f"columns nearly independent), so this figure cannot separate a release from them; {beside}",
            "utility",
            base,
            value,
        )
    if c < 0:
        v, why = "poor", "worse than independent columns"
    elif _ok(dp_1way) and worse(value, dp_1way):
        v, why = "poor", "worse than the DP 1-way baseline at the same budget"
    elif c >= 1:
        v, why = (
            "good",
            f"at or beyond the sampling floor, as close as a second real sample (closes {c:.0%} of the gap)",
        )
    elif c >= GOOD_CLOSURE:
        v, why = "good", f"closes {c:.0%} of the gap"
    else:
        v, why = "fair", f"closes {c:.0%} of the gap (good from {GOOD_CLOSURE:.0%})"
    return Verdict(metric, text, v, f"{why}; {beside}", "utility", base, value)


def one_way_verdict(
    value: float | None,
    *,
    floor: float | None,
    dp_1way: float | None = None,
    worst: tuple[str, ...] = (),
    max_tvd: float | None = None,
) -> Verdict:
    """1-way marginals: judged by the excess over the sampling floor (independent columns keep them)."""
    metric = "1-way marginal TVD (mean)"
    base = {"sampling floor": floor}
    if dp_1way is not None:
        base["DP 1-way baseline"] = dp_1way
    if not _ok(value):
        return Verdict(metric, "n/a", "n/a", "not computed: the figure is undefined here", "utility", base)
    if not _ok(floor):
        return Verdict(
            metric,
            f"{value:.3f}",
            "n/a",
            "not judged: the floor could not be computed",
            "utility",
            base,
            value,
        )
    excess = value - floor
    v = "good" if excess <= ONE_WAY_GOOD else "fair" if excess <= ONE_WAY_FAIR else "poor"
    why = (
        f"{excess:+.3f} over the floor {floor:.3f} (good <= {ONE_WAY_GOOD}, fair <= {ONE_WAY_FAIR})"
        + (f"; DP 1-way {dp_1way:.3f}" if _ok(dp_1way) else "")
        + (f"; worst {'|'.join(worst)} {max_tvd:.3f}" if worst and _ok(max_tvd) else "")
    )
    return Verdict(metric, f"{value:.3f}", v, why, "utility", base, value)


def _spread(spread: tuple[float, float] | None, n: int | None) -> str:
    if spread is None or not n or n < 2:
        return ""
    return f"; over {n} seeds {spread[0]:.3f}-{spread[1]:.3f}, judged at the pessimistic end"


def _pessimistic(
    value: float,
    ci: tuple[float, float],
    spread: tuple[float, float] | None,
    moderate: float,
    high: float,
) -> tuple[str, str]:
    """The verdict at the pessimistic end (the interval's upper end, or the spread's, whichever is higher) and
    why, in words."""
    top = max(ci[1], spread[1] if spread is not None else ci[1])
    v = "high" if top >= high else "moderate" if top >= moderate else "low"
    limits = f"moderate from {moderate:g}, high from {high:g}"
    if v == "low":
        return v, f"even the interval's upper end {top:.3f} is below {moderate:g} ({limits})"
    level = high if v == "high" else moderate
    if value >= level:
        return v, f"the figure {value:.3f} is itself at or above {level:g} ({limits})"
    return v, (
        f"not ruled out: the figure is {value:.3f} but its interval reaches {top:.3f} ({limits}); more records "
        "or attacks narrow the interval"
    )


def auc_verdict(
    name: str,
    auc: float,
    ci: tuple[float, float],
    tpr: float,
    spread: tuple[float, float] | None = None,
    repeats: int | None = None,
) -> Verdict:
    """Membership AUC, judged at the pessimistic end of its interval (and of the spread over ``repeats``):
    ``high`` when the upper end reaches ``AUC_HIGH``, ``moderate`` when it reaches ``AUC_MODERATE``, ``low``
    otherwise. With repeats, ``auc`` and ``ci`` are the most pessimistic run's."""
    if not (_ok(auc) and _ok(ci[0]) and _ok(ci[1])):
        return not_computed(f"membership AUC ({name})", "the AUC is undefined here", "risk")
    v, why = _pessimistic(auc, ci, spread if repeats and repeats > 1 else None, AUC_MODERATE, AUC_HIGH)
    return Verdict(
        f"membership AUC ({name})",
        f"{auc:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]",
        v,
        f"{why}; 0.5 is guessing; TPR at 1% FPR {tpr:.3f}{_spread(spread, repeats)}",
        "risk",
        figure=auc,
        interval=(ci[0], ci[1]),
    )


def share_verdict(share: float, ci: tuple[float, float], expected: float) -> Verdict:
    """The share of released records closer to a training than to a holdout record, at the pessimistic end of
    its interval: ``high`` from ``SHARE_HIGH``, ``moderate`` from ``SHARE_MODERATE`` (``expected``, 0.5, for a
    release that never saw its training records)."""
    if not (_ok(share) and _ok(ci[0]) and _ok(ci[1])):
        return not_computed("DCR share closer to train", "the share is undefined here", "risk")
    v, why = _pessimistic(share, ci, None, SHARE_MODERATE, SHARE_HIGH)
    return Verdict(
        "DCR share closer to train",
        f"{share:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]",
        v,
        f"{why}; {expected:.2f} for a release that never saw its training records",
        "risk",
        figure=share,
        interval=(ci[0], ci[1]),
    )


def copy_verdict(share: float, holdout_share: float | None, n: int) -> Verdict:
    if holdout_share is None:
        v = "high" if share > 0.01 else "low"
        why = "no holdout to compare with; high above 1%"
    else:
        margin = (
            1.96 * ((holdout_share * (1 - holdout_share) + share * (1 - share)) / max(n, 1)) ** 0.5 + 0.005
        )
        v = "high" if share > holdout_share + margin else "low"
        why = f"holdout records are hit {holdout_share:.3f} by chance"
    return Verdict("exact copies of training records", f"{share:.3f}", v, why, "risk", figure=share)


def anonymeter_verdict(
    name: str,
    value: float | None,
    ci: tuple[float, float] | None,
    error: str | None,
    spread: tuple[float, float] | None = None,
    repeats: int | None = None,
) -> Verdict:
    """An anonymeter risk, judged at the pessimistic end of its interval (and of the spread over ``repeats``):
    ``high`` when the upper end reaches ``ANON_HIGH``, ``moderate`` when it reaches ``ANON_MODERATE``."""
    label = f"anonymeter {name.replace('_', ' ')} risk"
    if value is None or ci is None or not _ok(value) or not (_ok(ci[0]) and _ok(ci[1])):
        return Verdict(label, "n/a", "n/a", f"not computed: {error or 'not run'}", "risk")
    v, why = _pessimistic(value, ci, spread if repeats and repeats > 1 else None, ANON_MODERATE, ANON_HIGH)
    return Verdict(
        label,
        f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]",
        v,
        f"{why}; risk beyond the same attack on holdout records" + _spread(spread, repeats),
        "risk",
        figure=value,
        interval=(ci[0], ci[1]),
    )


def k_verdict(k: int, prosecutor_highest: float, uniques: int) -> Verdict:
    v = "high" if k < K_HIGH_RISK else "moderate" if k < K_MODERATE_RISK else "low"
    return Verdict(
        "k-anonymity (assess)",
        f"k={k}, max risk {prosecutor_highest:.3f}",
        v,
        f"{uniques} sample uniques; high below k={K_HIGH_RISK}, moderate below {K_MODERATE_RISK}",
        "risk",
        figure=float(k),
    )
