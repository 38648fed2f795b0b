"""A study: release one table by several methods, evaluate every release the same way, draw the frontier.

A recipe (TOML) names the methods and their parameter grids; :func:`run_study` splits the input into training and
holdout records once (seeded), releases the training records by each method, evaluates each release against the
same holdout with :func:`~anonlab.evaluation.evaluate.evaluate`, and returns a :class:`StudyResult` that the
report draws as a privacy-utility frontier. Methods are the other layers' library entry points:

- ``copy``: the training records themselves, the no-protection reference (a non-private baseline);
- ``kanonymity``: :func:`anonlab.deid.anonymize.anonymize` at each ``k`` (and ``l``, ``t``) of the grid;
- ``synth``: a registered :mod:`anonlab.synth` synthesizer at each ``epsilon`` (differentially private ones), or
  once (the SDV baselines, which give no formal guarantee and are marked as non-private baselines).

A release that fails (a method missing, a domain the DP method refuses) is recorded with its error and the study
goes on; the report lists it.

A study is an experiment, not a release. It releases the same training records many times on purpose: each DP
release in a study is a separate release of the same people, and the per-release epsilons do not compose into a
guarantee for the study's outputs taken together (their sum is the only bound, and the study's report says so). The
study therefore fits its DP synthesizers without a privacy ledger, explicitly and knowingly: the
:class:`~anonlab.errors.PrivacyWarning` a ledger-less fit emits is silenced around the study's own fits, and the
statement :data:`STUDY_PRIVACY` goes into the study's notes and report instead. Synthesizers are called through
the library (``fit`` / ``sample``), never through the ``anonlab synth`` command.

Each synthesizer behaves as ``anonlab synth`` does: ``delta`` defaults to 1e-9, and the release has the method's
default row count (for a DP method, its DP estimate of the training records' count), not exactly ``len(train)``.

Recipe format::

    [study]
    name = "adult"
    holdout_fraction = 0.5          # share of the input kept back, never seen by any method
    target = "income-per-year"      # TSTR target and inference secret
    quasi = ["age", "sex", ...]     # attacker knowledge; k-anonymity's quasi-identifiers
    sensitive = ["income-per-year"]
    schema = "adult"                # the bundled Adult schema, or a TOML path relative to the recipe
    frontier = [["mia_auc", "utility_2way"]]   # (risk, utility) pairs to plot

    [evaluate]                      # EvaluationConfig settings
    anonymeter_rows = 2000

    [[release]]
    method = "kanonymity"
    k = [5, 20, 100]

    [[release]]
    method = "synth"
    synthesizer = "mst"
    epsilon = [0.5, 2.0]
    delta = 1e-9                    # the default, as for anonlab synth
"""

from __future__ import annotations

import itertools
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anonlab.errors import AnonlabError, InputError, MissingExtraError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.evaluation.evaluate import Evaluation

__all__ = [
    "Recipe",
    "ReleaseSpec",
    "StudyResult",
    "run_study",
    "default_recipe_path",
    "AXES",
    "STUDY_PRIVACY",
    "DEFAULT_DELTA",
]

#: delta of a study's DP releases when the recipe gives none: the same default as ``anonlab synth``.
DEFAULT_DELTA = 1e-9

#: What a study's report says about privacy.
STUDY_PRIVACY = (
    "This study is an experiment, not a release. It releases the same training records many times on purpose: "
    "each DP release here is a separate release of the same people, and the per-release epsilons do not compose "
    "into a guarantee for the study's outputs taken together (no budget was set for the study as a whole; together "
    "they are bounded only by the sum of the epsilons, which no ledger checked). The study's DP fits ran "
    "without a privacy ledger, explicitly and knowingly; publish none of these outputs as a release: make a real "
    "release with anonlab synth, charged to a ledger."
)

