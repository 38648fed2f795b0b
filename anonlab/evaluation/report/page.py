"""Self-contained HTML reports: one file, one stylesheet, plots embedded as PNG, no scripts, no links out.

:func:`evaluation_html` renders one :class:`~anonlab.evaluation.result.Evaluation`: a table of contents, the
verdicts and the rule that produced them, the privacy statement, then each part of the evaluation (in the order
of the parts' table, each with its "what this means" paragraph, its notes and its figures), then the run's
settings. :func:`study_html` renders a study: the frontier first and full width, the summary table, the privacy
spent per release in words, then each release's evaluation in a collapsible section. :func:`evaluation_summary_html`
and :func:`study_summary_html` are the short forms a notebook displays (no figures).

Everything shown comes from the result objects; nothing is recomputed here. Every text from the data (column
names, labels) is escaped. A differentially private release's section never shows a seed; its privacy statement
says what its maker reported (:func:`~anonlab.evaluation.report.words.privacy_statement`).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from anonlab.evaluation.report.html import (
    NOTEBOOK_CSS,
    Outline,
    chips,
    esc,
    explain,
    figure,
    fmt,
    guide,
    note,
    page,
    table,
)
from anonlab.evaluation.report.words import (
    EXPLAIN,
    explain_frontier,
    explain_privacy,
    explain_verdicts,
    param_words,
    privacy_details,
    privacy_statement,
    short,
)

if TYPE_CHECKING:
    from anonlab.evaluation.result import Evaluation
    from anonlab.evaluation.study import StudyResult

__all__ = [
    "evaluation_html",
    "study_html",
    "evaluation_section",
    "evaluation_summary_html",
    "study_summary_html",
    "SUMMARY_COLUMNS",
]


def _baselines_text(b: dict[str, float | None]) -> str:
    return "; ".join(f"{k} {fmt(v)}" for k, v in b.items()) if b else ""


def _verdict_table(ev: Evaluation) -> str:
    """Two tables: utility verdicts beside their baselines, risk verdicts with their 95% interval."""
    util = [v for v in ev.verdicts if v.kind == "utility"]
    risk = [v for v in ev.verdicts if v.kind != "utility"]

    def cls(v):
        return f"v {v.verdict}" if v.verdict != "n/a" else "v"

    out = []
    if util:
        out.append(
            table(
                ["utility figure", "value", "baselines (same run)", "verdict", "why"],
                [[v.metric, v.value, _baselines_text(v.baselines), v.verdict, v.reason] for v in util],
                [["", "", "", cls(v), ""] for v in util],
            )
        )
    if risk:
        out.append(
            table(
                ["risk figure", "value [95% interval]", "verdict", "why"],
                [[v.metric, v.value, v.verdict, v.reason] for v in risk],
                [["", "", cls(v), ""] for v in risk],
            )
        )
    return "".join(out)


def _counts(ev: Evaluation, kind: str) -> dict[str, int]:
    return dict(Counter(v.verdict for v in ev.verdicts if v.kind == kind))


def _glance(ev: Evaluation) -> str:
    """The verdicts counted, one line for utility and risk together."""
    return (
        f"<p><b>Utility</b> {chips(_counts(ev, 'utility')) or 'none judged'} &nbsp; "
        f"<b>Risk</b> {chips(_counts(ev, 'risk')) or 'none judged'}</p>"
    )


def _wide(ev: Evaluation) -> str:
    """How many risk verdicts only their interval's width made moderate or high."""
    wide = sum(1 for v in ev.verdicts if v.kind == "risk" and v.reason.startswith("not ruled out"))
    if not wide:
        return ""
    return (
        f"<p class='small'>{wide} of the risk verdicts {'is' if wide == 1 else 'are'} moderate or high only "
        "because the figure's 95% interval is wide (the figure itself is lower): the attack could not rule the "
        "risk out on this sample. More records or attacks narrow the interval.</p>"
    )


