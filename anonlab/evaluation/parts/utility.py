"""The utility parts of an evaluation: marginals, associations, train-on-release / test-on-real, SDMetrics' score.

Each is a function of the shared :class:`~anonlab.evaluation.parts.context.Context` returning a
:class:`~anonlab.evaluation.parts.PartResult`; each figure is judged against the baselines of the same run
(:mod:`anonlab.evaluation.verdicts`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from anonlab.evaluation import verdicts as V
from anonlab.evaluation.parts import PartResult

if TYPE_CHECKING:
    from anonlab.evaluation.parts.context import Context

__all__ = ["marginals", "associations", "tstr", "quality"]


def _collapsed(m, floor) -> list[str]:
    """Columns whose 1-way TV passed :data:`~anonlab.evaluation.verdicts.COLLAPSE_TV` (and twice their floor)."""
    return [
        f"column {col!r}: 1-way TV {tv:.3f} in the release exceeds {V.COLLAPSE_TV} (the floor "
        f"is {floor.per_set.get(col, float('nan')):.3f}): the method collapsed or smeared this "
        "column's distribution"
        for col, tv in m.per_set.items()
        if tv > V.COLLAPSE_TV and tv > 2 * floor.per_set.get(col, 0.0)
    ]


def marginals(ctx: Context) -> PartResult:
    """1-, 2- and 3-way marginal total variation distance, against independent columns and the sampling floor."""
    from anonlab.evaluation.metrics.tv import choose_sets, marginal_tvd

    codes, b = ctx.codes, ctx.base
    card = codes.card
    ms, vs, flags, base = [], [], [], {}
    for k in (1, 2, 3):
        if k > len(ctx.kinds):
            continue
        sets, _ = choose_sets(list(card), k, ctx.config.max_marginal_sets)
        m = marginal_tvd(codes.real, codes.release, card, k, sets=sets)
        ms.append(m)
        bi = ctx.cached(
            ("marg", k, "indep"), marginal_tvd, codes.real, b.independent_codes, card, k, sets=sets
        )
        bf = ctx.cached(("marg", k, "floor"), marginal_tvd, codes.real, b.floor_codes, card, k, sets=sets)
        bd = None
        if b.dp_codes is not None:
            key = ("marg", k, "dp", id(b.dp_codes))
            bd = ctx.cached(key, marginal_tvd, codes.real, b.dp_codes, card, k, sets=sets).mean_tvd
        if k == 1:
            vs.append(
                V.one_way_verdict(m.mean_tvd, floor=bf.mean_tvd, dp_1way=bd, worst=m.worst, max_tvd=m.max_tvd)
            )
            flags += _collapsed(m, bf)
        else:
            metric = f"{k}-way marginal TVD (mean)"
            vs.append(
                V.relative_verdict(metric, m.mean_tvd, independent=bi.mean_tvd, floor=bf.mean_tvd, dp_1way=bd)
            )
        base[f"marginals_{k}way"] = {
            "independent columns": bi.mean_tvd,
            "sampling floor": bf.mean_tvd,
            **({"DP 1-way baseline": bd} if bd is not None else {}),
        }
    return PartResult(tuple(ms), tuple(vs), baselines=base, flags=tuple(flags))


_ASSOCIATION_NAMES = {"pearson": "correlation", "cramers_v": "Cramer's V", "theils_u": "Theil's U"}


def _compare(kind, cols, ref, fn, table, codes):
    """The association matrix of ``table`` against the real table's ``ref``."""
    from anonlab.evaluation.metrics.associations import compare_matrices

    return compare_matrices(kind, cols, ref, fn(table, codes))


def associations(ctx: Context) -> PartResult:
    """Correlation, Cramer's V and Theil's U matrices: the mean absolute difference from the real table's."""
    from anonlab.evaluation.metrics import associations as A

    codes, b, card = ctx.codes, ctx.base, ctx.codes.card
    num = [c for c, k in ctx.kinds.items() if k == "numeric"]
    cat = [c for c, k in ctx.kinds.items() if k == "categorical"]
    fns = {
        "pearson": (num, lambda t, cd: A.pearson_matrix(t, num)),
        "cramers_v": (cat, lambda t, cd: A.cramers_v_matrix(cd, cat, card)),
        "theils_u": (cat, lambda t, cd: A.theils_u_matrix(cd, cat, card)),
    }
    res, vs, base = [], [], {}
    for kind, (cs, fn) in fns.items():
        ref = ctx.cached(("assoc real", kind), fn, ctx.real, codes.real)
        a = A.compare_matrices(kind, cs, ref, fn(ctx.release, codes.release))
        res.append(a)
        metric = f"{_ASSOCIATION_NAMES[kind]} difference (mean abs)"
        if a.mean_abs_diff is None:
            vs.append(V.Verdict(metric, "n/a", "n/a", "fewer than two such columns", "utility"))
            continue
        bi = ctx.cached(
            ("assoc", kind, "indep"), _compare, kind, cs, ref, fn, b.independent, b.independent_codes
        )
        bf = ctx.cached(("assoc", kind, "floor"), _compare, kind, cs, ref, fn, b.floor, b.floor_codes)
        vs.append(
            V.relative_verdict(metric, a.mean_abs_diff, independent=bi.mean_abs_diff, floor=bf.mean_abs_diff)
        )
        base[f"associations_{kind}"] = {
            "independent columns": bi.mean_abs_diff,
            "sampling floor": bf.mean_abs_diff,
        }
    return PartResult(tuple(res), tuple(vs), baselines=base)