#: Headline figures a frontier may plot, with their axis labels. Risks first, then utilities.
AXES = {
    "mia_auc": "membership AUC (best attack)",
    "mia_auc_distance": "membership AUC (distance attack)",
    "mia_auc_density": "membership AUC (density attack)",
    "dcr_train_share": "DCR share closer to train",
    "exact_copy_share": "share of exact copies",
    "anonymeter_max_risk": "anonymeter risk (largest of the attacks)",
    "utility_1way": "1 - mean 1-way TVD",
    "utility_2way": "1 - mean 2-way TVD",
    "utility_3way": "1 - mean 3-way TVD",
    "tstr_ratio": "TSTR / TRTR (mean of models)",
    "quality_score": "SDMetrics quality score",
}
_RISKS = (
    "mia_auc",
    "mia_auc_distance",
    "mia_auc_density",
    "dcr_train_share",
    "exact_copy_share",
    "anonymeter_max_risk",
)
METHODS = ("copy", "kanonymity", "synth")
_KANON_GRID = ("k", "l", "t")
_SYNTH_KEYS = {"method", "synthesizer", "epsilon", "delta", "params", "label", "bins", "trust_domains"}


def default_recipe_path() -> Path:
    """The default study shipped with anonlab (UCI Adult)."""
    from importlib import resources

    return Path(str(resources.files("anonlab.evaluation").joinpath("recipes/default.toml")))


def _list(v: Any) -> list:
    return list(v) if isinstance(v, list | tuple) else [v]


@dataclass(frozen=True)
class ReleaseSpec:
    """One release of a study: ``method``, a ``label`` for the report, the ``param`` text shown beside its point,
    and the keyword arguments of the method (``options``)."""

    method: str
    label: str
    param: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "label": self.label, "param": self.param, "options": self.options}