def _budget_split(p: dict[str, Any]) -> str:
    """How the maker split the budget (the parts of its privacy record that state an epsilon or a rho)."""
    parts = ((p.get("details") or {}).get("budget_parts") or {}) if isinstance(p.get("details"), dict) else {}
    rows = [
        [name.replace("_", " "), part.get("epsilon"), part.get("rho")]
        for name, part in parts.items()
        if isinstance(part, dict) and (part.get("epsilon") is not None or part.get("rho") is not None)
    ]
    if not rows:
        return ""
    rows = [
        [n, short(e, 3) if e is not None else "n/a", short(r, 3) if r is not None else "n/a"]
        for n, e, r in rows
    ]
    return "<p>How the budget was split, as the method reported it:</p>" + table(
        ["part of the release", "epsilon", "rho (zCDP)"], rows
    )


def _privacy(ev: Evaluation) -> str:
    p = ev.privacy
    out = [f"<p><b>{esc(privacy_statement(p))}</b></p>", explain(explain_privacy(p))]
    if p:
        out.append(_budget_split(p))
        if p.get("noise"):
            out.append(f"<p class='small'>Noise: {esc(p['noise'])}</p>")
        rows = [
            [k, v]
            for k, v in privacy_details(p)
            if not k.startswith("details / budget parts") and k != "noise"
        ]
        if rows:
            out.append(
                "<details class='more'><summary>The full privacy record, as the method reported it</summary>"
                + table(["field", "value"], rows)
                + "</details>"
            )
    return "".join(out)


def _part_notes(ev: Evaluation) -> set[str]:
    return {n for p in ev.parts.values() for n in p.notes}


def _header(ev: Evaluation, in_study: bool = False) -> list[str]:
    """The release's sizes, warnings and the notes that belong to no part."""
    seed = "" if in_study else f"; {ev.seed_words()}"
    out = [
        f"<p class='small'>Rows: real {ev.rows_real:,}, release {ev.rows_release:,}, holdout "
        f"{fmt(ev.rows_holdout)}; target <code>{esc(ev.target or 'none')}</code>; quasi-identifiers "
        f"{esc(', '.join(ev.quasi) or 'none given')}; column types from the {esc(ev.types_from)}{esc(seed)}.</p>"
    ]
    out += [note(f, warn=True) for f in ev.flags]
    mine = _part_notes(ev)
    out += [note(param_words(n)) for n in ev.notes if not n.startswith("warning: ") and n not in mine]
    return out


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


def _parts(ev: Evaluation, kind: str, level: int, outline: Outline, prefix: str, toc: bool) -> list[str]:
    """Each part of ``kind``, in the order of the parts' table: heading, what it means, notes, text, figures."""
    from anonlab.evaluation.parts import TABLE
    from anonlab.evaluation.report import plots
    from anonlab.evaluation.report.sections import SECTIONS

    out = []
    for p in TABLE:
        if p.kind != kind:
            continue
        res = ev.parts.get(p.name)
        value = ev.value(p.name)
        head = outline.heading(level, p.title, key=f"{prefix} {p.title}", toc=toc)
        if res is None:
            out += [head, "<p class='small'>Not computed: left out of this evaluation (skip).</p>"]
            continue
        notes = [note(param_words(n)) for n in res.notes]
        if not value:
            why = res.skipped_reason or "no figure"
            out += [head, f"<p class='small'>Not computed: {esc(param_words(why))}.</p>", *notes]
            continue
        s = SECTIONS[p.name]
        out += [head, explain(EXPLAIN[p.name](ev, value)), *notes, s.text(ev, value)]
        if p.name == "marginals" and ev.distributions:
            out.append(
                figure(
                    plots.distribution_overlays(ev),
                    "per-column distributions",
                    "Each column's distribution: real (blue) and release (orange), share of rows per bin or "
                    "category (the most frequent categories where there are many).",
                )
            )
        if s.figures is not None:
            out += s.figures(ev)
    return out


