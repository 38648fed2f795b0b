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
    anonymeter_rows, anonymeter_attacks : anonymeter is slow, so its attacks target a sample of this many
        training records (and as many holdout records as the control), with up to ten times as many released
        records, and it runs this many attacks of each kind.
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
    drawn in the report.
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
        def d(x):
            return None if x is None else x.to_dict()

        return {
            "label": self.label,
            "seed": self.seed,
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
        }


def versions() -> dict[str, str]:
    """Versions of anonlab and the libraries whose numbers the metrics depend on."""
    from importlib.metadata import PackageNotFoundError, version

    import anonlab

    out = {"anonlab": anonlab.__version__}
    for pkg in ("numpy", "pandas", "scikit-learn", "scipy", "sdmetrics", "anonymeter", "matplotlib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


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
) -> Evaluation:
    """Measure ``release`` against ``real`` (the records it was made from) and, if given, ``holdout``.

    Parameters
    ----------
    target : the column TSTR predicts and anonymeter's inference attack tries to learn. Default: the schema's
        first sensitive column, else the last column.
    quasi : what an attacker is assumed to know about a person: the linkability attack's columns and the
        k-anonymity classes of a generalised release. Default: the schema's quasi-identifiers, else (for a
        generalised release) the generalised columns.
    sensitive : columns for ``assess``'s l-diversity and t-closeness (default: the schema's, else the target).
    config : sample sizes and parts to skip (:class:`EvaluationConfig`).
    seed : every sample and split is drawn from it; the same seed gives the same figures (except anonymeter's
        linkability and inference, which sample without a seed internally).
    privacy : the privacy the release spent, as its maker reported it; copied into the report.
    progress : show progress on stderr.
    """
    import numpy as np
    import pandas as pd
    from tqdm.auto import tqdm

    from anonlab.evaluation import verdicts as V
    from anonlab.evaluation.encoding import Discretiser, MixedEncoder, column_kinds
    from anonlab.evaluation.generalised import decode_generalised

    config = config or EvaluationConfig()
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    timings: dict[str, float] = {}
    if len(real) < 2 or len(release) < 1:
        raise InputError("the real table needs at least 2 rows and the release at least 1")
    cols = _columns(real, release, holdout, schema, notes)
    kinds = column_kinds(real[cols], schema)
    if target is None:
        sens = [c for c in (schema.with_role("sensitive") if schema is not None else []) if c in cols]
        target = sens[0] if sens else cols[-1]
    elif target not in cols:
        raise UsageError(f"--target {target!r} is not a column shared by the real table and the release")
    for q in quasi or []:
        if q not in cols:
            raise UsageError(f"--quasi column {q!r} is not a column shared by the real table and the release")

    t0 = time.perf_counter()
    real = real[cols].reset_index(drop=True)
    published = release[cols].reset_index(drop=True)
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
    hold = None if holdout is None else holdout[cols].reset_index(drop=True)
    if quasi is None:
        sq = [c for c in (schema.with_role("quasi") if schema is not None else []) if c in cols]
        quasi = sq or ([c for c, n in decode.decoded.items() if n] if decode.generalised else None)
    if sensitive is None:
        ss = [c for c in (schema.with_role("sensitive") if schema is not None else []) if c in cols]
        sensitive = ss or [target]
    timings["decode"] = time.perf_counter() - t0

    todo = [p for p in PARTS if p not in config.skip]
    bar = tqdm(total=len(todo), desc=f"evaluate {label}", disable=not progress, leave=False, unit="part")
    vs: list[Verdict] = []
    out: dict[str, Any] = {}

    def step(name: str):
        bar.set_postfix_str(name)
        return time.perf_counter()

    def done(name: str, t: float):
        timings[name] = time.perf_counter() - t
        bar.update(1)

    disc = Discretiser(kinds, bins=config.bins).fit(real)
    real_codes, rel_codes = disc.transform(real), disc.transform(decoded)
    card = {c: disc.cardinality(c) for c in kinds}
    out["distributions"] = _distributions(disc, real_codes, rel_codes)

    if "marginals" in todo:
        from anonlab.evaluation.marginals import marginal_tvd

        t = step("marginals")
        ms = tuple(
            marginal_tvd(real_codes, rel_codes, card, k, rng=rng, max_sets=config.max_marginal_sets)
            for k in (1, 2, 3)
            if k <= len(kinds)
        )
        out["marginals"] = ms
        vs += [V.tvd_verdict(m.order, m.mean_tvd, m.worst, m.max_tvd) for m in ms]
        done("marginals", t)

    if "associations" in todo:
        from anonlab.evaluation import associations as A

        t = step("associations")
        num = [c for c, k in kinds.items() if k == "numeric"]
        cat = [c for c, k in kinds.items() if k == "categorical"]
        res = (
            A.compare_matrices("pearson", num, A.pearson_matrix(real, num), A.pearson_matrix(decoded, num)),
            A.compare_matrices(
                "cramers_v",
                cat,
                A.cramers_v_matrix(real_codes, cat, card),
                A.cramers_v_matrix(rel_codes, cat, card),
            ),
            A.compare_matrices(
                "theils_u",
                cat,
                A.theils_u_matrix(real_codes, cat, card),
                A.theils_u_matrix(rel_codes, cat, card),
            ),
        )
        out["associations"] = res
        vs += [V.diff_verdict(a.kind, a.mean_abs_diff) for a in res]
        done("associations", t)

    if "tstr" in todo:
        from anonlab.evaluation.tstr import train_synthetic_test_real

        t = step("tstr")
        if real[target].nunique(dropna=True) < 2:
            notes.append(f"TSTR skipped: target {target!r} has a single value in the real table")
        else:
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
            res = train_synthetic_test_real(
                fit_real, decoded, test, target, kinds, test_set=where, seed=seed, max_rows=config.tstr_rows
            )
            out["tstr"] = res
            vs += [V.ratio_verdict(m.model, m.metric, m.real, m.release, m.ratio) for m in res.models]
        done("tstr", t)

    if "quality" in todo:
        from anonlab.evaluation.quality import sdmetrics_quality

        t = step("quality")
        q = sdmetrics_quality(real, decoded, kinds, seed=seed, max_rows=config.quality_rows)
        out["quality"] = q
        vs.append(V.score_verdict(q.score, q.error))
        done("quality", t)

    need_enc = any(p in todo for p in ("dcr", "membership"))
    if need_enc:
        enc = MixedEncoder(kinds).fit(real)
        x_real, x_rel = enc.transform(real), enc.transform(decoded)
        x_hold = None if hold is None else enc.transform(hold)

    if "dcr" in todo:
        from anonlab.evaluation.distance import distance_to_closest

        t = step("dcr")
        d = distance_to_closest(x_real, x_rel, x_hold, rng=rng, max_release=config.dcr_rows)
        out["dcr"] = d
        vs.append(V.copy_verdict(d.exact_copy_share, d.holdout_copy_share, d.n_release))
        if d.train_share is not None:
            vs.append(V.share_verdict(d.train_share, d.train_share_ci, d.expected_share))
        done("dcr", t)

    if "membership" in todo:
        t = step("membership")
        if hold is None or len(hold) < 4:
            notes.append("membership inference skipped: it needs a holdout of at least 4 records (--holdout)")
        else:
            from anonlab.evaluation.membership import membership_inference

            m = membership_inference(
                x_real, x_rel, x_hold, rng=rng, k=config.mia_k, max_candidates=config.mia_candidates
            )
            out["membership"] = m
            vs += [V.auc_verdict(a.name, a.auc, a.auc_ci, a.tpr_at_1pct_fpr) for a in m.attacks]
        done("membership", t)

    if "anonymeter" in todo:
        t = step("anonymeter")
        if hold is None or len(hold) < 10:
            notes.append("anonymeter attacks skipped: they need a holdout as the control set (--holdout)")
        else:
            from anonlab.evaluation.attacks import anonymeter_risks

            a = anonymeter_risks(
                real,
                decoded,
                hold,
                secret=target,
                secret_numeric=kinds[target] == "numeric",
                quasi=quasi,
                seed=seed,
                rows=config.anonymeter_rows,
                n_attacks=config.anonymeter_attacks,
            )
            out["anonymeter"] = a
            notes.append(
                f"anonymeter is slow: its attacks targeted a seeded sample of {a.rows} training and {a.rows} "
                f"holdout records ({a.n_attacks} attacks each, {a.release_rows} released records), so its "
                "intervals are wide"
            )
            vs += [V.anonymeter_verdict(r.name, r.value, r.ci, r.error) for r in a.risks]
        done("anonymeter", t)

    if "assess" in todo:
        t = step("assess")
        if decode.generalised:
            if not quasi:
                notes.append("k-anonymity not assessed: no quasi-identifiers known (--quasi)")
            else:
                try:
                    from anonlab.deid.risk import assess
                except ImportError:
                    notes.append("k-anonymity not assessed: anonlab.deid.risk is not available")
                else:
                    sens = [s for s in sensitive if s not in quasi]
                    r = assess(published, list(quasi), sensitive=sens, source=label)
                    out["assess"] = r.to_dict()
                    vs.append(V.k_verdict(r.k, r.prosecutor.highest, r.sample_uniques))
        done("assess", t)
    bar.close()
    timings["total"] = time.perf_counter() - t0

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
        versions=versions(),
    )


def relabel(ev: Evaluation, label: str) -> Evaluation:
    """A copy of ``ev`` under another label."""
    return replace(ev, label=label)
