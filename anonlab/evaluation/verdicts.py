"""Plain-language verdicts on each metric, with the thresholds written down in one place.

Utility verdicts are ``good`` / ``fair`` / ``poor``; risk verdicts are ``low`` / ``moderate`` / ``high``. The
thresholds are conventions (not guarantees) chosen so that an untouched copy of the training data is ``high`` on
every risk and an independent sample from the same population is ``low``; each verdict carries its reason so a
reader can disagree with it. A statistical risk verdict uses the confidence interval: a risk is only called
``moderate`` or ``high`` when its interval excludes "no risk".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "Verdict",
    "TVD_GOOD",
    "TVD_FAIR",
    "tvd_verdict",
    "diff_verdict",
    "ratio_verdict",
    "score_verdict",
    "auc_verdict",
    "share_verdict",
    "anonymeter_verdict",
    "k_verdict",
    "copy_verdict",
]

TVD_GOOD, TVD_FAIR = 0.05, 0.15
DIFF_GOOD, DIFF_FAIR = 0.05, 0.15
RATIO_GOOD, RATIO_FAIR = 0.95, 0.80
SCORE_GOOD, SCORE_FAIR = 0.85, 0.70
AUC_HIGH = 0.60
SHARE_HIGH = 0.60
ANON_MODERATE, ANON_HIGH = 0.05, 0.20
K_HIGH_RISK, K_MODERATE_RISK = 5, 10


@dataclass(frozen=True)
class Verdict:
    """``metric``: what was measured; ``value``: the figure as printed; ``verdict``; ``reason``: why."""

    metric: str
    value: str
    verdict: str
    reason: str
    kind: str  # "utility" or "risk"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        return f"{self.metric:<42} {self.value:<24} {self.verdict.upper():<9} {self.reason}"


def _low_high(value: float, good: float, fair: float, lower_is_better: bool) -> str:
    if lower_is_better:
        return "good" if value <= good else "fair" if value <= fair else "poor"
    return "good" if value >= good else "fair" if value >= fair else "poor"


def tvd_verdict(order: int, mean_tvd: float, worst: tuple[str, ...], max_tvd: float) -> Verdict:
    v = _low_high(mean_tvd, TVD_GOOD, TVD_FAIR, True)
    return Verdict(
        f"{order}-way marginal TVD (mean)",
        f"{mean_tvd:.3f}",
        v,
        f"good <= {TVD_GOOD}, fair <= {TVD_FAIR}; worst {'|'.join(worst)} {max_tvd:.3f}",
        "utility",
    )


def diff_verdict(kind: str, mean_abs: float | None) -> Verdict:
    name = {"pearson": "correlation", "cramers_v": "Cramer's V", "theils_u": "Theil's U"}[kind]
    if mean_abs is None:
        return Verdict(
            f"{name} difference (mean abs)", "n/a", "n/a", "fewer than two such columns", "utility"
        )
    v = _low_high(mean_abs, DIFF_GOOD, DIFF_FAIR, True)
    return Verdict(
        f"{name} difference (mean abs)",
        f"{mean_abs:.3f}",
        v,
        f"good <= {DIFF_GOOD}, fair <= {DIFF_FAIR}",
        "utility",
    )


def ratio_verdict(model: str, metric: str, real: float, release: float, ratio: float | None) -> Verdict:
    if ratio is None:
        return Verdict(f"TSTR {model}", f"{release:.3f}", "n/a", "the real-data model scores 0", "utility")
    v = _low_high(ratio, RATIO_GOOD, RATIO_FAIR, False)
    return Verdict(
        f"TSTR {model} ({metric})",
        f"{release:.3f} vs {real:.3f} real",
        v,
        f"ratio {ratio:.2f}; good >= {RATIO_GOOD}, fair >= {RATIO_FAIR}",
        "utility",
    )


def score_verdict(score: float | None, error: str | None) -> Verdict:
    if score is None:
        return Verdict("SDMetrics quality score", "n/a", "n/a", error or "not computed", "utility")
    v = _low_high(score, SCORE_GOOD, SCORE_FAIR, False)
    return Verdict(
        "SDMetrics quality score", f"{score:.3f}", v, f"good >= {SCORE_GOOD}, fair >= {SCORE_FAIR}", "utility"
    )


def auc_verdict(name: str, auc: float, ci: tuple[float, float], tpr: float) -> Verdict:
    if ci[0] > 0.5 and auc >= AUC_HIGH:
        v, why = "high", f"AUC >= {AUC_HIGH} and its interval excludes 0.5"
    elif ci[0] > 0.5:
        v, why = "moderate", "interval excludes 0.5 (guessing)"
    else:
        v, why = "low", "no better than guessing within the interval"
    return Verdict(
        f"membership AUC ({name})",
        f"{auc:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]",
        v,
        f"{why}; TPR at 1% FPR {tpr:.3f}",
        "risk",
    )


def share_verdict(share: float, ci: tuple[float, float], expected: float) -> Verdict:
    if ci[0] > expected and share >= SHARE_HIGH:
        v = "high"
    elif ci[0] > expected:
        v = "moderate"
    else:
        v = "low"
    return Verdict(
        "DCR share closer to train",
        f"{share:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]",
        v,
        f"{expected:.2f} for a release that never saw its training records; high >= {SHARE_HIGH}",
        "risk",
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
    return Verdict("exact copies of training records", f"{share:.3f}", v, why, "risk")


def anonymeter_verdict(
    name: str, value: float | None, ci: tuple[float, float] | None, error: str | None
) -> Verdict:
    label = f"anonymeter {name.replace('_', ' ')} risk"
    if value is None or ci is None:
        return Verdict(label, "n/a", "n/a", error or "not run", "risk")
    if ci[0] <= 0 or value < ANON_MODERATE:
        v = "low"
    elif value < ANON_HIGH:
        v = "moderate"
    else:
        v = "high"
    return Verdict(
        label,
        f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]",
        v,
        f"beyond the holdout baseline; moderate >= {ANON_MODERATE}, high >= {ANON_HIGH}",
        "risk",
    )


def k_verdict(k: int, prosecutor_highest: float, uniques: int) -> Verdict:
    v = "high" if k < K_HIGH_RISK else "moderate" if k < K_MODERATE_RISK else "low"
    return Verdict(
        "k-anonymity (assess)",
        f"k={k}, max risk {prosecutor_highest:.3f}",
        v,
        f"{uniques} sample uniques; high below k={K_HIGH_RISK}, moderate below {K_MODERATE_RISK}",
        "risk",
    )