def evaluation_section(
    ev: Evaluation, level: int = 2, *, outline: Outline | None = None, in_study: bool = False
) -> str:
    """The HTML of one evaluation (verdicts, privacy, each part, plots, settings), for a page of its own
    (``level`` 2: its sections appear in the page's table of contents) or inside a study (``in_study``: headings
    one level down, anchors prefixed with the release's label, no seed)."""
    outline = outline or Outline()
    toc = not in_study
    pre = ev.label if in_study else ""
    out = _header(ev, in_study) if in_study else []
    out.append(outline.heading(level, "Verdicts", key=f"{pre} verdicts", toc=toc))
    out += [explain(explain_verdicts()), _wide(ev), _verdict_table(ev)]
    if in_study:
        out.append(
            "<p class='small'>The verdicts follow the rule stated under <a href='#how-to-read-this-report'>How "
            "to read this report</a>.</p>"
        )
    else:
        out.append(f"<div class='small'>{guide()}</div>")
    out.append(outline.heading(level, "Privacy", key=f"{pre} privacy", toc=toc))
    out.append(_privacy(ev))
    out.append(outline.heading(level, "Utility", key=f"{pre} utility", toc=toc))
    out += _parts(ev, "utility", level + 1, outline, pre, toc)
    out.append(outline.heading(level, "Risk", key=f"{pre} risk", toc=toc))
    out += _parts(ev, "risk", level + 1, outline, pre, toc)
    out += _generalisation(ev)
    out.append(outline.heading(level, "Run", key=f"{pre} run", toc=toc))
    settings = [[k, v] for k, v in ev.config.to_dict().items()]
    timings = [[f"time: {k} (s)", round(v, 2)] for k, v in ev.timings.items()]
    out.append(
        "<details class='more'><summary>Settings and timings of this evaluation</summary>"
        + table(["setting", "value"], settings + timings)
        + "</details>"
    )
    return "\n".join(x for x in out if x)


def evaluation_html(ev: Evaluation, title: str | None = None) -> str:
    """A complete HTML page for one evaluation, with a table of contents."""
    outline = Outline()
    top = [*_header(ev), _glance(ev), f"<p><b>Privacy.</b> {esc(privacy_statement(ev.privacy))}</p>"]
    body = evaluation_section(ev, outline=outline)
    return page(
        title or f"anonlab evaluation: {ev.label}", body, ev.versions, outline.toc(), intro="\n".join(top)
    )


def evaluation_summary_html(ev: Evaluation) -> str:
    """A short HTML view of one evaluation (what a notebook shows): sizes, notes and the verdicts, no figures."""
    body = "\n".join([f"<h3>Release: {esc(ev.label)}</h3>", *_header(ev), _verdict_table(ev)])
    return f"<div class='anonlab'><style>{NOTEBOOK_CSS}</style>{body}</div>"


# -- studies ------------------------------------------------------------------------------------------------

#: The columns of a study's summary table: (row key, heading), in order.
SUMMARY_COLUMNS = (
    ("method", "method"),
    ("privacy", "privacy"),
    ("utility_2way", "2-way utility (1 - TVD)"),
    ("tstr_ratio", "TSTR ratio"),
    ("quality_score", "SDMetrics quality"),
    ("mia_auc", "membership AUC [95%]"),
    ("dcr_train_share", "DCR share closer to train [95%]"),
    ("anonymeter_max_risk", "anonymeter risk (max) [95%]"),
    ("k", "k"),
    ("seconds", "seconds (release + evaluate)"),
)

# which verdicts colour a summary cell: the worst verdict among metrics starting with these words
_CELL_VERDICTS = {
    "utility_2way": ("2-way marginal",),
    "tstr_ratio": ("TSTR",),
    "quality_score": ("SDMetrics quality",),
    "mia_auc": ("membership AUC",),
    "dcr_train_share": ("DCR share",),
    "anonymeter_max_risk": ("anonymeter",),
    "k": ("k-anonymity",),
}
_WORST = {"high": 0, "poor": 0, "moderate": 1, "fair": 1, "low": 2, "good": 2}


