"""The releases the app makes, each a release recipe (:class:`anonlab.ReleaseRecipe`) run by the public API.

A table release folder holds ``release.csv`` (the table), ``release.json`` (the library's own report of it),
``report.html`` and ``evaluation.json`` (:func:`anonlab.evaluate`'s report and figures, which the frontier page
reads; not for pseudonymisation; for a DP release labelled :data:`INTERNAL`, without the real row count, and not
offered among its downloads) and ``recipe.toml``: the recipe that ``anonlab run`` runs again to the same
bytes. A *baseline* (a copy of the table, or its columns resampled independently) is not a release: it is made
and evaluated the same way, as a non-private reference for the frontier. It never holds a seed or a key: a DP release's seed is drawn into a
secret file of its own (``secrets/ID.seed``, mode 0600) and pseudonyms come from the workspace's key file
(``secrets/pseudonym.key``); the recipe names those files, which are never served. A folder release (DICOM,
photos) holds ``release.zip`` (the de-identified files), ``release.json`` (which numbers the files it lists
instead of naming them: names of exports often name patients; ``inputs.json``, never served, maps the numbers to
the inputs), ``recipe.toml`` (a ``dicom`` or ``images`` recipe naming the input folder and, for DICOM, the key file)
and, for DICOM, ``audit.json``.

The ``run_*`` functions run inside a job's process (:mod:`anonlab.web.jobs`): each fills the release's hidden
folder and publishes it by one rename.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anonlab.errors import UsageError
from anonlab.release_recipe import ReleaseRecipe
from anonlab.web.workspace import KEY_FILE, Workspace

__all__ = [
    "KAnonymityRequest",
    "SynthRequest",
    "PseudonymRequest",
    "BaselineRequest",
    "run_release",
    "run_folder",
    "HEADER",
]

SYNTHESIZERS = ("mst", "aim")
DOMAINS = ("discover", "trust", "refuse")
ALGORITHMS = ("mondrian", "global")
L_KINDS = ("distinct", "entropy", "recursive")
FOLDER_KINDS = ("dicom", "photos")
#: what a DP release's evaluation (report.html, evaluation.json) is: exact facts of the real table (its
#: distributions, copies, distances), for the operator to judge the release; never part of the release
INTERNAL = "internal: computed on the real table, not differentially private, do not publish"
#: a folder release's map from the numbers its release.json gives the files it lists to their input paths: the
#: operator's, kept in the release folder and never served (not a name of workspace.RELEASE_FILES)
INPUTS_FILE = "inputs.json"
# the lists of files in a folder release's report (anonlab.deidentify_dicom, anonlab.strip_images)
_NAMED_LISTS = ("skipped_files", "failed_files", "withheld_files", "pixels_cleaned", "skipped", "stripped")
HEADER = (
    "# anonlab release recipe, written by `anonlab serve`. Make this release again, to the same bytes, from the\n"
    "# workspace folder: anonlab run THIS-FILE -o reproduced.csv  (or --root WORKSPACE from elsewhere).\n"
    "# It holds no seed and no key: [secrets] names the files that hold them, which stay in the workspace.\n"
)
FOLDER_HEADER = (
    "# anonlab release recipe, written by `anonlab serve`. Make this folder release again, to the same bytes,\n"
    "# from the workspace folder: anonlab run THIS-FILE -o reproduced  (a new folder; release.zip holds the same\n"
    "# files). It holds no key: [secrets] names the key file, which stays in the workspace.\n"
)


@dataclass(frozen=True)
class KAnonymityRequest:
    """k-anonymity by :func:`anonlab.anonymize` (Mondrian or optimal global recoding), optionally with
    l-diversity (``l``, ``l_kind``, ``c``) and t-closeness (``t``) of the ``sensitive`` columns, and hierarchy
    files of the workspace for some quasi-identifiers (``hierarchies``: column -> ``hierarchies/NAME.csv``; the
    other columns get the library's built-in hierarchies)."""

    table: str
    quasi: list[str]
    k: int
    sensitive: list[str] = field(default_factory=list)
    l: float | None = None  # noqa: E741
    algorithm: str = "mondrian"
    target: str | None = None
    t: float | None = None
    l_kind: str = "distinct"
    c: float | None = None
    hierarchies: dict[str, str] = field(default_factory=dict)

    kind = "kanonymity"

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise UsageError(f"algorithm={self.algorithm!r}: one of {', '.join(ALGORITHMS)}")
        if self.l_kind not in L_KINDS:
            raise UsageError(f"l_kind={self.l_kind!r}: one of {', '.join(L_KINDS)}")
        if (self.l is not None or self.t is not None) and not self.sensitive:
            raise UsageError(
                "l= and t= protect sensitive columns: tick at least one sensitive column (sensitive=)"
            )
        unknown = [c for c in self.hierarchies if c not in self.quasi]
        if unknown:
            raise UsageError(f"hierarchies= names {unknown[0]!r}, which is not a quasi-identifier")

    def label(self) -> str:
        extra = (f"-l{self.l:g}" if self.l is not None else "") + (
            f"-t{self.t:g}" if self.t is not None else ""
        )
        return f"k{self.k}{extra}-{self.algorithm}".replace(".", "p")

    def recipe(self, rid: str, secret: str | None = None) -> ReleaseRecipe:
        params: dict[str, Any] = {"method": self.algorithm, "k": self.k, "quasi": list(self.quasi)}
        if self.sensitive:
            params["sensitive"] = list(self.sensitive)
        if self.l is not None:
            params["l"] = self.l
            if self.l_kind != "distinct":
                params["l_kind"] = self.l_kind
            if self.l_kind == "recursive" and self.c is not None:
                params["c"] = self.c
        if self.t is not None:
            params["t"] = self.t
        if self.hierarchies:
            params["hierarchies"] = dict(self.hierarchies)
        return ReleaseRecipe(
            "kanonymity", self.table, params, release=_about(rid), evaluation=_evaluation(self)
        )


@dataclass(frozen=True)
class SynthRequest:
    """A DP synthetic twin by :class:`anonlab.synth.MST` or :class:`anonlab.synth.AIM`, charged to a ledger, its
    noise seeded from a secret seed file made for this release (so ``anonlab run`` reproduces it)."""

    table: str
    synthesizer: str
    epsilon: float
    ledger: str
    delta: float = 1e-9
    rows: int | None = None
    domains: str = "discover"
    schema: str | None = None  # "adult": the bundled public Adult schema; None: the library's default
    target: str | None = None
    quasi: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(
        default_factory=dict
    )  # the method's own parameters (tests: fewer iterations)

    kind = "synth"

    def __post_init__(self) -> None:
        if self.synthesizer not in SYNTHESIZERS:
            raise UsageError(f"synthesizer={self.synthesizer!r}: one of {', '.join(SYNTHESIZERS)}")
        if self.schema not in (None, "adult"):
            raise UsageError(f"schema={self.schema!r}: 'adult' (the bundled public schema) or none")
        if self.domains not in DOMAINS:
            raise UsageError(f"domains={self.domains!r}: one of {', '.join(DOMAINS)}")

    def label(self) -> str:
        return f"{self.synthesizer}-eps{self.epsilon:g}".replace(".", "p")

    def recipe(self, rid: str, secret: str | None = None) -> ReleaseRecipe:
        params: dict[str, Any] = {
            "method": self.synthesizer,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "domains": self.domains,
            "ledger": f"ledgers/{self.ledger}.ledger",
        }
        if self.schema:
            params["schema"] = self.schema
        if self.rows is not None:
            params["rows"] = self.rows
        if self.options:
            params["params"] = dict(self.options)
        return ReleaseRecipe(
            "synth", self.table, params, seed_file=secret, release=_about(rid), evaluation=_evaluation(self)
        )


@dataclass(frozen=True)
class PseudonymRequest:
    """Keyed pseudonyms by :func:`anonlab.pseudonymize`, under the workspace's key file."""

    table: str
    ids: list[str]
    drop: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    by: str | None = None

    kind = "pseudonymize"
    target = None
    quasi: list[str] = field(default_factory=list)

    def label(self) -> str:
        return "pseudonyms"

    def recipe(self, rid: str, secret: str | None = None) -> ReleaseRecipe:
        params: dict[str, Any] = {"ids": list(self.ids)}
        if self.drop:
            params["drop"] = list(self.drop)
        if self.dates:
            params["dates"] = list(self.dates)
        if self.by:
            params["by"] = self.by
        return ReleaseRecipe("pseudonymize", self.table, params, key_file=KEY_FILE, release=_about(rid))


@dataclass(frozen=True)
class BaselineRequest:
    """A non-private baseline, for comparison (the frontier): ``copy`` (the table itself, the no-protection
    reference) or ``independent`` (each column resampled independently from the table: it keeps every column's
    distribution and breaks every relation between columns; seeded from a secret seed file, so that ``anonlab
    run`` reproduces it). Not a release: it protects no one."""

    table: str
    method: str
    target: str | None = None
    quasi: list[str] = field(default_factory=list)

    kind = "baseline"

    def __post_init__(self) -> None:
        from anonlab.release_recipe import BASELINES

        if self.method not in BASELINES:
            raise UsageError(f"baseline={self.method!r}: one of {', '.join(BASELINES)}")

    @property
    def seeded(self) -> bool:
        return self.method != "copy"

    def label(self) -> str:
        return f"baseline-{self.method}"

    def recipe(self, rid: str, secret: str | None = None) -> ReleaseRecipe:
        return ReleaseRecipe(
            "baseline",
            self.table,
            {"method": self.method},
            seed_file=secret,
            release=_about(rid),
            evaluation=_evaluation(self),
        )


def _about(rid: str) -> dict[str, Any]:
    return {
        "id": rid,
        "output": f"releases/{rid}/release.csv",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _evaluation(request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if request.target:
        out["target"] = request.target
    if request.quasi:
        out["quasi"] = list(request.quasi)
    return out


def run_release(
    root: str, recipe: ReleaseRecipe, rid: str, partial: str, evaluation: dict[str, Any] | None, *, step
) -> str:
    """Make a table release from its recipe, evaluate it, fill its folder and publish it; returns the release id.

    The recipe written beside it is the one run (with the DP release's ledger entry added, and its seed file
    under the name it has once published): ``anonlab run`` of it replays that entry to the same bytes. The
    library's progress bars (the fit, the evaluation) report through :func:`anonlab.progress.reporting`, which
    the job's process has set up."""
    from dataclasses import replace

    import anonlab
    from anonlab.io import read_table, write_table, write_text

    ws, folder = Workspace(Path(root)), Path(partial)
    result = recipe.run(ws.root, step=step, progress=True)
    if recipe.kind == "synth" and result.ledger_entry is not None:
        recipe = recipe.with_entry(result.ledger_entry)
    if recipe.seed_file:
        recipe = replace(recipe, seed_file=ws.seed_name(rid))
    if recipe.kind != "pseudonymize":
        step("evaluating utility and risk", 0.6)
        original = result.source if result.source is not None else read_table(ws.table(recipe.input))
        label = rid.split("-", 2)[-1]
        ev = anonlab.evaluate(
            original,
            result.data,
            target=recipe.evaluation.get("target"),
            quasi=recipe.evaluation.get("quasi") or None,
            config=evaluation,
            label=label,
            privacy=(result.report or {}).get("privacy"),
            progress=True,
        )
        # a DP release's evaluation is the operator's view of the real table, never part of the release
        dp = recipe.kind == "synth"
        if dp:  # the real table's exact row count left out too (its one place: the report's header line)
            page = ev.to_html(title=f"{INTERNAL.capitalize()}. anonlab release {rid}")
            write_text(folder / "report.html", page.replace(f"Rows: real {ev.rows_real:,}, ", "Rows: ", 1))
        else:
            ev.to_html(folder / "report.html", title=f"anonlab release {rid}")
        figures = _internal(ev.to_dict()) if dp else ev.to_dict()
        write_text(folder / "evaluation.json", json.dumps(figures, indent=1, default=str) + "\n")
    step("writing the release", 0.95)
    write_table(result.data, folder / "release.csv")
    write_text(folder / "release.json", json.dumps(result.report, indent=2, default=str) + "\n")
    write_text(folder / "recipe.toml", recipe.to_toml(HEADER))
    step("publishing", 0.99)
    ws.publish(rid, folder)
    return rid


def run_folder(root: str, kind: str, source: str, rid: str, partial: str, *, step) -> str:
    """De-identify a folder of DICOM files (:func:`anonlab.deidentify_dicom` under the workspace key, then
    :func:`anonlab.audit_dicom` of the result) or of photos (:func:`anonlab.strip_images`); the files are zipped
    into ``release.zip``. Returns the release id."""
    import shutil

    import anonlab
    from anonlab.io import write_text

    ws, folder = Workspace(Path(root)), Path(partial)
    src, out = ws.folder(source), folder / "files"
    if kind == "dicom":
        step("de-identifying the DICOM files (PS3.15 basic profile)", 0.1)
        done = anonlab.deidentify_dicom(src, out, key=ws.key_path())
        step("auditing the de-identified files", 0.7)
        audit = anonlab.audit_dicom(out, workers=1)
        found = _relative(audit.to_dict(), {str(out): "release.zip"})
        write_text(folder / "audit.json", json.dumps(found, indent=2, default=str) + "\n")
    elif kind == "photos":
        step("stripping the photos' metadata", 0.1)
        out.mkdir(mode=0o700)
        done = anonlab.strip_images(src, out)
    else:
        raise UsageError(f"kind={kind!r}: one of {', '.join(FOLDER_KINDS)}")
    # the recipe names the input folder and the key file, never the key or the input files' names
    recipe = ReleaseRecipe(
        kind="dicom" if kind == "dicom" else "images",
        input=f"folders/{source}",
        params={},
        key_file=KEY_FILE if kind == "dicom" else None,
        release=_about(rid),
    )
    write_text(folder / "recipe.toml", recipe.to_toml(FOLDER_HEADER))
    report = done.to_dict()
    for key in ("in_dir", "out_dir"):  # the server's own paths: the workspace-relative names say as much
        report.pop(key, None)
    # file and folder names of an export often name patients: the download numbers the files it lists; which
    # number is which input stays in the workspace (INPUTS_FILE, never served)
    report, inputs = _numbered(report)
    report = _relative(report, {str(src): f"folders/{source}", str(out): "release.zip"})
    report["source"] = source
    write_text(folder / "release.json", json.dumps(report, indent=2, default=str) + "\n")
    inputs = _relative(inputs, {str(src): f"folders/{source}"})
    write_text(folder / INPUTS_FILE, json.dumps(inputs, indent=2) + "\n")
    step("zipping the files", 0.9)
    shutil.make_archive(str(folder / "release"), "zip", root_dir=out)
    shutil.rmtree(out)
    step("publishing", 0.99)
    ws.publish(rid, folder)
    return rid


def _numbered(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``report`` with each listed file's input path replaced by a number (``file``; the same input, the same
    number) and the lists' reasons counted (``KEY_by_reason``); and the numbers' input paths, for the operator."""
    from collections import Counter

    inputs: list[str] = []
    out = dict(report)
    for key in _NAMED_LISTS:
        items = report.get(key)
        if not isinstance(items, list):
            continue
        listed = []
        for item in items:
            item = dict(item) if isinstance(item, dict) else {"detail": item}
            name = str(item.pop("input", "") or "")
            if name not in inputs:
                inputs.append(name)
            number = inputs.index(name) + 1
            if isinstance(item.get("reason"), str) and name:
                for form in sorted({name, Path(name).name}, key=len, reverse=True):
                    item["reason"] = item["reason"].replace(form, f"file {number}")
            listed.append({"file": number, **item})
        out[key] = listed
        reasons = Counter(str(i["reason"]) for i in listed if i.get("reason") is not None)
        if reasons:
            out[f"{key}_by_reason"] = dict(sorted(reasons.items()))
    return out, {str(i + 1): name for i, name in enumerate(inputs)}


def _internal(figures: dict[str, Any]) -> dict[str, Any]:
    """A DP release's evaluation figures as kept beside it: labelled :data:`INTERNAL`, and without the real table's
    exact row counts (``rows.real``, ``rows.holdout``), which the frontier does not need."""
    rows = {k: v for k, v in (figures.get("rows") or {}).items() if k not in ("real", "holdout")}
    return {"internal": INTERNAL, **figures, "rows": rows}


def _relative(value: Any, prefixes: dict[str, str]) -> Any:
    """``value`` with the server's folder paths in its strings replaced by workspace-relative names (a report to
    download says ``folders/scans/a.dcm``, not where the workspace lives)."""
    if isinstance(value, dict):
        return {k: _relative(v, prefixes) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative(v, prefixes) for v in value]
    if isinstance(value, str):
        for prefix, name in prefixes.items():
            if value == prefix or value.startswith(prefix + "/"):
                return name + value[len(prefix) :]
    return value