@dataclass(frozen=True)
class Recipe:
    """A parsed study recipe (see the module docstring for the format)."""

    name: str
    holdout_fraction: float
    rows: int | None
    target: str | None
    quasi: tuple[str, ...]
    sensitive: tuple[str, ...]
    schema: str | None
    trust_domains: bool
    frontier: tuple[tuple[str, str], ...]
    evaluate: dict[str, Any]
    releases: tuple[ReleaseSpec, ...]
    source: str = "recipe"

    @classmethod
    def read(cls, path: str | Path) -> Recipe:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such recipe file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not a valid TOML recipe ({exc})") from None
        return cls.from_dict(data, str(path), base=path.parent)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "recipe", base: Path | None = None) -> Recipe:
        extra = set(data) - {"study", "evaluate", "release"}
        if extra:
            raise UsageError(
                f"{source}: unknown table {sorted(extra)[0]!r} (use [study], [evaluate], [[release]])"
            )
        st = dict(data.get("study", {}))
        known = {
            "name",
            "holdout_fraction",
            "rows",
            "target",
            "quasi",
            "sensitive",
            "schema",
            "trust_domains",
            "frontier",
        }
        bad = set(st) - known
        if bad:
            raise UsageError(
                f"{source}: unknown [study] key {sorted(bad)[0]!r} (known: {', '.join(sorted(known))})"
            )
        hf = st.get("holdout_fraction", 0.5)
        if not isinstance(hf, int | float) or not 0 < hf < 1:
            raise UsageError(f"{source}: holdout_fraction must lie strictly between 0 and 1, got {hf!r}")
        rows = st.get("rows") or None
        if rows is not None and (not isinstance(rows, int) or rows < 10):
            raise UsageError(
                f"{source}: rows must be a whole number of at least 10 (or 0 for all), got {rows!r}"
            )
        frontier = tuple(tuple(p) for p in st.get("frontier", [["mia_auc", "utility_2way"]]))
        for p in frontier:
            if len(p) != 2 or p[0] not in _RISKS or p[1] not in AXES or p[1] in _RISKS:
                raise UsageError(
                    f"{source}: frontier entries are [risk, utility] pairs; risks: {', '.join(_RISKS)}; "
                    f"utilities: {', '.join(k for k in AXES if k not in _RISKS)}; got {list(p)!r}"
                )
        schema = st.get("schema")
        if schema is not None and schema != "adult" and base is not None and not Path(schema).is_absolute():
            schema = str(base / schema)
        evaluate = dict(data.get("evaluate", {}))
        from anonlab.evaluation.evaluate import EvaluationConfig

        EvaluationConfig.from_dict(evaluate, source)  # validate now, not after the first release
        rels = data.get("release", [])
        if not isinstance(rels, list) or not rels:
            raise UsageError(f"{source}: no [[release]] tables: name at least one method")
        specs: list[ReleaseSpec] = []
        for i, r in enumerate(rels, 1):
            specs.extend(_expand(r, f"{source}: release {i}"))
        labels = [s.label for s in specs]
        dupes = {x for x in labels if labels.count(x) > 1}
        if dupes:
            raise UsageError(
                f"{source}: two releases are labelled {sorted(dupes)[0]!r}; give each a distinct label"
            )
        return cls(
            name=str(st.get("name", Path(source).stem)),
            holdout_fraction=float(hf),
            rows=rows,
            target=st.get("target"),
            quasi=tuple(st.get("quasi", ())),
            sensitive=tuple(st.get("sensitive", ())),
            schema=schema,
            trust_domains=bool(st.get("trust_domains", False)),
            frontier=frontier,
            evaluate=evaluate,
            releases=tuple(specs),
            source=source,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "holdout_fraction": self.holdout_fraction,
            "rows": self.rows,
            "target": self.target,
            "quasi": list(self.quasi),
            "sensitive": list(self.sensitive),
            "schema": self.schema,
            "trust_domains": self.trust_domains,
            "frontier": [list(p) for p in self.frontier],
            "evaluate": self.evaluate,
            "releases": [s.to_dict() for s in self.releases],
        }


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _expand(r: dict[str, Any], where: str) -> list[ReleaseSpec]:
    """One [[release]] table to its releases (the product of its parameter lists)."""
    if not isinstance(r, dict) or "method" not in r:
        raise UsageError(f"{where}: needs method = one of {', '.join(METHODS)}")
    method = r["method"]
    if method == "copy":
        return [ReleaseSpec("copy", r.get("label", "copy of train"), "train", {})]
    if method == "kanonymity":
        grid = {k: _list(r[k]) for k in _KANON_GRID if k in r}
        if "k" not in grid:
            raise UsageError(f"{where}: kanonymity needs k (a number or a list)")
        fixed = {k: v for k, v in r.items() if k not in (*_KANON_GRID, "method", "label")}
        out = []
        for combo in itertools.product(*grid.values()):
            opts = dict(zip(grid, combo, strict=True))
            param = ", ".join(f"{k}={_fmt(v)}" for k, v in opts.items())
            out.append(
                ReleaseSpec(
                    "kanonymity", f"{r.get('label', 'k-anonymity')} {param}", param, {**fixed, **opts}
                )
            )
        return out
    if method == "synth":
        bad = set(r) - _SYNTH_KEYS
        if bad:
            raise UsageError(
                f"{where}: unknown key {sorted(bad)[0]!r} (known: {', '.join(sorted(_SYNTH_KEYS))})"
            )
        name = r.get("synthesizer")
        if not name:
            raise UsageError(
                f"{where}: synth needs synthesizer = a method name (anonlab synth --help lists them)"
            )
        params = dict(r.get("params", {}))
        common = {
            "synthesizer": name,
            "params": params,
            "delta": float(r.get("delta", DEFAULT_DELTA)),
            "bins": r.get("bins"),
            "trust_domains": r.get("trust_domains"),
        }
        label = r.get("label", name)
        if "epsilon" not in r:
            return [ReleaseSpec("synth", label, "no DP", {**common, "epsilon": None})]
        return [
            ReleaseSpec(
                "synth",
                f"{label} eps={_fmt(float(e))}",
                f"eps={_fmt(float(e))}",
                {**common, "epsilon": float(e)},
            )
            for e in _list(r["epsilon"])
        ]
    raise UsageError(f"{where}: unknown method {method!r} (use one of {', '.join(METHODS)})")