def _cell_verdict(ev: Evaluation | None, key: str) -> str:
    if ev is None or key not in _CELL_VERDICTS:
        return ""
    found = [
        v.verdict for v in ev.verdicts if v.metric.startswith(_CELL_VERDICTS[key]) and v.verdict in _WORST
    ]
    return min(found, key=_WORST.__getitem__) if found else ""


def intervals(study: StudyResult) -> dict[str, dict[str, tuple[float, float]]]:
    """Per release label, the 95% intervals the evaluation holds for the frontier's risk axes: membership AUC
    (DeLong), the DCR share (Wilson) and the largest anonymeter risk (Wilson, propagated)."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for ev in study.evaluations:
        d: dict[str, tuple[float, float]] = {}
        m = ev.membership
        if m is not None and m.attacks:
            best = max(m.attacks, key=lambda a: a.auc)
            if best.auc_ci is not None:
                d["mia_auc"] = tuple(best.auc_ci)
            for a in m.attacks:
                if a.auc_ci is not None:
                    d[f"mia_auc_{a.name}"] = tuple(a.auc_ci)
        if ev.dcr is not None and ev.dcr.train_share_ci is not None:
            d["dcr_train_share"] = tuple(ev.dcr.train_share_ci)
        a = ev.anonymeter
        if a is not None:
            ok = [r for r in a.risks if r.value is not None and r.ci is not None]
            if ok:
                d["anonymeter_max_risk"] = tuple(max(ok, key=lambda r: r.value).ci)
        out[ev.label] = d
    return out


def _privacy_short(p: dict[str, Any] | None) -> str:
    if not p or p.get("epsilon") is None:
        return "no formal guarantee"
    return f"\u03b5 {short(p['epsilon'])}, \u03b4 {short(p.get('delta', 0.0))}"


def _with_interval(value: Any, ci: tuple[float, float] | None) -> str:
    """HTML: the figure, and its interval on a second, smaller line."""
    if value is None:
        return "n/a"
    return esc(fmt(value)) + (f"<br><span class='small'>[{ci[0]:.3f}, {ci[1]:.3f}]</span>" if ci else "")


def _summary_table(study: StudyResult, anchors: dict[str, str] | None = None) -> str:
    rows = study.rows()
    evs = {ev.label: ev for ev in study.evaluations}
    ivs = intervals(study)
    cols = [
        (k, h)
        for k, h in SUMMARY_COLUMNS
        if k in ("method", "privacy", "seconds") or any(r.get(k) is not None for r in rows)
    ]
    body, classes, raw = [], [], set()
    for r in rows:
        label = r["label"] + (" (non-private baseline)" if r.get("baseline") else "")
        cells: list[Any] = [f"<a href='#{anchors[r['label']]}'>{esc(label)}</a>" if anchors else label]
        cls = [""]
        for k, _ in cols:
            if k == "privacy":
                cells.append(_privacy_short(r.get("privacy")))
            elif k == "seconds":
                cells.append(f"{r['seconds_release']:.0f} + {r['seconds_evaluate']:.0f}")
            elif k in ("mia_auc", "dcr_train_share", "anonymeter_max_risk"):
                cells.append(_with_interval(r.get(k), ivs.get(r["label"], {}).get(k)))
                raw.add(len(cells) - 1)
            else:
                cells.append(r.get(k))
            cls.append(_cell_verdict(evs.get(r["label"]), k))
        body.append(cells)
        classes.append(cls)
    if anchors:
        raw.add(0)
    return table(["release", *(h for _, h in cols)], body, classes, raw=raw)


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


def _release_summary(ev: Evaluation, meta: dict[str, Any]) -> str:
    """The one line a release's collapsed section shows: its name, privacy and verdict counts."""
    base = " (non-private baseline)" if meta.get("baseline") else ""
    return (
        f"{esc(ev.label)}{esc(base)} <span class='small'>{esc(_privacy_short(ev.privacy))}</span> &nbsp; "
        f"<span class='small'>utility</span> {chips(_counts(ev, 'utility'))} "
        f"<span class='small'>risk</span> {chips(_counts(ev, 'risk'))}"
    )


