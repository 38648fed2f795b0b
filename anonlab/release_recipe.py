"""Release recipes: one release written down as TOML, so that :func:`run_recipe` (``anonlab run``) makes it again.

A recipe says which table was released, by which method, with which parameters. It never holds a seed or a key:
it *names* the secret files that hold them (``[secrets]``), which stay beside the data and out of every download.
``anonlab serve`` writes one beside each release; a person can write one by hand. Relative paths are read from
``root`` (default: the current folder; for a recipe of ``anonlab serve``, its workspace folder)::

    [release]
    kind = "synth"                      # "kanonymity", "synth", "pseudonymize", "baseline", "dicom" or "images"
    input = "tables/adult.csv"

    [synth]                             # kind = "synth": a DP synthetic twin
    method = "mst"                      # a name of anonlab.synth's registry
    epsilon = 1.0
    delta = 1e-9
    domains = "discover"                # domains read from the data: discover (with DP), trust or refuse
    schema = "adult"                    # the bundled public Adult schema, or a schema TOML path
    ledger = "ledgers/adult.ledger"     # charged before any noise is drawn (or no_ledger = true: unrecorded)
    ledger_entry = 3                    # optional: the release's entry in that ledger (see below)
    rows = 2000                         # optional: default, a DP estimate of the input's size
    params = { iters = 50 }             # optional: the method's own parameters

    [secrets]
    seed_file = "secrets/adult.seed"    # the seed of the DP noise (anonlab.seedfile); never in the recipe

    [anonymize]                         # kind = "kanonymity": anonlab.anonymize's keywords
    quasi = ["age", "sex", "race"]
    k = 5
    method = "mondrian"

    [anonymize]                         # l-diversity, t-closeness and hierarchies too
    sensitive = ["income-per-year"]
    l = 2
    l_kind = "distinct"                 # or "entropy", "recursive" (with c = 2)
    t = 0.2
    hierarchies = { age = "hierarchies/age.csv" }   # ARX-format CSVs; other columns: built-in hierarchies

    [pseudonymize]                      # kind = "pseudonymize": anonlab.pseudonymize's keywords
    ids = ["patient_id"]                # with [secrets] key_file = "secrets/pseudonym.key"

    [baseline]                          # kind = "baseline": a NON-PRIVATE reference, for comparison only
    method = "independent"              # "copy" (the table itself), "independent" (each column resampled
                                        # independently; [secrets] seed_file), or a non-private synthesizer
                                        # of anonlab.synth ("gaussian-copula", "ctgan"; [secrets] seed_file)

    [dicom]                             # kind = "dicom": input and output are folders (anonlab.deidentify_dicom)
    profile = []                        # its options: profile, allow_burned_in, clean_pixels, ocr_policy
                                        # with [secrets] key_file = "secrets/pseudonym.key"
    # kind = "images": a folder of photos, their metadata stripped (anonlab.strip_images; no table, no key)

A folder recipe (``dicom``, ``images``) is run by :func:`run_recipe` into an output folder, staged beside it and
renamed into place only when complete; the same input folder and key file give the same files, byte for byte.

**Exactly the same bytes.** k-anonymisation is deterministic, and pseudonymisation is, given the same key file. A DP
release is reproducible given the same seed file, the same table and the same ledger entry: its noise is keyed by
the seed, every public parameter, the table's content and the ledger entry's sequence number. With
``ledger_entry``, :func:`run_recipe` *replays* that entry: it fits against a scratch copy of the ledger as it was
before the entry (the real ledger is neither charged nor changed), then compares the entry the fit made with the
recorded one. The same table, parameters and seed give the same entry and the same noise, so the output is the
recorded release again and reveals nothing new. Anything else (an edited table, another epsilon) would be a new
release that no ledger paid for: it is refused and nothing is written. So is a replay without the seed file, or with
another one than the entry was made with (the entry keeps a salted scrypt commitment to its seed, in the ledger file
only, like the table's fingerprint): either would draw fresh noise under an entry that paid for one draw. A fit
capped by wall-clock time (AIM's ``max_time``) depends on the machine's speed, so its entry is never replayed.
Without ``ledger_entry`` a DP recipe is run as a new release, charged to its ledger like ``anonlab synth``; as
there, a DP recipe names its ``ledger`` or states ``no_ledger = true`` (a release that nothing records or limits).

**Baselines** are not releases: a copy of the table protects nothing, and independent columns keep every column's
exact 1-way distribution (its rare values included). They are the references an evaluation or a frontier is read
against (:mod:`anonlab.evaluation.metrics.baselines`, :class:`anonlab.Study`'s ``copy``), made reproducible here:
the same table and seed file give the same bytes.
"""