@dataclass(frozen=True)
class StudyResult:
    """A study's outcome: one evaluation per release that succeeded, and the failures.

    ``meta`` holds, per release label: method, param, whether it is a non-private baseline, the privacy it
    spent (or ``None``), the seconds its release took, and what the method itself reported.
    """

    name: str
    seed: int
    rows_input: int
    rows_train: int
    rows_holdout: int
    recipe: Recipe
    evaluations: tuple[Evaluation, ...]
    meta: dict[str, dict[str, Any]]
    failures: tuple[dict[str, str], ...]
    notes: tuple[str, ...]
    seconds: float
    #: the user gave the seed (``--seed``): a secret (it seeds the DP releases), never written to the report
    seed_given: bool = False

    def axes(self) -> list[tuple[tuple[str, str], tuple[str, str]]]:
        return [((x, AXES[x]), (y, AXES[y])) for x, y in self.recipe.frontier]

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per evaluated release: meta and headline figures (what the frontier and table show)."""
        out = []
        for ev in self.evaluations:
            m = self.meta[ev.label]
            priv = m.get("privacy")
            row = {
                "label": ev.label,
                "method": m["method_name"],
                "param": m["param"],
                "baseline": m["baseline"],
                "epsilon": priv.get("epsilon") if isinstance(priv, dict) else None,
                "delta": priv.get("delta") if isinstance(priv, dict) else None,
                "privacy": priv,
                "seconds_release": round(m["seconds"], 2),
                "seconds_evaluate": round(ev.timings.get("total", 0.0), 2),
            }
            row.update(ev.headline())
            out.append(row)
        return out

    def frontier(self, x: str, y: str) -> list[str]:
        """Labels of the releases on the Pareto frontier of ``(x risk, y utility)``."""
        from anonlab.evaluation.plots import pareto_front

        pts = [r for r in self.rows() if r.get(x) is not None and r.get(y) is not None]
        return [r["label"] for r in pareto_front(pts, x, y)]

    def to_dict(self) -> dict[str, Any]:
        """Every figure as JSON-ready data (NaN and infinite floats become ``None``)."""
        from anonlab.evaluation.evaluate import json_safe

        return json_safe(
            {
                "study": self.name,
                "seed": None if self.seed_given else self.seed,
                "seed_given": self.seed_given,
                "rows": {"input": self.rows_input, "train": self.rows_train, "holdout": self.rows_holdout},
                "recipe": self.recipe.to_dict(),
                "summary": [{k: v for k, v in r.items()} for r in self.rows()],
                "frontiers": [
                    {"risk": x, "utility": y, "on_frontier": self.frontier(x, y)}
                    for x, y in self.recipe.frontier
                ],
                "releases": {
                    ev.label: {"meta": self.meta[ev.label], "evaluation": ev.to_dict()}
                    for ev in self.evaluations
                },
                "failures": list(self.failures),
                "notes": list(self.notes),
                "privacy_statement": STUDY_PRIVACY,
                "seconds": round(self.seconds, 2),
            }
        )


def _schema(recipe: Recipe, df: pd.DataFrame, notes: list[str]):
    from anonlab.schema import Schema, infer_schema

    # a schema with extra columns serves a table holding a subset of them
    if recipe.schema == "adult":
        from anonlab.datasets import adult_schema

        return adult_schema().present_in(df)
    elif recipe.schema:
        return Schema.read(recipe.schema).present_in(df)
    schema = infer_schema(df)
    notes.append(
        "no schema given: it was inferred from the data, so its domains were read from the data; DP synthesizers "
        + (
            "use them only because the recipe sets trust_domains = true, which voids their guarantee unless the "
            "domains really are public"
            if recipe.trust_domains
            else "discover such domains with DP, paid from each release's budget (its column types still come "
            "from the data: set a schema)"
        )
    )
    return schema


def _release(
    spec: ReleaseSpec, train: pd.DataFrame, recipe: Recipe, schema, seed: int, noise_seed: int | None
) -> tuple[Any, dict]:
    """Make one release; returns (table, meta). ``noise_seed`` seeds a synthesizer (its DP noise included);
    ``None`` lets it draw DP noise from the operating system's CSPRNG."""
    if spec.method == "copy":
        return train.copy(), {"method_name": "copy", "baseline": True, "privacy": None, "reported": {}}
    if spec.method == "kanonymity":
        try:
            from anonlab.deid.anonymize import AnonymizeConfig, anonymize
        except ImportError as exc:
            raise UsageError(f"k-anonymity is not available in this build ({exc})") from None
        opts = dict(spec.options)
        opts.setdefault("quasi", recipe.quasi)
        if ("l" in opts or "t" in opts) and "sensitive" not in opts:
            opts["sensitive"] = recipe.sensitive
        if not opts.get("quasi"):
            raise UsageError(f"{spec.label}: k-anonymity needs quasi-identifiers ([study] quasi)")
        try:
            cfg = AnonymizeConfig(**opts)
        except TypeError as exc:
            raise UsageError(f"{spec.label}: {exc}") from None
        res = anonymize(train, cfg)
        rep = res.to_dict()
        return res.data, {
            "method_name": f"k-anonymity ({cfg.method})",
            "baseline": False,
            "privacy": None,
            "reported": {
                "achieved": rep.get("achieved"),
                "records": rep.get("records"),
                "information_loss": rep.get("information_loss"),
            },
        }
    from anonlab.synth.base import Budget, get_method

    o = spec.options
    klass = get_method(o["synthesizer"])
    kwargs = dict(o["params"])
    if o.get("bins") is not None:
        kwargs["bins"] = o["bins"]
    trust = o["trust_domains"] if o.get("trust_domains") is not None else recipe.trust_domains
    model = klass(seed=noise_seed, trust_domains=bool(trust), **kwargs)
    if klass.private:
        if o["epsilon"] is None:
            raise UsageError(f"{spec.label}: {o['synthesizer']} is differentially private: give epsilon")
        budget = Budget(o["epsilon"], o["delta"])
    else:
        if o["epsilon"] is not None:
            raise UsageError(f"{spec.label}: {o['synthesizer']} gives no formal guarantee: drop epsilon")
        budget = None
    import warnings

    from anonlab.errors import PrivacyWarning

    with warnings.catch_warnings():
        # the study fits without a ledger on purpose; its report carries STUDY_PRIVACY instead of this warning
        warnings.simplefilter("ignore", PrivacyWarning)
        model.fit(train, schema, budget, ledger=None, source=spec.label)
    # as anonlab synth does: the method's default row count (a DP method's DP estimate of the input's size)
    table = model.sample(None, seed=seed + 1)
    summary = model.summary()
    priv = summary.get("privacy")
    return table, {
        "method_name": o["synthesizer"],
        "baseline": not klass.private,
        "privacy": priv if isinstance(priv, dict) else None,
        "reported": {"params": summary.get("params"), "privacy": priv},
    }