def tstr(ctx: Context) -> PartResult:
    """Train on the release, test on real records (the holdout, else 30% of the real table), against train on
    real; the independent-columns baseline is a constant prediction's score on the same test records."""
    from anonlab.evaluation.metrics.tstr import train_synthetic_test_real

    real, target = ctx.real, ctx.target
    if real[target].nunique(dropna=True) < 2:
        why = f"target {target!r} has a single value in the real table"
        return PartResult.skipped(why, f"TSTR skipped: {why}")
    if len(ctx.kinds) < 2:
        why = f"no column beside the target {target!r} to predict it from"
        return PartResult.skipped(why, f"TSTR skipped: {why}")
    if ctx.holdout is not None:
        fit_real, test, where = real, ctx.holdout, "holdout (real records the release never saw)"
    else:
        order = ctx.rng.permutation(len(real))
        cut = int(len(real) * 0.7)
        fit_real, test = real.iloc[order[:cut]], real.iloc[order[cut:]]
        where = (
            "30% of the real table, which the release was made from: without a holdout TSTR is "
            "optimistic for a release that memorised"
        )
    tkinds = {**ctx.kinds, target: "categorical"} if ctx.target_class else ctx.kinds
    res = train_synthetic_test_real(
        fit_real,
        ctx.release,
        test,
        target,
        tkinds,
        test_set=where,
        seed=ctx.seed,
        max_rows=ctx.config.tstr_rows,
        progress=ctx.progress,
    )
    # independent columns carry no information about the target: a learner fitted to them is worth a constant
    # prediction in expectation (its sampled score scatters around that by +-0.1 AUC on 1,000 rows, since AUC
    # rewards a direction picked by chance), so TSTR's baseline is the constant prediction's score on the
    # same test records, computed in this run
    ind = {m.model: res.constant for m in res.models}
    vs, base = [], {}
    for m in res.models:
        vs.append(
            V.relative_verdict(
                f"TSTR {m.model} ({m.metric})",
                m.release,
                independent=ind.get(m.model),
                floor=m.real,
                higher_is_better=True,
                value_text=f"{m.release:.3f} vs {m.real:.3f} real",
                floor_name="trained on real",
            )
        )
        base[f"tstr_{m.model}"] = {"independent columns": ind.get(m.model), "trained on real": m.real}
    return PartResult(replace(res, baselines={"independent columns": ind}), tuple(vs), baselines=base)


def quality(ctx: Context) -> PartResult:
    """SDMetrics' QualityReport score (the sdv extra), against independent columns and the sampling floor."""
    from anonlab.evaluation.metrics.quality import sdmetrics_quality

    kinds, rows, b = ctx.kinds, ctx.config.quality_rows, ctx.base
    q = sdmetrics_quality(ctx.real, ctx.release, kinds, seed=ctx.seed, max_rows=rows)
    if q.score is None:
        return PartResult(q, (V.not_computed("SDMetrics quality score", q.error or "SDMetrics failed"),))
    qi = ctx.cached(
        "quality indep",
        lambda: sdmetrics_quality(ctx.real, b.independent, kinds, seed=ctx.seed, max_rows=rows),
    )
    qf = ctx.cached(
        "quality floor", lambda: sdmetrics_quality(ctx.real, b.floor, kinds, seed=ctx.seed, max_rows=rows)
    )
    v = V.relative_verdict(
        "SDMetrics quality score", q.score, independent=qi.score, floor=qf.score, higher_is_better=True
    )
    return PartResult(
        q,
        (v,),
        baselines={"sdmetrics_quality": {"independent columns": qi.score, "sampling floor": qf.score}},
    )
