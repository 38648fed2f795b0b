"""Evaluate one release against the real data: every utility and risk metric, with a verdict each.

:func:`evaluate` takes the real table the release was made from (``real``, the "training" records), the release
(synthetic or generalised), and optionally a ``holdout``: real records from the same population that the release
never saw. The holdout is what makes risk measurable: membership inference, the DCR share and anonymeter's control
attacks all compare what the release reveals about its own records with what it reveals about strangers. Without
a holdout those metrics are skipped (and the report says so), and TSTR tests on a split of ``real``.

A generalised release (cells such as ``30-39``, ``{a,b}``, ``*``) is first read back into values by drawing
uniformly within each cell (:mod:`anonlab.evaluation.generalised`); its k-anonymity figures come from
:func:`anonlab.deid.risk.assess` on the release as published.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from anonlab.errors import InputError, UsageError
from anonlab.provenance import versions

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.evaluation.associations import AssociationResult
    from anonlab.evaluation.attacks import AnonymeterResult
    from anonlab.evaluation.distance import DCRResult
    from anonlab.evaluation.generalised import DecodeResult
    from anonlab.evaluation.marginals import MarginalResult
    from anonlab.evaluation.membership import MembershipResult
    from anonlab.evaluation.quality import QualityResult
    from anonlab.evaluation.tstr import TSTRResult
    from anonlab.evaluation.verdicts import Verdict

__all__ = ["EvaluationConfig", "Evaluation", "evaluate", "PARTS"]

#: The parts of an evaluation, in the order they run; ``EvaluationConfig.skip`` names parts to leave out.
PARTS = ("marginals", "associations", "tstr", "quality", "dcr", "membership", "anonymeter", "assess")


@dataclass(frozen=True)
class EvaluationConfig:
    """How much work each metric does. Larger samples give tighter intervals and take longer.

    bins : numeric columns are cut into this many quantile bins for marginals and Cramer's V.
    max_marginal_sets : at most this many 2-way and 3-way column sets are measured (a seeded random subset).
    dcr_rows : released records measured for DCR (a seeded sample; all when ``None``). 20,000 give the train
        share to about +-0.007.
    mia_candidates : member and non-member candidates per class in membership inference (capped by the holdout;
        all when ``None``). 10,000 per class give the AUC to about +-0.008.
    mia_k : the neighbour whose distance gives the density estimate of the density attack.
    tstr_rows : training rows per TSTR model (real and release).
    quality_rows : rows per table given to SDMetrics.
    anonymeter_rows, anonymeter_attacks : anonymeter's attacks (anonlab's implementation) target a sample of
        this many training records (and as many holdout records as the control), with up to ten times as many
        released records, and run this many attacks of each kind.
    anonymeter_seconds : wall-clock cap per anonymeter attack; an attack stopped by it is reported as not
        computed (the singling-out search is also bounded to a number of attempts proportional to the table).
    skip : parts of :data:`PARTS` to leave out.
    """

    bins: int = 10
    max_marginal_sets: int = 300
    dcr_rows: int | None = 20_000
    mia_candidates: int | None = 10_000
    mia_k: int = 5
    tstr_rows: int = 20_000
    quality_rows: int = 5_000
    anonymeter_rows: int = 3_000
    anonymeter_attacks: int = 300
    anonymeter_seconds: int = 60
    skip: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "skip", tuple(self.skip))
        unknown = set(self.skip) - set(PARTS)
        if unknown:
            raise UsageError(f"unknown evaluation part {sorted(unknown)[0]!r} (parts: {', '.join(PARTS)})")
        for f in fields(self):
            v = getattr(self, f.name)
            if (
                f.name != "skip"
                and v is not None
                and (not isinstance(v, int) or isinstance(v, bool) or v < 1)
            ):
                raise UsageError(f"evaluation setting {f.name} must be a whole number >= 1, got {v!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "recipe") -> EvaluationConfig:
        known = {f.name for f in fields(cls)}
        bad = set(data) - known
        if bad:
            raise UsageError(
                f"{source}: unknown [evaluate] setting {sorted(bad)[0]!r} (known: {', '.join(sorted(known))})"
            )
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)
        }


@dataclass(frozen=True)
class Evaluation:
    """Everything measured on one release. Reports and ``--json`` render from this; nothing is recomputed.

    ``assess`` holds :func:`anonlab.deid.risk.assess`'s figures on the release as published (generalised releases
    only). ``privacy`` is the privacy spent to make the release as its maker reported it (``None`` for methods
    with no formal guarantee). ``distributions`` holds, per column, the binned real and release distributions
    drawn in the report. ``baselines`` holds, per utility figure, the baselines its verdict was judged against
    (:mod:`anonlab.evaluation.verdicts`); ``flags`` the columns whose 1-way TV passed
    :data:`~anonlab.evaluation.verdicts.COLLAPSE_TV`; ``repeats`` the per-seed values of attacks repeated on a
    small holdout; ``types_from`` where the column types came from; ``task`` TSTR's task for the target.
    """

    label: str
    seed: int
    rows_real: int
    rows_release: int
    rows_holdout: int | None
    kinds: dict[str, str]
    target: str | None
    quasi: tuple[str, ...]
    config: EvaluationConfig
    decode: DecodeResult
    marginals: tuple[MarginalResult, ...] = ()
    associations: tuple[AssociationResult, ...] = ()
    tstr: TSTRResult | None = None
    quality: QualityResult | None = None
    dcr: DCRResult | None = None
    membership: MembershipResult | None = None
    anonymeter: AnonymeterResult | None = None
    assess: dict[str, Any] | None = None
    privacy: dict[str, Any] | None = None
    distributions: dict[str, dict[str, list]] = field(default_factory=dict)
    verdicts: tuple[Verdict, ...] = ()
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    baselines: dict[str, dict[str, float | None]] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    repeats: dict[str, list[float]] = field(default_factory=dict)
    types_from: str = "schema"
    task: str | None = None
    #: the user gave the seed: a secret, never written to a report, --json or summary line (only drawn seeds are)
    seed_given: bool = False

    # -- headline figures for the frontier -------------------------------------------------------------------
    def marginal(self, order: int) -> MarginalResult | None:
        for m in self.marginals:
            if m.order == order:
                return m
        return None

    def headline(self) -> dict[str, float | None]:
        """The figures a frontier plots: utilities (higher is better) and risks (higher is worse)."""
        m1, m2, m3 = (self.marginal(i) for i in (1, 2, 3))
        mia = self.membership
        return {
            "utility_1way": m1.score if m1 else None,
            "utility_2way": m2.score if m2 else None,
            "utility_3way": m3.score if m3 else None,
            "tstr_ratio": self.tstr.mean_ratio if self.tstr else None,
            "quality_score": self.quality.score if self.quality else None,
            "mia_auc": mia.max_auc if mia else None,
            "mia_auc_distance": mia.attack("distance").auc if mia else None,
            "mia_auc_density": mia.attack("density").auc if mia else None,
            "dcr_train_share": self.dcr.train_share if self.dcr else None,
            "exact_copy_share": self.dcr.exact_copy_share if self.dcr else None,
            "anonymeter_max_risk": self.anonymeter.max_risk if self.anonymeter else None,
            "k": None if self.assess is None else self.assess.get("k"),
        }

    def to_dict(self) -> dict[str, Any]:
        """Every figure as JSON-ready data; NaN and infinite floats become ``None`` (JSON has no NaN)."""
        from anonlab.evaluation.verdicts import RULE

        def d(x):
            return None if x is None else x.to_dict()

        return json_safe(
            {
                "label": self.label,
                "seed": None if self.seed_given else self.seed,
                "seed_given": self.seed_given,
                "rows": {"real": self.rows_real, "release": self.rows_release, "holdout": self.rows_holdout},
                "columns": self.kinds,
                "target": self.target,
                "quasi": list(self.quasi),
                "config": self.config.to_dict(),
                "generalisation": self.decode.to_dict(),
                "headline": self.headline(),
                "verdicts": [v.to_dict() for v in self.verdicts],
                "utility": {
                    "marginals": [m.to_dict() for m in self.marginals],
                    "associations": [a.to_dict() for a in self.associations],
                    "tstr": d(self.tstr),
                    "sdmetrics_quality": d(self.quality),
                },
                "risk": {
                    "dcr": d(self.dcr),
                    "membership": d(self.membership),
                    "anonymeter": d(self.anonymeter),
                    "assess": self.assess,
                },
                "privacy": self.privacy,
                "distributions": self.distributions,
                "notes": list(self.notes),
                "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
                "versions": self.versions,
                "verdict_rule": RULE,
                "baselines": self.baselines,
                "flags": list(self.flags),
                "repeats": self.repeats,
                "types_from": self.types_from,
                "task": self.task,
            }
        )


def _columns(real, release, holdout, schema, notes: list[str]) -> list[str]:
    cols = [c for c in real.columns if c in release.columns]
    if schema is not None:
        dropped = [
            c
            for c in cols
            if c in schema and (schema[c].role == "identifier" or schema[c].type in ("text", "date"))
        ]
        if dropped:
            notes.append(
                f"left out of every metric (identifier, free-text or date columns per the schema): {', '.join(dropped)}"
            )
        cols = [c for c in cols if c not in dropped]
    missing = [c for c in real.columns if c not in release.columns]
    if missing:
        notes.append(
            f"columns of the real table absent from the release, left out: {', '.join(map(str, missing))}"
        )
    extra = [c for c in release.columns if c not in real.columns]
    if extra:
        notes.append(f"release columns the real table lacks, ignored: {', '.join(map(str, extra))}")
    if not cols:
        raise InputError("the release shares no column with the real table")
    if holdout is not None:
        from anonlab.io import require_columns

        require_columns(holdout, cols, "holdout")
    return cols


def _distributions(disc, real_codes, rel_codes) -> dict[str, dict[str, list]]:
    import numpy as np

    out = {}
    for c in disc.kinds:
        n = disc.cardinality(c)
        p = np.bincount(real_codes[c].to_numpy(), minlength=n).astype(float)
        q = np.bincount(rel_codes[c].to_numpy(), minlength=n).astype(float)
        p, q = p / max(p.sum(), 1), q / max(q.sum(), 1)
        keep = (p > 0) | (q > 0)
        out[c] = {
            "labels": [lab for lab, k in zip(disc.labels(c), keep, strict=True) if k],
            "real": [float(v) for v in p[keep]],
            "release": [float(v) for v in q[keep]],
        }
    return out


def json_safe(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by ``None`` (JSON has no NaN), recursively. A figure that
    is undefined is reported as not computed, with its reason, by the part that computed it."""
    import math

    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    try:
        import numpy as np

        if isinstance(obj, np.floating):
            return json_safe(float(obj))
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.bool_):
            return bool(obj)
    except ImportError:  # pragma: no cover
        pass
    return obj