def run_study(
    df: pd.DataFrame,
    recipe: Recipe,
    *,
    seed: int | None = None,
    progress: bool = False,
    on_release=None,
) -> StudyResult:
    """Run ``recipe`` on ``df`` (not modified); see the module docstring.

    ``seed`` draws the train / holdout split and every evaluation's samples. When it is given it also seeds the
    synthesizers, DP noise included, so the whole study can be rerun (a seeded DP release is private only while
    its seed is secret: fine for a study, wrong for a real release); when it is ``None`` the synthesizers draw
    their DP noise from the operating system's CSPRNG and the split seed drawn here is recorded. ``on_release(label, evaluation_or_None, error_or_None)`` is called after each
    release, for progress output.
    """
    import numpy as np

    from anonlab.errors import require_extra
    from anonlab.evaluation.evaluate import EvaluationConfig, evaluate

    require_extra("eval", "sklearn", "a study (every release is evaluated)")
    t_start = time.perf_counter()
    seeded = seed is not None
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    for c in (*recipe.quasi, *recipe.sensitive, *([recipe.target] if recipe.target else [])):
        if c not in df.columns:
            raise InputError(f"{recipe.source}: the recipe names column {c!r}, which the input lacks")
    rows_input = len(df)
    if recipe.rows is not None and recipe.rows < len(df):
        df = df.iloc[np.sort(rng.choice(len(df), recipe.rows, replace=False))]
        notes.append(f"the study used a seeded sample of {recipe.rows:,} of the input's {rows_input:,} rows")
    if len(df) < 20:
        raise InputError(f"the input has {len(df)} rows; a study needs at least 20")
    order = rng.permutation(len(df))
    n_hold = int(round(len(df) * recipe.holdout_fraction))
    train = df.iloc[np.sort(order[n_hold:])].reset_index(drop=True)
    holdout = df.iloc[np.sort(order[:n_hold])].reset_index(drop=True)
    schema = _schema(recipe, train, notes)
    config = EvaluationConfig.from_dict(recipe.evaluate, recipe.source)
    evaluations, meta, failures = [], {}, []
    baseline_cache: dict = {}  # every release is measured against the same baselines, computed once
    for i, spec in enumerate(recipe.releases):
        t0 = time.perf_counter()
        rseed = seed + 1000 * (i + 1)
        try:
            table, m = _release(spec, train, recipe, schema, rseed, rseed if seeded else None)
            secs = time.perf_counter() - t0
            ev = evaluate(
                train,
                table,
                holdout,
                schema=schema,
                target=recipe.target,
                quasi=list(recipe.quasi) or None,
                sensitive=list(recipe.sensitive) or None,
                config=config,
                seed=rseed,
                seed_given=seeded,
                label=spec.label,
                privacy=m["privacy"],
                progress=progress,
                baseline_cache=baseline_cache,
            )
        except Exception as exc:  # a release that fails, for whatever reason, is listed and the study goes on
            msg = str(exc) if isinstance(exc, AnonlabError) else f"{type(exc).__name__}: {exc}"
            msg = " ".join(msg.split())[:300]
            if isinstance(exc, MissingExtraError):  # not a failure: an optional part this install left out
                msg = f"skipped: {msg}"
            failures.append({"label": spec.label, "error": msg})
            if on_release:
                on_release(spec.label, None, msg)
            continue
        meta[spec.label] = {
            **m,
            "param": spec.param,
            "seconds": secs,
            "options": spec.options,
            "rows_released": int(len(table)),
        }
        evaluations.append(ev)
        if on_release:
            on_release(spec.label, ev, None)
    dp = [m for m in meta.values() if m["privacy"]]
    if any(s.method == "synth" for s in recipe.releases):
        total = sum(float(m["privacy"].get("epsilon") or 0) for m in dp)
        notes.insert(
            0,
            STUDY_PRIVACY
            + (
                f" Here {len(dp)} DP releases of the same {len(train):,} training records spent epsilon {total:g} "
                "in sum."
                if dp
                else ""
            ),
        )
    if seeded and any(m["privacy"] for m in meta.values()):
        notes.append(
            "the DP releases here were seeded from --seed so the study can be rerun; a seeded DP release is "
            "private only while its seed stays secret: make real releases with anonlab synth, unseeded"
        )
    return StudyResult(
        name=recipe.name,
        seed=seed,
        rows_input=rows_input,
        rows_train=len(train),
        rows_holdout=len(holdout),
        recipe=recipe,
        evaluations=tuple(evaluations),
        meta=meta,
        failures=tuple(failures),
        notes=tuple(notes),
        seconds=time.perf_counter() - t_start,
        seed_given=seeded,
    )