from __future__ import annotations

import os
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anonlab.errors import InputError, UsageError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReleaseRecipe", "RecipeRun", "run_recipe", "KINDS", "BASELINES", "FOLDER_KINDS"]

#: the kinds of release a recipe describes, and the table holding each one's parameters
KINDS = {
    "kanonymity": "anonymize",
    "synth": "synth",
    "pseudonymize": "pseudonymize",
    "baseline": "baseline",
    "dicom": "dicom",
    "images": "images",
}
#: the kinds whose input and output are folders (:func:`run_recipe` writes the output folder; no table)
FOLDER_KINDS = ("dicom", "images")
#: anonlab.deidentify_dicom's options a dicom recipe may state (each changes the release's bytes)
_DICOM_KEYS = ("profile", "allow_burned_in", "clean_pixels", "ocr_policy")
#: the non-private baselines a ``baseline`` recipe makes besides the non-private synthesizers of anonlab.synth
BASELINES = ("copy", "independent")
_BASELINE_KEYS = ("method", "rows", "schema", "params")
_SYNTH_KEYS = (
    "method",
    "epsilon",
    "delta",
    "domains",
    "schema",
    "ledger",
    "ledger_entry",
    "no_ledger",
    "rows",
    "trust_domains",
    "params",
)
#: method parameters that cap a fit by wall-clock time: the fit then depends on the machine's speed and load, so
#: its ledger entry cannot be replayed to the same release (AIM's ``max_time``)
_TIME_LIMITS = ("max_time",)
_PSEUDONYMIZE_KEYS = ("ids", "drop", "dates", "by", "date_format", "max_shift_days")
_SECRET_KEYS = ("seed_file", "key_file")
DEFAULT_DELTA = 1e-9  # as anonlab synth

Step = Callable[[str, float], None]


def _no_step(phase: str, fraction: float) -> None:
    return None


