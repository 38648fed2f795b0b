"""Self-contained HTML reports: one file, inline CSS, plots embedded as base64 PNG, no scripts, no links out.

:func:`evaluation_html` renders one :class:`~anonlab.evaluation.evaluate.Evaluation`; :func:`study_html` renders a
study (the frontier, the summary table of every release, then each release's section). Everything shown comes
from the result objects; nothing is recomputed here. Every text from the data (column names, labels) is escaped.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anonlab.evaluation.evaluate import Evaluation

__all__ = ["evaluation_html", "study_html", "evaluation_section"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1150px;
color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}th,td{border:1px solid #ccc;padding:.25em .55em;
text-align:left;vertical-align:top}th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.good,.low{background:#e3f4e1}.fair,.moderate{background:#fff4d6}.poor,.high{background:#fbe0df}
.note{background:#f6f8fa;border-left:4px solid #999;padding:.4em .8em;margin:.6em 0}
img{max-width:100%;height:auto;display:block;margin:.6em 0}code{background:#f3f3f3;padding:0 .2em}
.small{font-size:.85em;color:#555}.warn{border-left-color:#c0392b;background:#fbe0df}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _img(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _table(headers: list[str], rows: list[list[Any]], classes: list[list[str]] | None = None) -> str:
    out = ["<table><tr>", *(f"<th>{_e(h)}</th>" for h in headers), "</tr>"]
    for i, row in enumerate(rows):
        out.append("<tr>")
        for j, v in enumerate(row):
            cls = classes[i][j] if classes else ""
            num = isinstance(v, int | float) and not isinstance(v, bool)
            c = " ".join(x for x in (cls, "num" if num else "") if x)
            out.append(f'<td class="{c}">{_e(_fmt(v))}</td>' if c else f"<td>{_e(_fmt(v))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _baselines_text(b: dict[str, float | None]) -> str:
    return "; ".join(f"{k} {_fmt(v)}" for k, v in b.items()) if b else ""


def _verdict_table(ev: Evaluation) -> str:
    rows = [
        [v.kind, v.metric, v.value, _baselines_text(v.baselines), v.verdict, v.reason] for v in ev.verdicts
    ]
    classes = [["", "", "", "", v.verdict, ""] for v in ev.verdicts]
    return _table(["kind", "metric", "value", "baselines (same run)", "verdict", "why"], rows, classes)


def _privacy(p: dict[str, Any] | None) -> str:
    if not p:
        return "<p>No formal privacy guarantee was reported for this release (none was spent or claimed).</p>"
    return _table(
        ["privacy parameter", "value"],
        [[k, json.dumps(v) if isinstance(v, dict | list) else v] for k, v in p.items()],
    )


def evaluation_section(ev: Evaluation, level: int = 2) -> str:
    """The HTML of one evaluation (verdicts, details, plots), for a page of its own or a study."""
    from anonlab.evaluation import plots
    from anonlab.evaluation.evaluate import seed_text

    h, hh = f"h{level}", f"h{level + 1}"
    parts = [f"<{h} id='{_e(ev.label)}'>Release: {_e(ev.label)}</{h}>"]
    parts.append(
        f"<p class='small'>rows: real {ev.rows_real:,}, release {ev.rows_release:,}, holdout "
        f"{_fmt(ev.rows_holdout)}; target <code>{_e(ev.target)}</code>; quasi-identifiers "
        f"{_e(', '.join(ev.quasi) or 'none given')}; {seed_text(ev.seed, ev.seed_given)}</p>"
    )
    for f in ev.flags:
        parts.append(f"<div class='note warn'><b>Warning:</b> {_e(f)}</div>")
    for n in ev.notes:
        if n.startswith("warning: "):
            continue  # shown above
        parts.append(f"<div class='note'>{_e(n)}</div>")
    parts.append(f"<{hh}>Verdicts</{hh}>{_verdict_table(ev)}")
    parts.append(f"<{hh}>Privacy spent</{hh}>{_privacy(ev.privacy)}")

    parts.append(f"<{hh}>Utility</{hh}>")
    if ev.marginals:
        parts.append(
            _table(
                ["marginals", "sets measured", "of", "mean TVD", "max TVD", "worst set"],
                [
                    [f"{m.order}-way", m.n_sets, m.n_possible, m.mean_tvd, m.max_tvd, " x ".join(m.worst)]
                    for m in ev.marginals
                ],
            )
        )
    if ev.tstr:
        t = ev.tstr
        parts.append(
            f"<p>Train on release, test on real: target <code>{_e(t.target)}</code> ({_e(t.task)}), "
            f"tested on {t.n_test:,} records of the {_e(t.test_set)}.</p>"
        )
        parts.append(
            _table(
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
        )
    if ev.quality:
        q = ev.quality
        parts.append(
            _table(
                ["SDMetrics QualityReport", "value"],
                [
                    ["overall score", q.score],
                    ["column shapes", q.column_shapes],
                    ["column pair trends", q.column_pair_trends],
                    ["rows per table", q.rows],
                    *([["error", q.error]] if q.error else []),
                ],
            )
        )
    parts.append(_img(plots.distribution_overlays(ev), "per-column distributions"))
    parts.append(_img(plots.marginal_bars(ev), "worst 2-way marginals"))
    for name, png in plots.association_heatmaps(ev):
        parts.append(_img(png, f"{name} difference heat map"))

    parts.append(f"<{hh}>Risk</{hh}>")
    if ev.dcr:
        d = ev.dcr
        parts.append(
            _table(
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
                    [
                        "  95% interval",
                        None
                        if d.train_share_ci is None
                        else f"{d.train_share_ci[0]:.3f} - {d.train_share_ci[1]:.3f}",
                    ],
                    ["equal-size train / holdout sets", d.compared_rows],
                ],
            )
        )
    if ev.membership:
        m = ev.membership
        parts.append(
            f"<p>Membership inference: {m.n_members:,} training records (members) against "
            f"{m.n_non_members:,} holdout records (non-members); the density attack's population "
            f"reference is {m.n_reference:,} other holdout records.</p>"
        )
        parts.append(
            _table(
                ["attack", "AUC", "95% interval", "TPR at 1% FPR", "advantage"],
                [
                    [a.name, a.auc, f"{a.auc_ci[0]:.3f} - {a.auc_ci[1]:.3f}", a.tpr_at_1pct_fpr, a.advantage]
                    for a in m.attacks
                ],
            )
        )
    if ev.anonymeter:
        a = ev.anonymeter
        cap = f"each attack was capped at {a.seconds:g} s" if a.time_capped else "no time cap could be set"
        parts.append(
            f"<p>{_e(a.method)}. Its attacks target a seeded sample of {a.rows:,} training records "
            f"and {a.rows:,} holdout records, {a.n_attacks} attacks of each kind, with {a.release_rows:,} "
            "released records in the attacker's hands; risk is the success on training records beyond the "
            f"success on holdout records. The singling-out search was bounded to {a.max_attempts:,} query "
            f"attempts and {cap}; an attack stopped by a bound is reported as such."
            + (
                f" The attacks were repeated over {a.repeats} seeds (small holdout); each row is the most "
                "pessimistic repetition."
                if a.repeats > 1
                else ""
            )
            + "</p>"
        )
        parts.append(
            _table(
                ["attack", "risk", "95% interval", "success on train", "on holdout", "random guess", "error"],
                [
                    [
                        r.name,
                        r.value,
                        None if r.ci is None else f"{r.ci[0]:.3f} - {r.ci[1]:.3f}",
                        r.attack_rate,
                        r.control_rate,
                        r.baseline_rate,
                        r.error or "",
                    ]
                    for r in a.risks
                ],
            )
        )
    if ev.assess:
        s = ev.assess
        pr = s.get("prosecutor", {})
        parts.append(
            _table(
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
        )
    dec = ev.decode.to_dict()
    if dec["generalised"]:
        parts.append(
            _table(
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
        )
    parts.append(f"<{hh}>Run</{hh}>")
    parts.append(
        _table(
            ["setting", "value"],
            [[k, v] for k, v in ev.config.to_dict().items()]
            + [[f"time: {k} (s)", round(v, 2)] for k, v in ev.timings.items()],
        )
    )
    return "\n".join(parts)


def _page(title: str, body: str, versions: dict[str, str]) -> str:
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    vers = ", ".join(f"{k} {v}" for k, v in versions.items())
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body>\n<h1>{_e(title)}</h1>\n{body}\n"
        f"<p class='small'>Generated {stamp} by anonlab. Versions: {_e(vers)}.</p>\n</body></html>\n"
    )


def _guide() -> str:
    from anonlab.evaluation.verdicts import RULE

    return (
        "<p class='small'>Utility verdicts: good / fair / poor; risk verdicts: low / moderate / high; n/a: not "
        "computed, with the reason. Only differentially private releases carry a formal guarantee, stated under "
        "'privacy spent'; the risk figures here are empirical attacks, which can show a release is unsafe but "
        f"cannot prove it safe.</p><p class='small'><b>Verdict rule.</b> {_e(RULE)}</p>"
    )


def evaluation_html(ev: Evaluation, title: str | None = None) -> str:
    """A complete HTML page for one evaluation."""
    return _page(title or f"anonlab evaluation: {ev.label}", _guide() + evaluation_section(ev), ev.versions)


def study_html(study) -> str:
    """A complete HTML page for a study (:class:`anonlab.evaluation.study.StudyResult`)."""
    from anonlab.evaluation import plots
    from anonlab.evaluation.evaluate import seed_text
    from anonlab.evaluation.study import STUDY_PRIVACY

    rows = study.rows()
    body = [f"<div class='note warn'><b>A study, not a release.</b> {_e(STUDY_PRIVACY)}</div>", _guide()]
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
        body.append(f"<div class='note'>{_e(n)}</div>")
    body.append("<h2>Privacy-utility frontier</h2>")
    for (x, xl), (y, yl) in study.axes():
        body.append(_img(plots.frontier_plot(rows, x, y, xl, yl), f"frontier {yl} vs {xl}"))
    body.append("<h2>Summary</h2>")
    cols = [
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
    ]
    body.append(_table(cols, [[r.get(c) for c in cols] for r in rows]))
    if study.failures:
        body.append("<h3>Releases that failed</h3>")
        body.append(_table(["label", "error"], [[f["label"], f["error"]] for f in study.failures]))
    body.append("<h2>Privacy spent per release</h2>")
    body.append(
        _table(
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
    return _page(f"anonlab study: {study.name}", "\n".join(body), versions)
