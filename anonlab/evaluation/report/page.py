"""Self-contained HTML reports: one file, inline CSS, plots embedded as base64 PNG, no scripts, no links out.

:func:`evaluation_html` renders one :class:`~anonlab.evaluation.result.Evaluation`; :func:`study_html` renders a
study (the frontier, the summary table of every release, then each release's section). Each part of an evaluation
is shown by its row of :data:`~anonlab.evaluation.report.sections.SECTIONS`, in the order of the parts' table.
:func:`evaluation_summary_html` and :func:`study_summary_html` are the short forms a notebook displays (no
figures). Everything shown comes from the result objects; nothing is recomputed here. Every text from the data
(column names, labels) is escaped.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from anonlab.evaluation.report.html import NOTEBOOK_CSS, esc, fmt, guide, img, page, table

if TYPE_CHECKING:
    from anonlab.evaluation.result import Evaluation
    from anonlab.evaluation.study import StudyResult

__all__ = [
    "evaluation_html",
    "study_html",
    "evaluation_section",
    "evaluation_summary_html",
    "study_summary_html",
]


def _baselines_text(b: dict[str, float | None]) -> str:
    return "; ".join(f"{k} {fmt(v)}" for k, v in b.items()) if b else ""


def _verdict_table(ev: Evaluation) -> str:
    rows = [
        [v.kind, v.metric, v.value, _baselines_text(v.baselines), v.verdict, v.reason] for v in ev.verdicts
    ]
    classes = [["", "", "", "", v.verdict, ""] for v in ev.verdicts]
    return table(["kind", "metric", "value", "baselines (same run)", "verdict", "why"], rows, classes)


def _privacy(p: dict[str, Any] | None) -> str:
    if not p:
        return "<p>No formal privacy guarantee was reported for this release (none was spent or claimed).</p>"
    return table(
        ["privacy parameter", "value"],
        [[k, json.dumps(v) if isinstance(v, dict | list) else v] for k, v in p.items()],
    )


def _header(ev: Evaluation, level: int) -> list[str]:
    """The release's heading, sizes, warnings and notes."""
    from anonlab.evaluation.result import seed_text

    h = f"h{level}"
    out = [f"<{h} id='{esc(ev.label)}'>Release: {esc(ev.label)}</{h}>"]
    out.append(
        f"<p class='small'>rows: real {ev.rows_real:,}, release {ev.rows_release:,}, holdout "
        f"{fmt(ev.rows_holdout)}; target <code>{esc(ev.target)}</code>; quasi-identifiers "
        f"{esc(', '.join(ev.quasi) or 'none given')}; {seed_text(ev.seed, ev.seed_given)}</p>"
    )
    out += [f"<div class='note warn'><b>Warning:</b> {esc(f)}</div>" for f in ev.flags]
    out += [f"<div class='note'>{esc(n)}</div>" for n in ev.notes if not n.startswith("warning: ")]
    return out


def _parts(ev: Evaluation, kind: str) -> tuple[list[str], list[str]]:
    """The text and the figures of every part of ``kind`` that has a value, in the order of the parts' table."""
    from anonlab.evaluation.parts import TABLE
    from anonlab.evaluation.report.sections import SECTIONS

    texts, figures = [], []
    for p in TABLE:
        value = ev.value(p.name)
        if p.kind != kind or not value:
            continue
        s = SECTIONS[p.name]
        texts.append(s.text(ev, value))
        if s.figures is not None:
            figures += s.figures(ev)
    return [t for t in texts if t], figures


def _generalisation(ev: Evaluation) -> list[str]:
    dec = ev.decode.to_dict()
    if not dec["generalised"]:
        return []
    return [
        table(
            [
                "generalised column",
                "cells drawn within their generalisation",
                "of them *",
                "unreadable labels kept",
            ],
            [
                [c, n, dec["suppressed_cells"].get(c, 0), dec["unreadable_cells"].get(c, 0)]
                for c, n in dec["decoded_cells"].items()
            ],
        )
    ]


