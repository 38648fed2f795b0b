"""The risk parts of an evaluation: distance to closest record, membership inference, anonymeter's attacks, and
k-anonymity of a generalised release as published.

Each is a function of the shared :class:`~anonlab.evaluation.parts.context.Context` returning a
:class:`~anonlab.evaluation.parts.PartResult`. On a small holdout (fewer than
:data:`~anonlab.evaluation.verdicts.SMALL_HOLDOUT` records) membership inference and the anonymeter attacks are
repeated over ``ctx.repeats`` seeds and judged at their most pessimistic repetition.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from anonlab.evaluation import verdicts as V
from anonlab.evaluation.parts import PartResult

if TYPE_CHECKING:
    from anonlab.evaluation.parts.context import Context

__all__ = ["dcr", "membership", "anonymeter", "assess"]


def dcr(ctx: Context) -> PartResult:
    """Distance to closest record: exact copies, and the share of released records closer to training than to
    holdout records."""
    from anonlab.evaluation.metrics.distance import distance_to_closest

    x_real, x_rel, x_hold = ctx.encoded()
    d = distance_to_closest(
        x_real, x_rel, x_hold, rng=ctx.rng, max_release=ctx.config.dcr_rows, progress=ctx.progress
    )
    vs = [V.copy_verdict(d.exact_copy_share, d.holdout_copy_share, d.n_release)]
    if d.train_share is not None:
        vs.append(V.share_verdict(d.train_share, d.train_share_ci, d.expected_share))
    return PartResult(d, tuple(vs))


def membership(ctx: Context) -> PartResult:
    """Distance and density membership inference (AUC with a 95% interval); needs a holdout of 4 records."""
    import numpy as np

    hold, n_rep = ctx.holdout, ctx.repeats
    if hold is None or len(hold) < 4:
        why = "it needs a holdout of at least 4 records"
        return PartResult.skipped(why, f"membership inference skipped: {why} (--holdout)")
    from anonlab.evaluation.metrics.membership import membership_inference

    x_real, x_rel, x_hold = ctx.encoded()
    runs = [
        membership_inference(
            x_real,
            x_rel,
            x_hold,
            rng=ctx.rng if r == 0 else np.random.default_rng([ctx.seed, 100 + r]),
            k=ctx.config.mia_k,
            max_candidates=ctx.config.mia_candidates,
            progress=ctx.progress,
        )
        for r in range(n_rep)
    ]
    worst, vs, repeats = [], [], {}
    for a in runs[0].attacks:
        alls = [run.attack(a.name) for run in runs]
        w = max(alls, key=lambda x: x.auc)
        worst.append(w)
        aucs = [x.auc for x in alls]
        if n_rep > 1:
            repeats[f"membership AUC ({a.name})"] = aucs
        vs.append(
            V.auc_verdict(
                w.name, w.auc, w.auc_ci, w.tpr_at_1pct_fpr, spread=(min(aucs), max(aucs)), repeats=n_rep
            )
        )
    notes = ()
    if n_rep > 1:
        notes = (
            f"small holdout ({len(hold):,} records): membership inference was repeated over {n_rep} seeds; "
            "each attack's figure and verdict are its most pessimistic repetition",
        )
    return PartResult(replace(runs[0], attacks=tuple(worst)), tuple(vs), notes, repeats=repeats)


def _worst_risks(runs, n_rep: int):
    """Per attack, the most pessimistic repetition; its verdict; the per-seed values."""
    worst, vs, repeats = [], [], {}
    for risk in runs[0].risks:
        alls = [x for run in runs for x in run.risks if x.name == risk.name]
        ok = [x for x in alls if x.value is not None]
        w = max(ok, key=lambda x: x.value) if ok else risk
        vals = [x.value for x in ok]
        if n_rep > 1 and vals:
            repeats[f"anonymeter {risk.name}"] = vals
            w = replace(w, detail={**w.detail, "repeats": vals})
        worst.append(w)
        spread = (min(vals), max(vals)) if vals else None
        vs.append(
            V.anonymeter_verdict(
                w.name, w.value, w.ci, w.error, spread=spread, repeats=n_rep if vals else None
            )
        )
    return worst, vs, repeats


def _anonymeter_notes(a, n_rep: int) -> list[str]:
    cap = (
        f"each attack capped at {a.seconds:g} s" if a.time_capped else "no time cap (not in the main thread)"
    )
    notes = [
        f"{a.method}: its attacks targeted a seeded sample of {a.rows} training and {a.rows} "
        f"holdout records ({a.n_attacks} attacks each, {a.release_rows} released records), so its "
        f"intervals are wide; the singling-out search was bounded to {a.max_attempts:,} query attempts, {cap}"
        + (
            f"; repeated over {n_rep} seeds (small holdout), verdict at the most pessimistic"
            if n_rep > 1
            else ""
        )
    ]
    for r in a.risks:
        if r.error and "time cap" in r.error:
            notes.append(f"anonymeter {r.name}: {r.error}: not computed")
        found = r.detail.get("predicates_found")
        if found is not None and found < a.n_attacks:
            notes.append(
                f"anonymeter {r.name}: found {found} singling-out predicates of the {a.n_attacks} asked for "
                "(the release holds no more, or the search reached its attempt bound); its risk may be "
                "underestimated"
            )
    return notes


def anonymeter(ctx: Context) -> PartResult:
    """Anonymeter's singling-out, linkability and inference risk (anonlab's implementation, on a sample); needs a
    holdout of 10 records as the control set."""
    hold, n_rep, cfg = ctx.holdout, ctx.repeats, ctx.config
    if hold is None or len(hold) < 10:
        why = "they need a holdout as the control set"
        return PartResult.skipped(why, f"anonymeter attacks skipped: {why} (--holdout)")
    from anonlab.evaluation.metrics.attacks import anonymeter_risks

    runs = [
        anonymeter_risks(
            ctx.real,
            ctx.release,
            hold,
            secret=ctx.target,
            secret_numeric=not ctx.target_class,
            quasi=ctx.quasi,
            seed=ctx.seed + 7919 * r,
            rows=cfg.anonymeter_rows,
            n_attacks=cfg.anonymeter_attacks,
            seconds=float(cfg.anonymeter_seconds),
            progress=ctx.progress,
        )
        for r in range(n_rep)
    ]
    worst, vs, repeats = _worst_risks(runs, n_rep)
    a = replace(runs[0], risks=tuple(worst), repeats=n_rep)
    return PartResult(a, tuple(vs), tuple(_anonymeter_notes(a, n_rep)), repeats=repeats)


def assess(ctx: Context) -> PartResult:
    """k-anonymity and prosecutor risk of a generalised release as published
    (:func:`anonlab.deid.risk.assess`)."""
    if not ctx.decode.generalised:
        return PartResult.skipped("the release is not generalised (no interval, set, mask or * cells)")
    if not ctx.quasi:
        why = "no quasi-identifiers known"
        return PartResult.skipped(why, f"k-anonymity not assessed: {why} (--quasi)")
    from anonlab.deid.risk import assess as assess_risk

    sens = [s for s in ctx.sensitive if s not in ctx.quasi]
    r = assess_risk(ctx.published, list(ctx.quasi), sensitive=sens, source=ctx.label)
    return PartResult(r.to_dict(), (V.k_verdict(r.k, r.prosecutor.highest, r.sample_uniques),))
