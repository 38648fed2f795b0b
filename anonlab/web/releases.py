"""The releases the app makes, each a call to the public API, and the recipe that reproduces it.

A release folder holds ``release.csv`` (the table), ``release.json`` (the library's own report of it, as
``anonlab anonymize --report`` or the synth sidecar would give), ``report.html`` (:func:`anonlab.evaluate`'s
report) and ``recipe.toml``. ``anonlab run RECIPE`` does not exist yet, so the recipe carries the equivalent
``anonlab anonymize ...`` / ``anonlab synth ...`` command line, to run from the workspace folder. It never holds a
seed or a key: the app draws DP noise from the operating system and keeps no seed.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anonlab.errors import UsageError
from anonlab.web.jobs import Job
from anonlab.web.workspace import Workspace

__all__ = ["KAnonymityRequest", "SynthRequest", "run_release", "recipe_toml"]

SYNTHESIZERS = ("mst", "aim")
DOMAINS = ("discover", "trust", "refuse")


@dataclass(frozen=True)
class KAnonymityRequest:
    """k-anonymity by :func:`anonlab.anonymize` (Mondrian or optimal global recoding)."""

    table: str
    quasi: list[str]
    k: int
    sensitive: list[str] = field(default_factory=list)
    l: float | None = None  # noqa: E741
    algorithm: str = "mondrian"
    target: str | None = None

    kind = "kanonymity"

    def label(self) -> str:
        return f"k{self.k}-{self.algorithm}"

    def parameters(self) -> dict[str, Any]:
        out: dict[str, Any] = {"algorithm": self.algorithm, "k": self.k, "quasi": self.quasi}
        if self.sensitive:
            out["sensitive"] = self.sensitive
        if self.l is not None:
            out["l"] = self.l
        return out

    def command(self, output: str) -> list[str]:
        cmd = ["anonlab", "anonymize", self.table, "-o", output, "--quasi", ",".join(self.quasi)]
        cmd += ["--k", str(self.k), "--method", self.algorithm]
        if self.sensitive:
            cmd += ["--sensitive", ",".join(self.sensitive)]
        if self.l is not None:
            cmd += ["--l", f"{self.l:g}"]
        return cmd


@dataclass(frozen=True)
class SynthRequest:
    """A DP synthetic twin by :class:`anonlab.synth.MST` or :class:`anonlab.synth.AIM`, charged to a ledger."""

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
    options: dict[str, Any] = field(default_factory=dict)  # extra keywords (tests: fewer iterations)

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

    def parameters(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "synthesizer": self.synthesizer,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "ledger": f"ledgers/{self.ledger}.ledger",
            "domains": self.domains,
        }
        if self.schema:
            out["schema"] = self.schema
        if self.rows is not None:
            out["rows"] = self.rows
        return out

    def command(self, output: str) -> list[str]:
        cmd = ["anonlab", "synth", self.table, "-o", output, "--method", self.synthesizer]
        cmd += ["--epsilon", f"{self.epsilon:g}", "--delta", f"{self.delta:g}"]
        cmd += ["--ledger", f"ledgers/{self.ledger}.ledger", "--domains", self.domains]
        if self.schema:
            cmd += ["--schema", self.schema]
        if self.rows is not None:
            cmd += ["--rows", str(self.rows)]
        return cmd


def recipe_toml(request, rid: str) -> str:
    """The recipe of one release: what was asked, and the command line that makes it again."""
    import tomli_w

    output = f"releases/{rid}/release.csv"
    exact = request.kind == "kanonymity"
    note = (
        "k-anonymisation is deterministic: run from the workspace folder, the command writes the same bytes as "
        f"{output}"
        if exact
        else "the DP noise comes from the operating system and no seed is kept, so the command makes a new "
        "release of the same method and budget (not the same bytes) and charges the ledger again"
    )
    data = {
        "release": {
            "id": rid,
            "kind": request.kind,
            "input": request.table,
            "output": output,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "parameters": request.parameters(),
        "reproduce": {
            "command": shlex.join(request.command("reproduced.csv")),
            "exact": exact,
            "note": note,
            "secret_files": [],  # none: no seed and no key is used, so none is named
        },
    }
    if request.target:
        data["evaluation"] = {"target": request.target}
    head = (
        "# anonlab release recipe, written by `anonlab serve`.\n"
        "# `anonlab run RECIPE` does not exist yet: [reproduce].command is the command line that makes this\n"
        "# release again, run from the workspace folder. This file holds no seed and no key.\n"
    )
    return head + tomli_w.dumps(data)


def _release_table(request, df, job: Job, ledger_file=None):
    """The released table and the library's report of it (a JSON-able dict)."""
    import anonlab

    if request.kind == "kanonymity":
        job.step("generalising the quasi-identifiers", 0.2)
        params = request.parameters()
        algorithm = params.pop("algorithm")
        released, report = anonlab.anonymize(df, method=algorithm, source=request.table, **params)
        return released, report.to_dict()
    from anonlab.synth import AIM, MST

    cls = {"mst": MST, "aim": AIM}[request.synthesizer]
    model = cls(epsilon=request.epsilon, delta=request.delta, domains=request.domains, **request.options)
    job.step(f"fitting {request.synthesizer.upper()} (the ledger is charged first)", 0.2)
    model.fit(df, schema=request.schema, ledger=ledger_file, source=request.table)
    job.step("sampling the synthetic twin", 0.5)
    twin = model.sample(request.rows)
    spent = model.privacy_spent
    return twin, {"method": request.synthesizer, "privacy": spent.to_dict() if spent is not None else None}


def run_release(ws: Workspace, request, job: Job, evaluation: dict[str, Any] | None = None) -> str:
    """Make the release, evaluate it, write its folder; returns the release id. Runs inside a job."""
    import anonlab
    from anonlab.io import read_table, write_table, write_text

    job.step("reading the table", 0.05)
    df = read_table(ws.table(request.table))
    ledger_file = ws.ledger_path(request.ledger) if request.kind == "synth" else None
    rid, partial = ws.new_release(request.label())
    try:
        released, report = _release_table(request, df, job, ledger_file)
        job.step("evaluating utility and risk", 0.6)
        quasi = request.quasi or None
        ev = anonlab.evaluate(
            df, released, target=request.target, quasi=quasi, config=evaluation, label=request.label()
        )
        job.step("writing the release", 0.95)
        write_table(released, partial / "release.csv")
        write_text(partial / "release.json", json.dumps(report, indent=2, default=str) + "\n")
        ev.to_html(partial / "report.html", title=f"anonlab release {rid}")
        write_text(partial / "recipe.toml", recipe_toml(request, rid))
        job.step("publishing", 0.99)
        ws.publish(rid, partial)
    except BaseException:
        ws.discard(partial)
        raise
    return rid