def evaluation_section(ev: Evaluation, level: int = 2) -> str:
    """The HTML of one evaluation (verdicts, each part, plots), for a page of its own or a study."""
    from anonlab.evaluation.report import plots

    hh = f"h{level + 1}"
    out = _header(ev, level)
    out.append(f"<{hh}>Verdicts</{hh}>{_verdict_table(ev)}")
    out.append(f"<{hh}>Privacy spent</{hh}>{_privacy(ev.privacy)}")
    texts, figures = _parts(ev, "utility")
    out += [f"<{hh}>Utility</{hh}>", *texts, img(plots.distribution_overlays(ev), "per-column distributions")]
    out += figures
    texts, _ = _parts(ev, "risk")
    out += [f"<{hh}>Risk</{hh}>", *texts, *_generalisation(ev)]
    out.append(f"<{hh}>Run</{hh}>")
    out.append(
        table(
            ["setting", "value"],
            [[k, v] for k, v in ev.config.to_dict().items()]
            + [[f"time: {k} (s)", round(v, 2)] for k, v in ev.timings.items()],
        )
    )
    return "\n".join(x for x in out if x)


def evaluation_html(ev: Evaluation, title: str | None = None) -> str:
    """A complete HTML page for one evaluation."""
    return page(title or f"anonlab evaluation: {ev.label}", guide() + evaluation_section(ev), ev.versions)


def evaluation_summary_html(ev: Evaluation) -> str:
    """A short HTML view of one evaluation (what a notebook shows): sizes, notes and the verdicts, no figures."""
    body = "\n".join([*_header(ev, 3), _verdict_table(ev)])
    return f"<div class='anonlab'><style>{NOTEBOOK_CSS}</style>{body}</div>"


def _summary_table(study: StudyResult) -> str:
    cols = list(SUMMARY_COLUMNS)
    return table(cols, [[r.get(c) for c in cols] for r in study.rows()])


#: The columns of a study's summary table.
SUMMARY_COLUMNS = (
    "label",
    "method",
    "param",
    "baseline",
    "epsilon",
    "delta",
    "utility_2way",
    "tstr_ratio",
    "quality_score",
    "mia_auc",
    "dcr_train_share",
    "anonymeter_max_risk",
    "k",
    "seconds_release",
    "seconds_evaluate",
)


def study_summary_html(study: StudyResult) -> str:
    """A short HTML view of a study (what a notebook shows): the summary table, failures and frontiers."""
    body = [f"<h3>Study: {esc(study.name)}</h3>", _summary_table(study)]
    if study.failures:
        body.append(table(["label", "error"], [[f["label"], f["error"]] for f in study.failures]))
    for x, y in study.recipe.frontier:
        body.append(
            f"<p class='small'>frontier ({esc(x)} vs {esc(y)}): {esc(', '.join(study.frontier(x, y)))}</p>"
        )
    return f"<div class='anonlab'><style>{NOTEBOOK_CSS}</style>{''.join(body)}</div>"


def study_html(study) -> str:
    """A complete HTML page for a study (:class:`anonlab.evaluation.study.StudyResult`)."""
    from anonlab.evaluation.report import plots
    from anonlab.evaluation.result import seed_text
    from anonlab.evaluation.study import STUDY_PRIVACY

    rows = study.rows()
    body = [f"<div class='note warn'><b>A study, not a release.</b> {esc(STUDY_PRIVACY)}</div>", guide()]
    body.append(
        f"<p>Input: {study.rows_input:,} rows, split into {study.rows_train:,} training and "
        f"{study.rows_holdout:,} holdout records ({seed_text(study.seed, study.seed_given)}). Each method released "
        "the training records; every release was evaluated the same way.</p>"
    )
    for n in study.notes:
        if n.startswith(STUDY_PRIVACY):
            n = n[len(STUDY_PRIVACY) :].strip()
            if not n:
                continue
        body.append(f"<div class='note'>{esc(n)}</div>")
    body.append("<h2>Privacy-utility frontier</h2>")
    for (x, xl), (y, yl) in study.axes():
        body.append(img(plots.frontier_plot(rows, x, y, xl, yl), f"frontier {yl} vs {xl}"))
    body.append("<h2>Summary</h2>")
    body.append(_summary_table(study))
    if study.failures:
        body.append("<h3>Releases that failed</h3>")
        body.append(table(["label", "error"], [[f["label"], f["error"]] for f in study.failures]))
    body.append("<h2>Privacy spent per release</h2>")
    body.append(
        table(
            ["release", "privacy spent"],
            [
                [
                    r["label"],
                    "none (no formal guarantee)" if not r.get("privacy") else json.dumps(r["privacy"]),
                ]
                for r in rows
            ],
        )
    )
    for ev in study.evaluations:
        body.append(evaluation_section(ev))
    versions = study.evaluations[0].versions if study.evaluations else {}
    return page(f"anonlab study: {study.name}", "\n".join(body), versions)
