"""A study: release one table by several methods, evaluate every release the same way, draw the frontier.

A recipe (TOML, :mod:`anonlab.evaluation.recipe`) or a list of releases names the methods and their parameter
grids; :meth:`Study.run` splits the input into training and
holdout records once (seeded), releases the training records by each method, evaluates each release against the
same holdout with :func:`~anonlab.evaluation.evaluate`, and returns a :class:`StudyResult` that the
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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anonlab.errors import AnonlabError, InputError, MissingExtraError, UsageError
from anonlab.evaluation.recipe import AXES, DEFAULT_DELTA, Recipe, ReleaseSpec, default_recipe_path

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.evaluation.config import EvaluationConfig
    from anonlab.evaluation.result import Evaluation

__all__ = [
    "Study",
    "StudyResult",
    "run_study",
    "Recipe",
    "ReleaseSpec",
    "default_recipe_path",
    "AXES",
    "STUDY_PRIVACY",
    "DEFAULT_DELTA",
]

#: What a study's report says about privacy.
STUDY_PRIVACY = (
    "This study is an experiment, not a release. It releases the same training records many times on purpose: "
    "each DP release here is a separate release of the same people, and the per-release epsilons do not compose "
    "into a guarantee for the study's outputs taken together (no budget was set for the study as a whole; together "
    "they are bounded only by the sum of the epsilons, which no ledger checked). The study's DP fits ran "
    "without a privacy ledger, explicitly and knowingly; publish none of these outputs as a release: make a real "
    "release with anonlab synth, charged to a ledger."
)


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
        from anonlab.evaluation.report.plots import pareto_front

        pts = [r for r in self.rows() if r.get(x) is not None and r.get(y) is not None]
        return [r["label"] for r in pareto_front(pts, x, y)]

    def to_dict(self) -> dict[str, Any]:
        """Every figure as JSON-ready data (NaN and infinite floats become ``None``)."""
        from anonlab.evaluation.result import json_safe

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

    def to_frame(self) -> pd.DataFrame:
        """One row per evaluated release: its method, parameter, privacy spent and headline figures."""
        import pandas as pd

        return pd.DataFrame(self.rows())

    def to_html(self, path: str | Path | None = None, *, force: bool = False) -> str:
        """The self-contained HTML report (frontier, summary, each release's section; needs matplotlib). Written
        atomically to ``path`` when given (an existing file only with ``force=True``); the page is returned."""
        from anonlab.evaluation.report import study_html

        text = study_html(self)
        if path is not None:
            from anonlab.io import write_text

            write_text(path, text, force)
        return text

    def _repr_html_(self) -> str:
        from anonlab.evaluation.report import study_summary_html

        return study_summary_html(self)

    def summary_lines(self) -> list[str]:
        """What ``anonlab compare`` prints: sizes, one line of headline figures per release, the frontiers, the
        failures and the notes."""
        from anonlab.evaluation.result import seed_text

        cols = ("utility_2way", "tstr_ratio", "mia_auc", "dcr_train_share", "anonymeter_max_risk", "k")
        lines = [
            f"{self.name}: {len(self.evaluations)} releases evaluated, {len(self.failures)} failed, "
            f"{self.seconds:.0f} s; train {self.rows_train:,} / holdout {self.rows_holdout:,} rows; "
            f"{seed_text(self.seed, self.seed_given)}",
            f"  {'release':<28} " + " ".join(f"{c:>19}" for c in cols) + "  privacy",
        ]
        for r in self.rows():
            vals = " ".join(f"{_cell(r[c]):>19}" for c in cols)
            priv = f"eps={r['epsilon']:g}, delta={r['delta']:g}" if r["epsilon"] is not None else "none"
            base = " (non-private baseline)" if r["baseline"] else ""
            lines.append(f"  {r['label'][:28]:<28} {vals}  {priv}{base}")
        lines += [
            f"  frontier ({x} vs {y}): {', '.join(self.frontier(x, y))}" for x, y in self.recipe.frontier
        ]
        lines += [f"  failed: {f['label']}: {f['error']}" for f in self.failures]
        lines += [f"  note: {note}" for note in self.notes]
        return lines


def _cell(v: Any) -> str:
    return "n/a" if v is None else format(v, ".3f") if isinstance(v, float) else str(v)


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
        from anonlab.deid.recipe import AnonymizeConfig
        from anonlab.deid.recipe import anonymize_config as anonymize

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
    if spec.method == "deid":
        return _release_deid(spec, train, recipe)
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


def _release_deid(spec: ReleaseSpec, train: pd.DataFrame, recipe: Recipe) -> tuple[Any, dict]:
    """A release by a method of :mod:`anonlab.deid.registry` named in the recipe (``method = "mdav"`` ...)."""
    from anonlab.deid.methods import anonymize

    opts = dict(spec.options)
    name = opts.pop("method")
    opts.setdefault("quasi", list(recipe.quasi))
    if not opts["quasi"]:
        raise UsageError(f"{spec.label}: {name} needs the columns it works on (quasi, or [study] quasi)")
    table, report = anonymize(train, method=name, source=spec.label, **opts)
    rep = report.to_dict()
    dp = rep.get("privacy")  # a DP method of the registry (safepub) states its guarantee there
    return table, {
        "method_name": name,
        "baseline": False,
        "privacy": (
            {
                "epsilon": dp["epsilon"],
                "delta": dp["delta"],
                "neighbours": dp["neighbours"],
                "seeded": dp.get("seeded_sample", False),
                "details": {"k": dp.get("k"), "beta": dp.get("beta"), "ledger": "no ledger"},
            }
            if isinstance(dp, dict) and dp.get("epsilon") is not None
            else None
        ),
        "reported": {k: rep.get(k) for k in ("achieved", "measured", "records", "information_loss")},
    }


def _run(
    df: pd.DataFrame,
    recipe: Recipe,
    *,
    seed: int | None = None,
    progress: bool = False,
    on_release=None,
    schema=None,
) -> StudyResult:
    """Run ``recipe`` on ``df`` (not modified); see the module docstring and :meth:`Study.run`.

    ``seed`` draws the train / holdout split and every evaluation's samples. When it is given it also seeds the
    synthesizers, DP noise included, so the whole study can be rerun (a seeded DP release is private only while
    its seed is secret: fine for a study, wrong for a real release); when it is ``None`` the synthesizers draw
    their DP noise from the operating system's CSPRNG and the split seed drawn here is recorded. ``on_release(label, evaluation_or_None, error_or_None)`` is called after each
    release, for progress output.
    """
    import numpy as np

    from anonlab.errors import require_extra
    from anonlab.evaluation.config import EvaluationConfig
    from anonlab.evaluation.evaluating import evaluate
    from anonlab.progress import phase

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
    schema = _schema(recipe, train, notes) if schema is None else schema.present_in(train)
    config = EvaluationConfig.from_dict(recipe.evaluate, recipe.source)
    evaluations, meta, failures = [], {}, []
    baseline_cache: dict = {}  # every release is measured against the same baselines, computed once
    for i, spec in enumerate(recipe.releases):
        t0 = time.perf_counter()
        rseed = seed + 1000 * (i + 1)
        try:
            with phase(f"release {spec.label}", enabled=progress):  # a fit can take a while and says nothing
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


class Study:
    """A study of one table: the releases a recipe names, each evaluated the same way against one holdout.

    ``Study(recipe)`` takes a :class:`~anonlab.evaluation.recipe.Recipe`, the path of a TOML recipe, or a mapping
    in the recipe's structure (``{"study": {...}, "evaluate": {...}, "release": [...]}``); ``Study()`` is the
    bundled default study (UCI Adult). :meth:`from_releases` builds one from a list of releases in Python, and
    :meth:`compare` builds and runs one in a call. ``schema`` (a :class:`~anonlab.schema.Schema`) overrides the
    recipe's. :meth:`run` returns a :class:`StudyResult` (``to_frame()``, ``to_dict()``, ``to_html(path)``,
    shown in a notebook).

    A study is an experiment, not a release (:data:`STUDY_PRIVACY`): its DP releases are fitted without a privacy
    ledger, knowingly, and none of its outputs is to be published.
    """

    def __init__(self, recipe: Recipe | str | Path | Mapping[str, Any] | None = None, *, schema=None):
        if recipe is None:
            recipe = default_recipe_path()
        if isinstance(recipe, str | Path):
            recipe = Recipe.read(recipe)
        elif isinstance(recipe, Mapping):
            recipe = Recipe.from_dict(recipe, "Study(recipe=...)")
        elif not isinstance(recipe, Recipe):
            raise UsageError(
                f"recipe= must be a Recipe, a TOML path or a mapping, got {type(recipe).__name__}"
            )
        self.recipe = recipe
        self.schema = schema

    def __repr__(self) -> str:
        labels = ", ".join(s.label for s in self.recipe.releases)
        return f"Study({self.recipe.name!r}: {len(self.recipe.releases)} releases: {labels})"

    @classmethod
    def from_releases(
        cls,
        releases: Iterable[Mapping[str, Any] | ReleaseSpec],
        *,
        name: str = "study",
        target: str | None = None,
        quasi: Iterable[str] = (),
        sensitive: Iterable[str] = (),
        schema=None,
        holdout_fraction: float = 0.5,
        rows: int | None = None,
        trust_domains: bool = False,
        frontier: Iterable[tuple[str, str]] | None = None,
        config: EvaluationConfig | Mapping[str, Any] | None = None,
    ) -> Study:
        """A study of the ``releases`` given in Python: each a mapping as a recipe's ``[[release]]`` table
        (``{"method": "kanonymity", "k": [5, 20]}``, ``{"method": "synth", "synthesizer": "mst", "epsilon": [1]}``)
        or a :class:`~anonlab.evaluation.recipe.ReleaseSpec`. The keywords are the recipe's ``[study]`` keys;
        ``schema`` is a :class:`~anonlab.schema.Schema`, a TOML path or ``"adult"``; ``config`` the evaluation's
        settings (:class:`~anonlab.evaluation.config.EvaluationConfig` or a mapping)."""
        from anonlab.evaluation.config import EvaluationConfig

        study: dict[str, Any] = {
            "name": name,
            "quasi": list(quasi),
            "sensitive": list(sensitive),
            "holdout_fraction": holdout_fraction,
            "trust_domains": trust_domains,
        }
        if target is not None:
            study["target"] = target
        if rows is not None:
            study["rows"] = rows
        if frontier is not None:
            study["frontier"] = [list(p) for p in frontier]
        if isinstance(schema, str | Path):
            study["schema"] = str(schema)
            schema = None
        evaluate = EvaluationConfig.coerce(config).to_dict() if config is not None else {}
        data = {"study": study, "evaluate": evaluate, "release": list(releases)}
        return cls(Recipe.from_dict(data, "Study.from_releases"), schema=schema)

    def run(
        self,
        data: pd.DataFrame | str | Path,
        *,
        seed: int | None = None,
        progress: bool = False,
        on_release: Callable[[str, Evaluation | None, str | None], None] | None = None,
    ) -> StudyResult:
        """Run the study on ``data`` (a DataFrame, not modified, or a table's path).

        ``seed`` draws the train / holdout split and every evaluation's samples. When it is given it also seeds
        the synthesizers, DP noise included, so the whole study can be rerun (a seeded DP release is private only
        while its seed is secret: fine for a study, wrong for a real release); when it is ``None`` the
        synthesizers draw their DP noise from the operating system's CSPRNG and the split seed drawn here is
        recorded. ``on_release(label, evaluation_or_None, error_or_None)`` is called after each release, for
        progress output. A release that fails is listed in the result's ``failures`` and the study goes on.
        """
        if isinstance(data, str | Path):
            from anonlab.io import read_table

            data = read_table(data)
        return _run(
            data, self.recipe, seed=seed, progress=progress, on_release=on_release, schema=self.schema
        )

    @classmethod
    def compare(
        cls,
        data: pd.DataFrame | str | Path,
        releases: Iterable[Mapping[str, Any] | ReleaseSpec] | None = None,
        *,
        recipe: Recipe | str | Path | Mapping[str, Any] | None = None,
        seed: int | None = None,
        progress: bool = False,
        on_release: Callable[[str, Evaluation | None, str | None], None] | None = None,
        **study: Any,
    ) -> StudyResult:
        """Build and run a study in one call (what ``anonlab compare`` does): the ``releases`` given, with the
        ``[study]`` keywords of :meth:`from_releases` in ``study``, or else the ``recipe`` (default: the bundled
        study)."""
        if releases is not None and recipe is not None:
            raise UsageError("give releases= or recipe=, not both")
        if releases is not None:
            s = cls.from_releases(releases, **study)
        else:
            if study:
                raise UsageError(
                    f"{sorted(study)[0]}= goes with releases=; a recipe holds its own [study] keys"
                )
            s = cls(recipe)
        return s.run(data, seed=seed, progress=progress, on_release=on_release)


def run_study(
    df: pd.DataFrame,
    recipe: Recipe,
    *,
    seed: int | None = None,
    progress: bool = False,
    on_release=None,
) -> StudyResult:
    """``Study(recipe).run(df, ...)``: the name the benchmarks and older code use."""
    return Study(recipe).run(df, seed=seed, progress=progress, on_release=on_release)