@dataclass(frozen=True)
class ReleaseRecipe:
    """One release as a value: ``kind``, the ``input`` table, the method's ``params`` (the recipe's ``[anonymize]``,
    ``[synth]`` or ``[pseudonymize]`` table) and the secret files it names. ``release`` and ``evaluation`` carry
    what else the recipe says (an id, where the release was written, the evaluation's target); running ignores
    them. Checked on construction: errors name the recipe's key."""

    kind: str
    input: str
    params: dict[str, Any]
    seed_file: str | None = None
    key_file: str | None = None
    release: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"kind={self.kind!r}: one of {', '.join(KINDS)}")
        if not isinstance(self.input, str) or not self.input:
            raise UsageError("input= must name the table to release (a path)")
        known = {
            "synth": _SYNTH_KEYS,
            "pseudonymize": _PSEUDONYMIZE_KEYS,
            "baseline": _BASELINE_KEYS,
            "dicom": _DICOM_KEYS,
            "images": (),
        }.get(self.kind)
        if known is not None:
            extra = sorted(set(self.params) - set(known))
            if extra:
                raise UsageError(
                    f"[{KINDS[self.kind]}] {extra[0]}= is not a key of a {self.kind} recipe "
                    f"(known: {', '.join(known)})"
                )
        if self.kind == "synth" and "epsilon" not in self.params:
            raise UsageError("[synth] epsilon= is required (a DP synthesis spends a stated budget)")
        if self.kind == "kanonymity" and not {"quasi", "k"} <= set(self.params):
            raise UsageError("[anonymize] quasi= and k= are required")
        if self.kind in ("pseudonymize", "dicom") and not self.key_file:
            raise UsageError(
                "[secrets] key_file= is required: pseudonyms are keyed (anonlab keygen makes a key)"
            )
        if self.kind == "images" and self.key_file:
            raise UsageError('[secrets] key_file= does not apply to kind="images" (stripping uses no key)')
        if self.kind == "baseline" and not self.params.get("method"):
            raise UsageError(
                f"[baseline] method= is required: {', '.join(BASELINES)} or a non-private synthesizer"
            )
        if self.kind not in ("synth", "baseline") and self.seed_file:
            raise UsageError(
                f"[secrets] seed_file= applies to synth and baseline recipes, not to kind={self.kind!r}"
            )

    # -- reading and writing ----------------------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | os.PathLike) -> ReleaseRecipe:
        """The recipe in the TOML file ``path``; a missing or malformed file is an :class:`InputError` naming it."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such recipe file") from None
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not a valid TOML recipe ({exc})") from None
        try:
            return cls.from_dict(data)
        except UsageError as exc:
            raise InputError(f"{path}: {exc}") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReleaseRecipe:
        """The recipe of parsed TOML (``[release]``, the kind's table, ``[secrets]``, ``[evaluation]``)."""
        release = dict(data.get("release") or {})
        kind = release.pop("kind", None)
        if kind not in KINDS:
            raise UsageError(f"[release] kind= must be one of {', '.join(KINDS)} (got {kind!r})")
        table = KINDS[kind]
        if "reproduce" in data and table not in data:
            raise UsageError(
                "an older recipe of anonlab serve, before anonlab run: run its [reproduce] command line instead"
            )
        extra = sorted(set(data) - {"release", table, "secrets", "evaluation"})
        if extra:
            raise UsageError(f"[{extra[0]}] is not a table of a {kind} recipe")
        secrets = dict(data.get("secrets") or {})
        unknown = sorted(set(secrets) - set(_SECRET_KEYS))
        if unknown:
            raise UsageError(
                f"[secrets] {unknown[0]}= is not known (a recipe names files: {', '.join(_SECRET_KEYS)}); a "
                "seed or key itself never belongs in a recipe"
            )
        return cls(
            kind=kind,
            input=release.pop("input", ""),
            params=dict(data.get(table) or {}),
            seed_file=secrets.get("seed_file"),
            key_file=secrets.get("key_file"),
            release=release,
            evaluation=dict(data.get("evaluation") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """The recipe as TOML-able tables (what :meth:`to_toml` writes)."""
        out: dict[str, Any] = {
            "release": {"kind": self.kind, "input": self.input, **self.release},
            KINDS[self.kind]: dict(self.params),
        }
        secrets = {k: v for k, v in (("seed_file", self.seed_file), ("key_file", self.key_file)) if v}
        if secrets:
            out["secrets"] = secrets
        if self.evaluation:
            out["evaluation"] = dict(self.evaluation)
        return out

    def to_toml(self, header: str = "") -> str:
        """The recipe as TOML text, after ``header`` (comment lines)."""
        import tomli_w

        return header + tomli_w.dumps(self.to_dict())

    def with_entry(self, seq: int) -> ReleaseRecipe:
        """The same DP recipe naming its ledger entry: running it replays that entry (see the module docstring)."""
        return replace(self, params={**self.params, "ledger_entry": int(seq)})

    @property
    def exact(self) -> bool:
        """Whether running the recipe again gives the same bytes (a DP one: only when it names its seed file and
        its ledger entry; a random baseline: when it names its seed file)."""
        if self.kind == "baseline":
            return self.params.get("method") == "copy" or bool(self.seed_file)
        if self.kind != "synth":
            return True
        return bool(self.seed_file) and self.params.get("ledger_entry") is not None

    # -- running --------------------------------------------------------------------------------------------
    def run(
        self, root: str | os.PathLike | None = None, *, step: Step | None = None, progress: bool = False
    ) -> RecipeRun:
        """Make the release (nothing is written; :func:`run_recipe` writes it). ``root``: the folder relative paths
        are read from (default: the current folder). ``step(phase, fraction)`` hears the steps; ``progress``
        turns on the library's own progress bars inside them (:mod:`anonlab.progress`; they change nothing in
        the release)."""
        from anonlab.io import read_table

        if self.kind in FOLDER_KINDS:
            raise UsageError(
                f"kind={self.kind!r} writes a folder: run it with run_recipe(recipe, output_folder)"
            )
        base = Path(root) if root is not None else Path.cwd()
        step = step or _no_step
        step("reading the table", 0.05)
        df = read_table(_path(base, self.input))
        if self.kind == "kanonymity":
            result = self._kanonymity(df, base, step, progress)
        elif self.kind == "pseudonymize":
            result = self._pseudonymize(df, base, step)
        elif self.kind == "baseline":
            result = self._baseline(df, base, step, progress)
        else:
            result = self._synth(df, base, step, progress)
        return replace(result, source=df)

    def _kanonymity(self, df: pd.DataFrame, base: Path, step: Step, progress: bool) -> RecipeRun:
        import anonlab

        params = dict(self.params)
        if isinstance(params.get("hierarchies"), dict):
            params["hierarchies"] = {c: str(_path(base, p)) for c, p in params["hierarchies"].items()}
        for name in ("schema", "population"):  # files, read from the recipe's root as every other path
            if isinstance(params.get(name), str) and params[name] != "adult":
                params[name] = str(_path(base, params[name]))
        method = params.pop("method", "mondrian")
        step("generalising the quasi-identifiers", 0.2)
        released, report = anonlab.anonymize(
            df, method=method, source=self.input, progress=progress, **params
        )
        return RecipeRun(self, released, report.to_dict())

    def _baseline(self, df: pd.DataFrame, base: Path, step: Step, progress: bool) -> RecipeRun:
        import numpy as np

        from anonlab.seedfile import read_seed_file

        p = dict(self.params)
        method = p["method"]
        rows = p.get("rows")
        seed = read_seed_file(_path(base, self.seed_file)) if self.seed_file else None
        note = "a non-private baseline: for comparison only, not a release (it protects no one)"
        if method == "copy":
            if rows is not None:
                raise UsageError('[baseline] rows= does not apply to method = "copy" (the table itself)')
            step("copying the table (the no-protection reference)", 0.2)
            return RecipeRun(self, df, {"method": "copy", "baseline": True, "note": note})
        if method == "independent":
            from anonlab.evaluation.metrics.baselines import independent_columns

            step("resampling each column independently", 0.2)
            n = len(df) if rows is None else int(rows)
            out = independent_columns(df, n, np.random.default_rng(seed))
            return RecipeRun(self, out, {"method": "independent columns", "baseline": True, "note": note})
        from anonlab.synth.base import get_method

        klass = get_method(method)
        if klass.private:
            raise UsageError(
                f"[baseline] method={method!r} is differentially private: make it a synth recipe (kind = "
                '"synth"), charged to a ledger'
            )
        schema = p.get("schema")
        if schema is not None and schema != "adult":
            schema = str(_path(base, schema))
        model = klass(seed=seed, progress=progress, **(p.get("params") or {}))
        step(f"fitting {model.name} (non-private)", 0.2)
        import warnings

        from anonlab.errors import PrivacyWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PrivacyWarning)  # a baseline is non-private by its recipe's kind
            model.fit(df, schema, None, ledger=None, source=self.input)
        step("sampling the baseline table", 0.5)
        twin = model.sample(rows, seed=seed)
        return RecipeRun(self, twin, {"method": model.name, "baseline": True, "note": note})

    def _pseudonymize(self, df: pd.DataFrame, base: Path, step: Step) -> RecipeRun:
        import anonlab

        step("replacing identifiers by keyed pseudonyms", 0.2)
        released, report = anonlab.pseudonymize(
            df, key=_path(base, self.key_file or ""), source=self.input, **self.params
        )
        return RecipeRun(self, released, report.to_dict())

    def _synth(self, df: pd.DataFrame, base: Path, step: Step, progress: bool) -> RecipeRun:
        from anonlab.seedfile import read_seed_file
        from anonlab.synth.base import get_method

        p = dict(self.params)
        _check_synth_ledger(p, self.seed_file)
        seed = read_seed_file(_path(base, self.seed_file)) if self.seed_file else None
        klass = get_method(p.get("method", "mst"))
        options = {"epsilon": p["epsilon"], "delta": p.get("delta", DEFAULT_DELTA), "seed": seed}
        if p.get("domains") is not None:
            options["domains"] = p["domains"]
        model = klass(**options, progress=progress, **(p.get("params") or {}))
        schema = p.get("schema")
        if schema is not None and schema != "adult":
            schema = str(_path(base, schema))
        ledger = _path(base, p["ledger"]) if p.get("ledger") else None
        entry = p.get("ledger_entry")
        fit: dict[str, Any] = {
            "schema": schema,
            "trust_domains": bool(p.get("trust_domains", False)),
            "source": self.input,
        }
        step(f"fitting {model.name} (the ledger is charged before any noise)", 0.2)
        if entry is None:
            model.fit(df, ledger=ledger, **fit)
            # this fit's own entry, whatever else charges the same ledger meanwhile
            charged = getattr(model, "ledger_entry_", None)
        else:
            if ledger is None:
                raise UsageError("[synth] ledger_entry= needs ledger= (the ledger that holds the entry)")
            _replay(model, df, ledger, int(entry), fit, seed)
            charged = int(entry)
        step("sampling the synthetic table", 0.5)
        twin = model.sample(p.get("rows"), seed=seed)
        spent = model.privacy_spent
        report = {"method": model.name, "privacy": spent.to_dict() if spent is not None else None}
        return RecipeRun(self, twin, report, ledger_entry=charged, replayed=entry is not None)


@dataclass(frozen=True)
class RecipeRun:
    """A recipe's release: ``data`` (the table; ``None`` for a folder release), ``report`` (the library's own report of it, JSON-able), the
    ``ledger_entry`` a DP release was charged as (or replayed), where it was written (``output``), and the table
    it was made from (``source``, in memory only: for the operator's own evaluation, never written or shown)."""

    recipe: ReleaseRecipe
    data: pd.DataFrame | None = field(repr=False)
    report: dict[str, Any]
    ledger_entry: int | None = None
    replayed: bool = False
    output: Path | None = None
    source: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.recipe.kind,
            "input": self.recipe.input,
            "output": str(self.output) if self.output is not None else None,
            "rows": int(len(self.data)) if self.data is not None else None,
            "exact": self.recipe.exact,
            "ledger_entry": self.ledger_entry,
            "replayed": self.replayed,
            "report": self.report,
        }


def run_recipe(
    recipe: ReleaseRecipe | str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    root: str | os.PathLike | None = None,
    force: bool = False,
    step: Step | None = None,
    progress: bool = False,
) -> RecipeRun:
    """Make the release a recipe describes and, given ``output``, write its table there (atomically; an existing
    file only with ``force``). ``recipe``: a :class:`ReleaseRecipe` or the path of its TOML file. ``root``: the
    folder the recipe's relative paths are read from (default: the current folder).

    The same recipe, table and secret files give the same bytes: k-anonymisation and pseudonymisation always, a DP
    release when the recipe names its seed file and ledger entry (replayed without charging again; refused, with
    nothing written, when the table or parameters differ from what that entry paid for). A DP recipe without
    ``ledger_entry`` is a new release, charged to its ledger. A baseline recipe makes a non-private reference
    (the same bytes given its seed file). ``progress``: the library's progress bars (:mod:`anonlab.progress`).
    Returns a :class:`RecipeRun`.
    """
    from anonlab.io import check_output, guard_outputs, table_format, write_table

    if not isinstance(recipe, ReleaseRecipe):
        recipe = ReleaseRecipe.read(recipe)
    if recipe.kind in FOLDER_KINDS:
        return _run_folder(recipe, output, Path(root) if root is not None else Path.cwd(), force, progress)
    if output is not None:
        base = Path(root) if root is not None else Path.cwd()
        guard_outputs([output], _read_files(recipe, base))
        table_format(output)
        check_output(Path(output), force)
    result = recipe.run(root, step=step, progress=progress)
    if output is not None:
        write_table(result.data, output, force)
        result = replace(result, output=Path(output))
    return result


# -- helpers --------------------------------------------------------------------------------------------------


def _run_folder(
    recipe: ReleaseRecipe, output: str | os.PathLike | None, base: Path, force: bool, progress: bool
) -> RecipeRun:
    """Run a folder recipe (``dicom``: :func:`anonlab.deidentify_dicom` under the key file; ``images``:
    :func:`anonlab.strip_images`) into a hidden staging folder beside ``output``, renamed to ``output`` only when
    complete: the output folder appears whole or not at all. Never over or inside an input or the key file."""
    import shutil
    import tempfile

    import anonlab
    from anonlab.errors import OutputExistsError
    from anonlab.io import guard_outputs, refuse_inside

    if output is None:
        raise UsageError(f"kind={recipe.kind!r} writes a folder: give output= (the folder to write)")
    out, src = Path(output), _path(base, recipe.input)
    if not src.is_dir():
        raise InputError(f"{src}: no such folder (input=)")
    guard_outputs([out], _read_files(recipe, base))
    refuse_inside(out, src, "the output folder", "the input folder")
    if out.exists() or out.is_symlink():
        if not force or not out.is_dir() or out.is_symlink():
            raise OutputExistsError(f"{out}: exists (force=True replaces a folder)")
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        files = stage / "files"
        if recipe.kind == "dicom":
            key = _path(base, recipe.key_file or "")
            done = anonlab.deidentify_dicom(src, files, key=key, progress=progress, **recipe.params)
        else:
            files.mkdir(mode=0o700)
            done = anonlab.strip_images(src, files)
        report = done.to_dict()
        for name in ("in_dir", "out_dir"):  # where it ran, not what was released
            report.pop(name, None)
        if out.exists():  # force=True: the old folder is kept until the new one is in place
            old = stage / "old"
            out.rename(old)
            try:
                files.rename(out)
            except OSError:
                old.rename(out)
                raise
        else:
            files.rename(out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return RecipeRun(recipe, None, report, output=out)


def _path(base: Path, name: str | os.PathLike) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else base / path


def _read_files(recipe: ReleaseRecipe, base: Path) -> dict[str, Any]:
    """The files a recipe reads or keeps, by role: an output may never be one of them (:func:`io.guard_outputs`)."""
    p = recipe.params
    named = {
        "input": recipe.input,
        "seed file": recipe.seed_file,
        "key file": recipe.key_file,
        "ledger": p.get("ledger"),
        "schema": p.get("schema") if p.get("schema") != "adult" else None,
        "population": p.get("population"),
    }
    roles: dict[str, Any] = {r: _path(base, n) for r, n in named.items() if isinstance(n, (str, os.PathLike))}
    if isinstance(p.get("hierarchies"), dict):
        roles["hierarchy"] = [_path(base, h) for h in p["hierarchies"].values()]
    return roles


def _check_synth_ledger(p: dict[str, Any], seed_file: str | None) -> None:
    """Refuse, before anything is read or drawn, a DP recipe that names no ledger without saying so
    (``no_ledger = true``, as ``anonlab synth --no-ledger``), and a replay that could not give the recorded release:
    without the seed file (fresh noise under an entry that paid for one draw) or with a wall-clock cap."""
    no_ledger = p.get("no_ledger", False)
    if not isinstance(no_ledger, bool):
        raise UsageError(f"[synth] no_ledger= must be true or false (got {no_ledger!r})")
    entry = p.get("ledger_entry")
    if no_ledger and (p.get("ledger") or entry is not None):
        raise UsageError(
            "[synth] no_ledger = true and ledger= (or ledger_entry=) contradict each other: give one"
        )
    if not p.get("ledger") and entry is None and not no_ledger:
        raise UsageError(
            "[synth] ledger= is required: a DP release is charged to a ledger before any noise is drawn (state "
            "no_ledger = true to make one that nothing records or limits, as anonlab synth --no-ledger)"
        )
    if entry is None:
        return
    if not seed_file:
        raise UsageError(
            f"[synth] ledger_entry = {entry} needs [secrets] seed_file= (the seed file that entry was made "
            "with): a replay without it would draw fresh noise that no ledger paid for; nothing was released"
        )
    capped = [k for k in _TIME_LIMITS if (p.get("params") or {}).get(k) is not None]
    if capped:
        raise UsageError(
            f"[synth] params {capped[0]}= caps the fit by wall-clock time, so how many rounds it runs depends on "
            f"the machine's speed and load: ledger_entry = {entry} cannot be replayed to the same release; nothing "
            "was released (remove ledger_entry= to make and charge a new release)"
        )


def _comparable(entry) -> tuple[str | None, dict[str, Any]]:
    rec = entry.to_dict()
    rec.pop("time", None)
    rec.pop("seq", None)
    return entry.dataset, rec


_SCRATCH = "anonlab-replay-"  # + PID + "-" + random: a replay's scratch folder (a copy of part of a ledger)


def _remove_stale_scratch() -> None:
    """Remove the scratch folders of replays whose process was killed outright (SIGKILL, a power cut): they hold
    a copy of ledger entries. Housekeeping: errors are ignored."""
    import shutil
    import tempfile

    from anonlab.io import _pid_alive

    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{_SCRATCH}*-*"):
        pid = folder.name[len(_SCRATCH) :].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _replay(model, df: pd.DataFrame, ledger: Path, seq: int, fit: dict[str, Any], seed: int | None) -> None:
    """Fit ``model`` as ledger entry ``seq`` again: against a scratch copy of the ledger holding the entries before
    it (so the noise is keyed by the same sequence number), never charging the real ledger; refused when ``seed``
    is not the one the entry committed to (another seed: fresh noise no ledger paid for; an entry without a
    commitment cannot be checked), or when the entry this fit makes differs from the recorded one (another table
    or other parameters: a new release)."""
    import tempfile

    from anonlab.privacy.ledger import Ledger
    from anonlab.privacy.noise import seed_matches

    recorded = [e for e in Ledger.open(ledger).entries if e.seq == seq]
    if not recorded:
        raise InputError(f"{ledger}: no entry {seq} (ledger_entry=) to replay; nothing was released")
    if recorded[0].seed_commitment is None:
        raise InputError(
            f"{ledger}: entry {seq} records no commitment to a seed (unseeded, or made before anonlab kept one), "
            "so a replay cannot be checked to draw the same noise; nothing was released (remove ledger_entry= "
            "to make and charge a new release)"
        )
    if seed is None or not seed_matches(seed, recorded[0].seed_commitment):
        raise InputError(
            f"{ledger}: entry {seq} was made with another seed than the recipe's seed file gives; replaying it "
            "would draw fresh noise that no ledger paid for, so nothing was released"
        )
    lines = ledger.read_bytes().splitlines(keepends=True)[:seq]  # the header and entries 1 .. seq-1
    _remove_stale_scratch()
    with tempfile.TemporaryDirectory(prefix=f"{_SCRATCH}{os.getpid()}-") as tmp:
        scratch = Path(tmp) / ledger.name
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"".join(lines))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*head anchor.*")  # the scratch copy has none
            model.fit(df, ledger=scratch, **fit)
            made = Ledger.open(scratch).entries[-1]
    if _comparable(made) != _comparable(recorded[0]):
        raise InputError(
            f"{ledger}: entry {seq} was paid for another table or other parameters than this recipe gives; "
            "running it would be a new release that no ledger paid for, so nothing was released (remove "
            "ledger_entry= to make and charge a new release)"
        )
