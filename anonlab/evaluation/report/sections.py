"""How a report shows each part of an evaluation: one row per part of :data:`~anonlab.evaluation.parts.TABLE`.

A :class:`Section` has ``text`` (tables and sentences from the part's value) and ``figures`` (its plots). The page
shows, under Utility and under Risk, the text of each part in table order, then the figures, so every part is
rendered the same way. Nothing is recomputed: everything comes from the part's value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from anonlab.evaluation.report.html import esc, figure, table

if TYPE_CHECKING:
    from anonlab.evaluation.result import Evaluation

__all__ = ["Section", "SECTIONS"]


@dataclass(frozen=True)
class Section:
    """``text(ev, value)`` and ``figures(ev)`` return HTML; both are called only for a part with a value."""

    text: Callable[[Evaluation, Any], str]
    figures: Callable[[Evaluation], list[str]] | None = None


def _marginals(ev: Evaluation, ms) -> str:
    return table(
        ["marginals", "sets measured", "of", "mean TVD", "max TVD", "worst set"],
        [[f"{m.order}-way", m.n_sets, m.n_possible, m.mean_tvd, m.max_tvd, " x ".join(m.worst)] for m in ms],
    )


def _marginal_figures(ev: Evaluation) -> list[str]:
    from anonlab.evaluation.report import plots

    return [
        figure(
            plots.marginal_bars(ev),
            "worst 2-way marginals",
            "The pairs of columns whose joint distribution the release gets most wrong (total variation "
            "distance, 0 identical to 1 disjoint).",
        )
    ]


def _association_figures(ev: Evaluation) -> list[str]:
    from anonlab.evaluation.report import plots

    maps = [
        figure(png, f"{name} difference heat map", f"{name}: release minus real.")
        for name, png in plots.association_heatmaps(ev)
    ]
    if not maps:
        return []
    return [
        f"<div class='figrow'>{''.join(maps)}</div>",
        "<p class='small'>Each cell: the association of a pair of columns in the release minus in the real data "
        "(red: stronger in the release, blue: weaker, white: kept).</p>",
    ]


def _tstr(ev: Evaluation, t) -> str:
    return (
        f"<p>Train on release, test on real: target <code>{esc(t.target)}</code> ({esc(t.task)}), "
        f"tested on {t.n_test:,} records of the {esc(t.test_set)}.</p>\n"
    ) + table(
        [
            "model",
            "metric",
            "trained on real",
            "trained on release",
            "ratio",
            "accuracy real",
            "accuracy release",
        ],
        [
            [m.model, m.metric, m.real, m.release, m.ratio, m.accuracy_real, m.accuracy_release]
            for m in t.models
        ],
    )


def _quality(ev: Evaluation, q) -> str:
    return table(
        ["SDMetrics QualityReport", "value"],
        [
            ["overall score", q.score],
            ["column shapes", q.column_shapes],
            ["column pair trends", q.column_pair_trends],
            ["rows per table", q.rows],
            *([["error", q.error]] if q.error else []),
        ],
    )


def _interval(ci) -> str | None:
    return None if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _dcr(ev: Evaluation, d) -> str:
    return table(
        ["distance to closest record", "value"],
        [
            ["released records measured", d.n_release],
            ["exact copies of training records", d.exact_copy_share],
            ["holdout records hit exactly (chance level)", d.holdout_copy_share],
            ["DCR to train, 5th percentile", d.dcr_train_p5],
            ["DCR to train, median", d.dcr_train_median],
            ["DCR to holdout, 5th percentile", d.dcr_holdout_p5],
            ["nearest-neighbour distance ratio, 5th percentile", d.nndr_train_p5],
            ["share closer to train than holdout", d.train_share],
            ["  95% interval", _interval(d.train_share_ci)],
            ["equal-size train / holdout sets", d.compared_rows],
        ],
    )


def _membership(ev: Evaluation, m) -> str:
    return (
        f"<p>Membership inference: {m.n_members:,} training records (members) against "
        f"{m.n_non_members:,} holdout records (non-members); the density attack's population "
        f"reference is {m.n_reference:,} other holdout records.</p>\n"
    ) + table(
        ["attack", "AUC", "95% interval", "TPR at 1% FPR", "advantage"],
        [[a.name, a.auc, _interval(a.auc_ci), a.tpr_at_1pct_fpr, a.advantage] for a in m.attacks],
    )


def _anonymeter(ev: Evaluation, a) -> str:
    # the part's note already states the samples, the bounds and the repetitions: the table only
    return table(
        ["attack", "risk", "95% interval", "success on train", "on holdout", "random guess", "error"],
        [
            [r.name, r.value, _interval(r.ci), r.attack_rate, r.control_rate, r.baseline_rate, r.error or ""]
            for r in a.risks
        ],
    )


def _assess(ev: Evaluation, s: dict[str, Any]) -> str:
    pr = s.get("prosecutor", {})
    return table(
        ["k-anonymity of the release as published (assess)", "value"],
        [
            ["quasi-identifiers", ", ".join(s.get("quasi", []))],
            ["equivalence classes", s.get("classes")],
            ["k (smallest class)", s.get("k")],
            ["sample uniques", s.get("sample_uniques")],
            ["prosecutor risk: highest", pr.get("highest")],
            ["prosecutor risk: average", pr.get("average")],
            ["records at risk", pr.get("records_at_risk")],
        ],
    )


#: Part name -> how a report shows it (every part of :data:`~anonlab.evaluation.parts.TABLE` has one).
SECTIONS: dict[str, Section] = {
    "marginals": Section(_marginals, _marginal_figures),
    "associations": Section(lambda ev, value: "", _association_figures),
    "tstr": Section(_tstr),
    "quality": Section(_quality),
    "dcr": Section(_dcr),
    "membership": Section(_membership),
    "anonymeter": Section(_anonymeter),
    "assess": Section(_assess),
}