def study_html(study: StudyResult) -> str:
    """A complete HTML page for a study (:class:`anonlab.evaluation.study.StudyResult`)."""
    from anonlab.evaluation.report import plots
    from anonlab.evaluation.result import seed_text
    from anonlab.evaluation.study import STUDY_PRIVACY

    rows = study.rows()
    outline = Outline()
    read_id = outline.id("how to read this report")  # the releases' sections link to it
    anchors = {ev.label: outline.id(f"release {ev.label}") for ev in study.evaluations}
    intro = f"<div class='note warn'><b>A study, not a release.</b> {esc(STUDY_PRIVACY)}</div>"
    body = [outline.heading(2, "Overview")]
    body.append(
        f"<p>Input: {study.rows_input:,} rows, split into {study.rows_train:,} training and "
        f"{study.rows_holdout:,} holdout records ({esc(seed_text(study.seed, study.seed_given))}). Each method "
        f"released the training records; every release was evaluated the same way, against the same holdout and "
        f"the same baselines. {len(study.evaluations)} releases were evaluated"
        + (f", {len(study.failures)} failed" if study.failures else "")
        + ".</p>"
    )
    for n in study.notes:
        if n.startswith(STUDY_PRIVACY):
            n = n[len(STUDY_PRIVACY) :].strip()
            if not n:
                continue
        body.append(note(param_words(n)))

    body.append(outline.heading(2, "Privacy-utility frontier"))
    body.append(explain(explain_frontier()))
    styles = plots.release_styles(rows)
    ivs = intervals(study)
    for (x, xl), (y, yl) in study.axes():
        anchor = outline.id(f"frontier {y} {x}")
        outline.add(3, anchor, f"{yl} against {xl}")
        on = ", ".join(study.frontier(x, y))
        body.append(
            figure(
                plots.frontier_plot(rows, x, y, xl, yl, styles=styles, intervals=ivs),
                f"frontier {yl} vs {xl}",
                f"On the frontier: {on}. Bars: 95% intervals of the risk figure where the evaluation has one; "
                "utility figures are one draw of each release and carry none.",
                anchor=anchor,
            )
        )

    body.append(outline.heading(2, "Summary of releases"))
    body.append(
        explain(
            "One row per release; colours are each figure's verdict (green good / low, yellow fair / moderate, "
            "red poor / high; for several attacks, the worst of their verdicts). Utility columns: higher is more useful. Risk columns: 0.5 is guessing for the "
            "membership AUC and the DCR share, 0 is no risk for anonymeter; intervals are 95%."
        )
    )
    body.append(_summary_table(study, anchors))
    if study.failures:
        body.append(outline.heading(3, "Releases that failed"))
        body.append(
            table(["label", "error"], [[f["label"], param_words(f["error"])] for f in study.failures])
        )

    body.append(outline.heading(2, "Privacy spent per release"))
    body.append(
        table(
            ["release", "formal guarantee, as the method reported it"],
            [[r["label"], privacy_statement(r.get("privacy"))] for r in rows],
        )
    )

    body.append(outline.heading(2, "Releases in detail"))
    body.append(
        "<p class='small'>Each release's full evaluation: open a section to see its verdicts, privacy, utility "
        "and risk figures.</p>"
    )
    for ev in study.evaluations:
        anchor = anchors[ev.label]
        outline.add(3, anchor, ev.label)
        body.append(
            f"<details class='part' id='{anchor}'><summary>{_release_summary(ev, study.meta[ev.label])}</summary>"
            + evaluation_section(ev, level=3, outline=outline, in_study=True)
            + "</details>"
        )
    outline.add(2, read_id, "How to read this report")
    body.append(f"<h2 id='{read_id}'>How to read this report</h2>")
    body.append(guide())
    versions = study.evaluations[0].versions if study.evaluations else {}
    return page(f"anonlab study: {study.name}", "\n".join(body), versions, outline.toc(), intro=intro)