def evaluate(
    real: pd.DataFrame,
    release: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    *,
    schema=None,
    target: str | None = None,
    quasi: list[str] | None = None,
    sensitive: list[str] | None = None,
    config: EvaluationConfig | None = None,
    seed: int | None = None,
    label: str = "release",
    privacy: dict[str, Any] | None = None,
    progress: bool = False,
    baseline_cache: dict | None = None,
    seed_given: bool | None = None,
) -> Evaluation:
    """Measure ``release`` against ``real`` (the records it was made from) and, if given, ``holdout``.

    Every table is first typed alike (:func:`anonlab.evaluation.tables.align_tables`: the schema's types, or the
    types inferred from the real table), so a value compares equal whatever its formatting (``1``, ``1.0``,
    ``"1"``). Every utility figure is judged against baselines computed in the same run on the same binning
    (:mod:`anonlab.evaluation.baselines`, rule in :mod:`anonlab.evaluation.verdicts`). A part that cannot be
    computed is reported as not computed, with the reason; no metric stops the evaluation.

    Parameters
    ----------
    target : the column TSTR predicts and anonymeter's inference attack tries to learn. Default: the schema's
        first sensitive column, else the last column. A numeric target with two values, or a few whole-number
        codes (:func:`anonlab.evaluation.tstr.is_class_target`), is a class label, not a regression target.
    quasi : what an attacker is assumed to know about a person: the linkability attack's columns and the
        k-anonymity classes of a generalised release. Default: the schema's quasi-identifiers, else (for a
        generalised release) the generalised columns.
    sensitive : columns for ``assess``'s l-diversity and t-closeness (default: the schema's, else the target).
    config : sample sizes and parts to skip (:class:`EvaluationConfig`).
    seed : every sample and split is drawn from it, the anonymeter attacks' included; the same seed gives the
        same figures. A seed the caller gives is a secret
        and never appears in the result's reports (``seed`` is ``null``, ``seed_given`` true); without one, a seed
        is drawn and recorded so the run can be repeated.
    seed_given : whether ``seed`` is the user's (default: whether a seed was passed; a study passes its own).
    privacy : the privacy the release spent, as its maker reported it; copied into the report. When it states an
        epsilon, the DP 1-way baseline spends that budget.
    progress : show progress on stderr.
    baseline_cache : a dict shared by evaluations of several releases of the same real table and holdout under
        the same config (a study): the baselines are then computed once, by the first evaluation.
    """
    import numpy as np
    import pandas as pd
    from tqdm.auto import tqdm

    from anonlab.evaluation import verdicts as V
    from anonlab.evaluation.encoding import Discretiser, MixedEncoder
    from anonlab.evaluation.generalised import decode_generalised
    from anonlab.evaluation.tables import NUMERIC_TYPES, align_tables
    from anonlab.evaluation.tstr import is_class_target

    config = config or EvaluationConfig()
    seed_given = (seed is not None) if seed_given is None else bool(seed_given)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    timings: dict[str, float] = {}
    if len(real) < 2 or len(release) < 1:
        raise InputError("the real table needs at least 2 rows and the release at least 1")
    cols = _columns(real, release, holdout, schema, notes)
    t0 = time.perf_counter()
    aligned = align_tables(
        real[cols].reset_index(drop=True),
        release[cols].reset_index(drop=True),
        None if holdout is None else holdout[cols].reset_index(drop=True),
        schema,
    )
    notes += aligned.notes
    kinds = {c: "numeric" if t in NUMERIC_TYPES else "categorical" for c, t in aligned.types.items()}
    if not kinds:
        raise InputError("no column of the real table holds any value")
    cols = list(kinds)
    if target is None:
        sens = [c for c in (schema.with_role("sensitive") if schema is not None else []) if c in cols]
        target = sens[0] if sens else cols[-1]
    elif target not in cols:
        why = (
            "holds no value in the real table"
            if target in real.columns and target in release.columns
            else ("is not a column shared by the real table and the release")
        )
        raise UsageError(f"--target {target!r} {why}")
    for q in quasi or []:
        if q not in cols:
            raise UsageError(f"--quasi column {q!r} is not a column shared by the real table and the release")

    real, published, hold = aligned.real, aligned.release, aligned.holdout
    target_class = kinds[target] == "categorical" or is_class_target(real[target])
    if kinds[target] == "numeric" and target_class:
        notes.append(
            f"target {target!r} holds {real[target].nunique()} distinct numbers in the real table: it is scored as "
            "a class label (classification), not a regression"
        )
    domains = {c.name: c.categories for c in schema if c.categories} if schema is not None else None
    decoded, decode = decode_generalised(published, real, kinds, rng, domains)
    for c, k in kinds.items():
        if k == "numeric":  # plain float64 (not nullable Int64, which anonymeter's numba code cannot read)
            decoded[c] = pd.to_numeric(decoded[c], errors="coerce").astype(float)
            if pd.api.types.is_integer_dtype(real[c]) and decoded[c].notna().all():
                decoded[c] = decoded[c].round().astype("int64")
        else:
            decoded[c] = decoded[c].astype(object).where(decoded[c].notna(), None)
    if decode.generalised:
        notes.append(
            "generalised release: each generalised cell (interval, set, mask, *) was replaced by a value drawn "
            "uniformly within it before the utility and distance metrics; the figures describe that reading"
        )
    if quasi is None:
        sq = [c for c in (schema.with_role("quasi") if schema is not None else []) if c in cols]
        quasi = sq or ([c for c, n in decode.decoded.items() if n] if decode.generalised else None)
    if sensitive is None:
        ss = [c for c in (schema.with_role("sensitive") if schema is not None else []) if c in cols]
        sensitive = ss or [target]
    timings["decode"] = time.perf_counter() - t0

    todo = [p for p in PARTS if p not in config.skip]
    if {"tstr", "dcr", "membership"} & set(todo):
        from anonlab.errors import require_extra

        require_extra("eval", "sklearn", "evaluation (TSTR, distances to closest records, membership)")
    bar = tqdm(total=len(todo), desc=f"evaluate {label}", disable=not progress, leave=False, unit="part")
    vs: list[Verdict] = []
    out: dict[str, Any] = {}
    base: dict[str, dict[str, float | None]] = {}
    repeats: dict[str, list[float]] = {}
    flags: list[str] = []

    def run_part(name: str, fn) -> None:
        bar.set_postfix_str(name)
        t = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # no metric may sink the evaluation: report it as not computed, with why
            reason = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:200]
            notes.append(f"{name} not computed: {reason}")
            vs.append(V.not_computed(name, reason, "risk" if name in _RISK_PARTS else "utility"))
        timings[name] = time.perf_counter() - t
        bar.update(1)

    disc = Discretiser(kinds, bins=config.bins).fit(real)
    real_codes, rel_codes = disc.transform(real), disc.transform(decoded)
    card = {c: disc.cardinality(c) for c in kinds}
    out["distributions"] = _distributions(disc, real_codes, rel_codes)

    # -- baselines: computed once per real table and holdout (shared through baseline_cache in a study) ---------
    cache = baseline_cache if baseline_cache is not None else {}
    utility_parts = {"marginals", "associations", "tstr", "quality"} & set(todo)
    if utility_parts:
        from anonlab.evaluation.baselines import bootstrap, dp_budget, dp_one_way_codes, independent_columns

        if "tables" not in cache:
            brng = np.random.default_rng([seed, 1])
            indep = independent_columns(real, len(real), brng)
            if hold is not None:
                floor_t, floor_src = hold, "the holdout against the real table"
            else:
                floor_t = bootstrap(real, len(real), brng)
                floor_src = (
                    "a bootstrap resample of the real table (no holdout given: a real second sample would show "
                    "more sampling error)"
                )
            cache["tables"] = (indep, floor_t, floor_src)
        indep, floor_t, floor_src = cache["tables"]
        indep_codes, floor_codes = disc.transform(indep), disc.transform(floor_t)
        budget = dp_budget(privacy)
        dp_codes = None
        if budget is not None:
            key = ("dp codes", budget["epsilon"], budget["delta"], budget["rho"])
            if key not in cache:
                cache[key] = dp_one_way_codes(
                    real_codes, card, len(real), budget, np.random.default_rng([seed, 2])
                )
            dp_codes = cache[key]
        notes.append(
            f"utility baselines (same run, same binning): independent columns ({len(indep):,} rows, each column "
            f"resampled independently from the real table); sampling floor: {floor_src}"
            + (
                f"; DP 1-way baseline: epsilon {budget['epsilon']:g} spent on noisy 1-way marginals only"
                if budget is not None
                else ""
            )
        )

    def cached(key, fn, *args, **kwargs):
        if key not in cache:
            cache[key] = fn(*args, **kwargs)
        return cache[key]

    def part_marginals():
        from anonlab.evaluation.marginals import choose_sets, marginal_tvd

        ms = []
        for k in (1, 2, 3):
            if k > len(kinds):
                continue
            sets, _ = choose_sets(list(card), k, config.max_marginal_sets)
            m = marginal_tvd(real_codes, rel_codes, card, k, sets=sets)
            ms.append(m)
            bi = cached(("marg", k, "indep"), marginal_tvd, real_codes, indep_codes, card, k, sets=sets)
            bf = cached(("marg", k, "floor"), marginal_tvd, real_codes, floor_codes, card, k, sets=sets)
            bd = None
            if dp_codes is not None:
                bd = cached(
                    ("marg", k, "dp", id(dp_codes)),
                    marginal_tvd,
                    real_codes,
                    dp_codes,
                    card,
                    k,
                    sets=sets,
                ).mean_tvd
            if k == 1:
                vs.append(
                    V.one_way_verdict(
                        m.mean_tvd, floor=bf.mean_tvd, dp_1way=bd, worst=m.worst, max_tvd=m.max_tvd
                    )
                )
                for col, tv in m.per_set.items():
                    if tv > V.COLLAPSE_TV and tv > 2 * bf.per_set.get(col, 0.0):
                        flags.append(
                            f"column {col!r}: 1-way TV {tv:.3f} in the release exceeds {V.COLLAPSE_TV} (the floor "
                            f"is {bf.per_set.get(col, float('nan')):.3f}): the method collapsed or smeared this "
                            "column's distribution"
                        )
            else:
                vs.append(
                    V.relative_verdict(
                        f"{k}-way marginal TVD (mean)",
                        m.mean_tvd,
                        independent=bi.mean_tvd,
                        floor=bf.mean_tvd,
                        dp_1way=bd,
                    )
                )
            base[f"marginals_{k}way"] = {
                "independent columns": bi.mean_tvd,
                "sampling floor": bf.mean_tvd,
                **({"DP 1-way baseline": bd} if bd is not None else {}),
            }
        out["marginals"] = tuple(ms)

    def part_associations():
        from anonlab.evaluation import associations as A

        num = [c for c, k in kinds.items() if k == "numeric"]
        cat = [c for c, k in kinds.items() if k == "categorical"]
        fns = {
            "pearson": (num, lambda t, codes: A.pearson_matrix(t, num)),
            "cramers_v": (cat, lambda t, codes: A.cramers_v_matrix(codes, cat, card)),
            "theils_u": (cat, lambda t, codes: A.theils_u_matrix(codes, cat, card)),
        }
        res = []
        names = {"pearson": "correlation", "cramers_v": "Cramer's V", "theils_u": "Theil's U"}
        for kind, (cs, fn) in fns.items():
            ref = cached(("assoc real", kind), fn, real, real_codes)
            a = A.compare_matrices(kind, cs, ref, fn(decoded, rel_codes))
            res.append(a)
            metric = f"{names[kind]} difference (mean abs)"
            if a.mean_abs_diff is None:
                vs.append(V.Verdict(metric, "n/a", "n/a", "fewer than two such columns", "utility"))
                continue
            bi = cached(("assoc", kind, "indep"), A.compare_matrices, kind, cs, ref, fn(indep, indep_codes))
            bf = cached(("assoc", kind, "floor"), A.compare_matrices, kind, cs, ref, fn(floor_t, floor_codes))
            vs.append(
                V.relative_verdict(
                    metric, a.mean_abs_diff, independent=bi.mean_abs_diff, floor=bf.mean_abs_diff
                )
            )
            base[f"associations_{kind}"] = {
                "independent columns": bi.mean_abs_diff,
                "sampling floor": bf.mean_abs_diff,
            }
        out["associations"] = tuple(res)

    def part_tstr():
        from anonlab.evaluation.tstr import train_synthetic_test_real

        if real[target].nunique(dropna=True) < 2:
            notes.append(f"TSTR skipped: target {target!r} has a single value in the real table")
            return
        if len(kinds) < 2:
            notes.append(f"TSTR skipped: no column beside the target {target!r} to predict it from")
            return
        if hold is not None:
            fit_real, test, where = real, hold, "holdout (real records the release never saw)"
        else:
            order = rng.permutation(len(real))
            cut = int(len(real) * 0.7)
            fit_real, test = real.iloc[order[:cut]], real.iloc[order[cut:]]
            where = (
                "30% of the real table, which the release was made from: without a holdout TSTR is "
                "optimistic for a release that memorised"
            )
        tkinds = {**kinds, target: "categorical"} if target_class else kinds
        res = train_synthetic_test_real(
            fit_real, decoded, test, target, tkinds, test_set=where, seed=seed, max_rows=config.tstr_rows
        )
        # independent columns carry no information about the target: a learner fitted to them is worth a constant
        # prediction in expectation (its sampled score scatters around that by +-0.1 AUC on 1,000 rows, since AUC
        # rewards a direction picked by chance), so TSTR's baseline is the constant prediction's score on the
        # same test records, computed in this run
        ind = {m.model: res.constant for m in res.models}
        out["tstr"] = replace(res, baselines={"independent columns": ind})
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

    def part_quality():
        from anonlab.evaluation.quality import sdmetrics_quality

        q = sdmetrics_quality(real, decoded, kinds, seed=seed, max_rows=config.quality_rows)
        out["quality"] = q
        if q.score is None:
            vs.append(V.not_computed("SDMetrics quality score", q.error or "SDMetrics failed"))
            return
        qi = cached(
            "quality indep",
            lambda: sdmetrics_quality(real, indep, kinds, seed=seed, max_rows=config.quality_rows),
        )
        qf = cached(
            "quality floor",
            lambda: sdmetrics_quality(real, floor_t, kinds, seed=seed, max_rows=config.quality_rows),
        )
        vs.append(
            V.relative_verdict(
                "SDMetrics quality score",
                q.score,
                independent=qi.score,
                floor=qf.score,
                higher_is_better=True,
            )
        )
        base["sdmetrics_quality"] = {"independent columns": qi.score, "sampling floor": qf.score}

    if "marginals" in todo:
        run_part("marginals", part_marginals)
    if "associations" in todo:
        run_part("associations", part_associations)
    if "tstr" in todo:
        run_part("tstr", part_tstr)
    if "quality" in todo:
        run_part("quality", part_quality)

    n_rep = V.REPEATS if hold is not None and len(hold) < V.SMALL_HOLDOUT else 1
    enc_box: dict[str, Any] = {}

    def encoded():
        if not enc_box:
            enc = MixedEncoder(kinds).fit(real)
            enc_box.update(x_real=enc.transform(real), x_rel=enc.transform(decoded))
            enc_box["x_hold"] = None if hold is None else enc.transform(hold)
        return enc_box["x_real"], enc_box["x_rel"], enc_box["x_hold"]

    def part_dcr():
        from anonlab.evaluation.distance import distance_to_closest

        x_real, x_rel, x_hold = encoded()
        d = distance_to_closest(x_real, x_rel, x_hold, rng=rng, max_release=config.dcr_rows)
        out["dcr"] = d
        vs.append(V.copy_verdict(d.exact_copy_share, d.holdout_copy_share, d.n_release))
        if d.train_share is not None:
            vs.append(V.share_verdict(d.train_share, d.train_share_ci, d.expected_share))

    def part_membership():
        if hold is None or len(hold) < 4:
            notes.append("membership inference skipped: it needs a holdout of at least 4 records (--holdout)")
            return
        from anonlab.evaluation.membership import membership_inference

        x_real, x_rel, x_hold = encoded()
        runs = [
            membership_inference(
                x_real,
                x_rel,
                x_hold,
                rng=rng if r == 0 else np.random.default_rng([seed, 100 + r]),
                k=config.mia_k,
                max_candidates=config.mia_candidates,
            )
            for r in range(n_rep)
        ]
        worst = []
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
        out["membership"] = replace(runs[0], attacks=tuple(worst))
        if n_rep > 1:
            notes.append(
                f"small holdout ({len(hold):,} records): membership inference was repeated over {n_rep} seeds; "
                "each attack's figure and verdict are its most pessimistic repetition"
            )

    def part_anonymeter():
        if hold is None or len(hold) < 10:
            notes.append("anonymeter attacks skipped: they need a holdout as the control set (--holdout)")
            return
        from anonlab.evaluation.attacks import anonymeter_risks

        runs = [
            anonymeter_risks(
                real,
                decoded,
                hold,
                secret=target,
                secret_numeric=not target_class,
                quasi=quasi,
                seed=seed + 7919 * r,
                rows=config.anonymeter_rows,
                n_attacks=config.anonymeter_attacks,
                seconds=float(config.anonymeter_seconds),
            )
            for r in range(n_rep)
        ]
        a0 = runs[0]
        worst = []
        for risk in a0.risks:
            alls = [x for run in runs for x in run.risks if x.name == risk.name]
            ok = [x for x in alls if x.value is not None]
            w = max(ok, key=lambda x: x.value) if ok else risk
            vals = [x.value for x in ok]
            if n_rep > 1 and vals:
                repeats[f"anonymeter {risk.name}"] = vals
                w = replace(w, detail={**w.detail, "repeats": vals})
            worst.append(w)
            vs.append(
                V.anonymeter_verdict(
                    w.name,
                    w.value,
                    w.ci,
                    w.error,
                    spread=(min(vals), max(vals)) if vals else None,
                    repeats=n_rep if vals else None,
                )
            )
        a = replace(a0, risks=tuple(worst), repeats=n_rep)
        out["anonymeter"] = a
        cap = (
            f"each attack capped at {a.seconds:g} s"
            if a.time_capped
            else "no time cap (not in the main thread)"
        )
        notes.append(
            f"{a.method}: its attacks targeted a seeded sample of {a.rows} training and {a.rows} "
            f"holdout records ({a.n_attacks} attacks each, {a.release_rows} released records), so its "
            f"intervals are wide; the singling-out search was bounded to {a.max_attempts:,} query attempts, {cap}"
            + (
                f"; repeated over {n_rep} seeds (small holdout), verdict at the most pessimistic"
                if n_rep > 1
                else ""
            )
        )
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

    def part_assess():
        if not decode.generalised:
            return
        if not quasi:
            notes.append("k-anonymity not assessed: no quasi-identifiers known (--quasi)")
            return
        try:
            from anonlab.deid.risk import assess
        except ImportError:
            notes.append("k-anonymity not assessed: anonlab.deid.risk is not available")
            return
        sens = [s for s in sensitive if s not in quasi]
        r = assess(published, list(quasi), sensitive=sens, source=label)
        out["assess"] = r.to_dict()
        vs.append(V.k_verdict(r.k, r.prosecutor.highest, r.sample_uniques))

    for name, fn in (
        ("dcr", part_dcr),
        ("membership", part_membership),
        ("anonymeter", part_anonymeter),
        ("assess", part_assess),
    ):
        if name in todo:
            run_part(name, fn)
    bar.close()
    timings["total"] = time.perf_counter() - t0
    for f in flags:
        notes.append("warning: " + f)

    return Evaluation(
        label=label,
        seed=seed,
        rows_real=len(real),
        rows_release=len(published),
        rows_holdout=None if hold is None else len(hold),
        kinds=kinds,
        target=target,
        quasi=tuple(quasi or ()),
        config=config,
        decode=decode,
        marginals=out.get("marginals", ()),
        associations=out.get("associations", ()),
        tstr=out.get("tstr"),
        quality=out.get("quality"),
        dcr=out.get("dcr"),
        membership=out.get("membership"),
        anonymeter=out.get("anonymeter"),
        assess=out.get("assess"),
        privacy=privacy,
        distributions=out["distributions"],
        verdicts=tuple(vs),
        notes=tuple(notes),
        timings=timings,
        versions=versions("scikit-learn", "scipy", "sdmetrics", "anonymeter", "matplotlib"),
        baselines=base,
        flags=tuple(flags),
        repeats=repeats,
        types_from=aligned.source,
        task="classification" if target_class else "regression",
        seed_given=seed_given,
    )


def seed_text(seed: int, given: bool) -> str:
    """How a report names the run's seed: a seed the user gave is a secret and never shown."""
    return "seed given (secret, not shown)" if given else f"seed {seed}"


_RISK_PARTS = ("dcr", "membership", "anonymeter", "assess")


def relabel(ev: Evaluation, label: str) -> Evaluation:
    """A copy of ``ev`` under another label."""
    return replace(ev, label=label)
