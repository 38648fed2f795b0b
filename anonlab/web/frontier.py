"""The privacy-utility frontier of the releases of one table in the workspace.

Each table release folder holds its evaluation's figures (``evaluation.json``, :meth:`anonlab.Evaluation.to_dict`).
The releases of one input table, each evaluated against that whole table under the app's evaluation settings, are
drawn as a study's frontier is drawn: :func:`anonlab.evaluation.report.plots.frontier_plot` (one point per release,
non-private baselines hollow, the Pareto frontier dashed), with :func:`~anonlab.evaluation.report.plots.pareto_front`
naming the releases on it. Nothing is fitted or evaluated again: the page reads what the releases recorded.

The app's evaluations have no holdout (the whole table is released), so the membership attack and the DCR share
are not measured; the risk axis is then the share of exact copies (or the anonymeter risk, when the app runs it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from anonlab.errors import AnonlabError

__all__ = ["Frontier", "frontier_of", "RISKS", "UTILITIES"]

#: risk figures, in the order the page prefers them (the first that at least two releases have is drawn)
RISKS = ("mia_auc", "dcr_train_share", "anonymeter_max_risk", "exact_copy_share")
#: utility figures drawn against it (each that at least two releases have)
UTILITIES = ("utility_2way", "tstr_ratio", "quality_score")
#: the columns of the page's table
COLUMNS = ("utility_1way", "utility_2way", "tstr_ratio", "exact_copy_share", "anonymeter_max_risk", "k")


@dataclass
class Frontier:
    """The releases of ``table`` with recorded figures (``rows``, one dict each: ``label`` (the release id),
    ``method``, ``param``, ``baseline``, ``epsilon`` and the headline figures), the figures drawn
    (``plots``: (title, PNG bytes, labels on the frontier)) and what the page should say (``notes``)."""

    table: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    plots: list[tuple[str, bytes, list[str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _describe(recipe) -> tuple[str, str, bool]:
    """(method, parameter text, non-private baseline) of a release recipe, in a study's words."""
    p = recipe.params
    if recipe.kind == "kanonymity":
        param = f"k={p.get('k')}"
        for key in ("l", "t"):
            if p.get(key) is not None:
                param += f" {key}={p[key]:g}"
        return f"k-anonymity ({p.get('method', 'mondrian')})", param, False
    if recipe.kind == "synth":
        return str(p.get("method", "mst")), f"eps={float(p['epsilon']):g}", False
    if p.get("method") == "copy":
        return "copy", "", True
    name = "independent columns" if p.get("method") == "independent" else str(p.get("method"))
    return name, "", True


def rows_of(ws, table: str) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """The rows of the releases of ``table`` with recorded figures; the ids of the others (made before figures
    were recorded, or unreadable); and the evaluation settings that differ between the rows (if any)."""
    from anonlab.release_recipe import ReleaseRecipe

    rows, skipped, configs = [], [], set()
    for rid in ws.releases():
        files = ws.release_files(rid)
        if "recipe.toml" not in files:
            continue
        try:
            recipe = ReleaseRecipe.read(ws.release_file(rid, "recipe.toml"))
        except AnonlabError:
            continue
        if recipe.input != table or recipe.kind == "pseudonymize":
            continue
        if "evaluation.json" not in files:
            skipped.append(rid)
            continue
        try:
            ev = json.loads(ws.release_file(rid, "evaluation.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            skipped.append(rid)
            continue
        method, param, baseline = _describe(recipe)
        privacy = ev.get("privacy") if isinstance(ev.get("privacy"), dict) else None
        configs.add(json.dumps(ev.get("config"), sort_keys=True))
        rows.append(
            {
                "label": rid,
                "method": method,
                "param": param,
                "baseline": baseline,
                "epsilon": privacy.get("epsilon") if privacy else None,
                **(ev.get("headline") or {}),
            }
        )
    rows.reverse()  # oldest first: a method's line runs through its releases in the order they were made
    return rows, skipped, sorted(configs)


def frontier_of(ws, table: str, *, draw: bool = True) -> Frontier:
    """The frontier page's content for ``table`` (a workspace table name). ``draw``: draw the plots (matplotlib,
    ``anonlab[eval]``; without it, the table only)."""
    from anonlab.evaluation.recipe import AXES
    from anonlab.evaluation.report import plots

    rows, skipped, configs = rows_of(ws, table)
    out = Frontier(table, rows, skipped=skipped)
    if len(configs) > 1:
        out.notes.append(
            "these releases were evaluated under different settings (parts skipped or sizes); their figures are "
            "comparable only where both measured them"
        )

    def have(key: str) -> int:
        return sum(r.get(key) is not None for r in rows)

    risk = next((x for x in RISKS if have(x) >= 2), None)
    utilities = [y for y in UTILITIES if have(y) >= 2]
    if len(rows) < 2:
        out.notes.append("a frontier needs at least two evaluated releases of this table")
        return out
    if risk is None or not utilities:
        out.notes.append(
            "no risk and utility figure was measured for two releases or more (the evaluation skipped those parts)"
        )
        return out
    if draw:
        try:
            plots.check_installed()
        except AnonlabError as exc:
            out.notes.append(str(exc))
            draw = False
    styles = plots.release_styles(rows)
    for y in utilities:
        pts = [r for r in rows if r.get(risk) is not None and r.get(y) is not None]
        on = [r["label"] for r in plots.pareto_front(pts, risk, y)]
        png = plots.frontier_plot(rows, risk, y, AXES[risk], AXES[y], styles=styles) if draw else b""
        out.plots.append((f"{AXES[y]} against {AXES[risk]}", png, on))
    return out
