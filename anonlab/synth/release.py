"""One synthesis release end to end: read, check, charge, fit, sample, write the table and its sidecar.

This is what ``anonlab synth`` calls. Outputs are checked before any work (nothing is overwritten without
``force``), the ledger is charged inside ``fit`` before any noise is drawn, and every output is written atomically.

Every artifact of a release (the sidecar ``OUTPUT.json``, the saved model's manifest, :meth:`SynthResult.to_dict`
/ ``--json``, and the summary ``anonlab synth`` prints from it) is built through
:func:`anonlab.privacy.artifact.published` with the allow-lists of :mod:`anonlab.synth.artifacts`: public
parameters and DP outputs only. The sidecar records the method and its parameters, the budget and what was spent
(epsilon, delta, rho, neighbours, where the noise came from, whether it was seeded, whether domains were trusted),
the number of rows written and where that number came from, the schema's hash, the ledger (or ``"none"``), a
one-line privacy statement, package versions and warnings. It never holds the seed, the table's fingerprint, an
exact count of the input, a training loss or a run time. A non-DP method's sidecar says "no formal privacy
guarantee" and keeps its run time.

Counts of values outside the public domain are exact facts about the real table: they are printed to standard
error only when ``diagnostics=True`` (``--diagnostics``), under a line saying they are not private, and are never
written to a file.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anonlab.errors import UsageError
from anonlab.provenance import versions
from anonlab.synth.artifacts import NO_GUARANTEE
from anonlab.synth.base import Synthesizer, get_method, resolve_schema

if TYPE_CHECKING:
    from anonlab.schema import Schema

__all__ = [
    "SynthResult",
    "synthesize",
    "sample_model",
    "adult_schema",
    "sidecar_path",
    "versions",
    "DIAGNOSTICS_HEADER",
]

#: The line printed above out-of-domain counts with ``diagnostics=True``.
DIAGNOSTICS_HEADER = (
    "anonlab synth: diagnostics: NOT PRIVATE: exact counts from the real data, for the data owner only; do not "
    "share, publish or store them with the release"
)


@dataclass(frozen=True)
class SynthResult:
    """What a synthesis or sampling run wrote and spent.

    rows : the number of synthetic rows written: the user's ``rows``, or the fitted model's DP estimate of the
        input's size (``rows_from`` says which).
    privacy : the fit's published privacy record, or "no formal privacy guarantee".
    statement : one sentence on the guarantee (says "no ledger" when none was charged).
    seconds : the run time of a non-DP baseline; ``None`` for a DP release (a run time depends on the data).
    """

    output: str
    sidecar: str
    rows: int
    method: str
    privacy: dict[str, Any] | str
    seconds: float | None
    model: str | None = None
    schema_source: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    rows_from: str = ""
    seeded: bool = False
    ledger: str | None = None
    statement: str = ""
    private: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The result as ``--json`` prints it: checked against :func:`anonlab.synth.artifacts.result_allow`."""
        from anonlab.synth.artifacts import published, result_allow

        out: dict[str, Any] = {
            "output": self.output,
            "sidecar": self.sidecar,
            "rows": self.rows,
            "rows_from": self.rows_from,
            "method": self.method,
            "privacy": self.privacy,
            "statement": self.statement,
            "seeded": self.seeded,
            "ledger": self.ledger,
            "model": self.model,
            "schema": self.schema_source,
            "warnings": list(self.warnings),
        }
        if not self.private:
            out["seconds"] = self.seconds
        return published(out, result_allow(self.method, self.private))


def sidecar_path(output: str | Path) -> Path:
    return Path(str(output) + ".json")


def adult_schema():
    """The public-domain schema of UCI Adult shipped with anonlab (``anonlab/datasets/data/adult-schema.toml``)."""
    from anonlab.datasets import adult_schema as bundled

    return bundled()


def _resolve_schema(df, schema: str | None, source: str):
    """(schema, where it came from): :func:`anonlab.synth.base.resolve_schema` without the "inferred" flag."""
    sch, where, _ = resolve_schema(df, schema, source)
    return sch, where


def synthesize(
    input: str | Path,
    output: str | Path,
    method: str | Synthesizer = "aim",
    *,
    schema: str | Path | Schema | None = None,
    ledger: str | Path | None = None,
    rows: int | None = None,
    save_model: str | Path | None = None,
    force: bool = False,
    trust_domains: bool = False,
    diagnostics: bool = False,
    epsilon: float | None = None,
    delta: float | None = None,
    seed: int | None = None,
    domains: str | None = None,
    domain_share: float | None = None,
    bins: int | None = None,
    binning: str | None = None,
    binning_share: float | None = None,
    binning_columns: list[str] | None = None,
    missing: bool = True,
    params: dict[str, Any] | None = None,
    progress: bool = False,
    jax_cache: str | None = None,
    point_masses: bool = True,
    max_memory_gb: float | None = None,
    max_minutes: float | None = None,
    fitter: Callable[..., Any] | None = None,
) -> SynthResult:
    """Fit ``method`` on the table ``input`` and write ``rows`` synthetic rows to ``output`` (+ sidecar).

    method : a synthesizer, configured (``AIM(epsilon=1.0, seed=...)``), or a method name; with a name the
        keywords after ``diagnostics`` configure it (``epsilon``, ``delta`` (default 1e-9), ``seed``, ``bins``,
        ``binning`` ..., as :class:`~anonlab.synth.base.Synthesizer` documents them, and ``params``: the method's
        own parameters). They are refused with a configured synthesizer, which holds its own.
    schema : a schema TOML path, ``"adult"`` for the bundled public Adult schema, a Schema, or None (the bundled
        Adult schema if the columns match it, else a schema inferred from the data). A DP method refuses a schema
        inferred here (:class:`~anonlab.errors.PrivacyError`, before anything is charged) unless
        ``trust_domains=True``: its column types and roles come from this very table. Give a schema file (draft
        it with ``anonlab schema infer``, review it); domains it marks as read from the data are then discovered
        with DP unless the synthesizer's ``domains`` says otherwise.
    trust_domains : use schema domains read from the data (``from_data = true``) as public (recorded).
    ledger : a privacy ledger file, charged before any noise is drawn. ``None`` (no ledger) is allowed for
        experiments: the fit emits :class:`~anonlab.errors.PrivacyWarning`, the sidecar records ``"ledger":
        "none"`` and its statement says "no ledger". (The CLI refuses a DP method without ``--ledger`` unless
        ``--no-ledger`` is given.)
    rows : rows to write; default: the fitted model's DP estimate of the input's size.
    save_model : also save the fitted model there (sample more later with :func:`sample_model`).
    diagnostics : print, to standard error only, how many values of each column fell outside the schema's
        public domain (clamped or coded missing), under :data:`DIAGNOSTICS_HEADER`. These are exact counts from
        the real table, NOT private: they never go into a file, the result or the sidecar.

    The seed (the synthesizer's) seeds the noise and the sampling; the release is private only while it stays
    secret. It is never written anywhere: artifacts record ``seeded: true``.

    fitter : how the synthesizer is fitted, called as ``fitter(synth, input, schema, ledger=, trust_domains=,
        source=)`` in place of reading ``input`` and ``synth.fit`` (:func:`anonlab.distributed.marginals.synthesize`
        fits on a cluster this way); ``None``: in this process.
    """
    from anonlab.io import read_table, write_table, write_text

    started = time.monotonic()
    options = dict(
        epsilon=epsilon,
        delta=delta,
        seed=seed,
        domains=domains,
        domain_share=domain_share,
        bins=bins,
        binning=binning,
        binning_share=binning_share,
        binning_columns=binning_columns,
        missing=missing,
        params=params,
        progress=progress,
        jax_cache=jax_cache,
        point_masses=point_masses,
        max_memory_gb=max_memory_gb,
        max_minutes=max_minutes,
    )
    synth = _configured(method, options)
    _check_paths(input, output, save_model, schema, ledger, force)
    if not synth.private and ledger is not None:
        raise UsageError(f"method {synth.name!r} gives {NO_GUARANTEE}: ledger= does not apply to it")
    if synth.private and getattr(synth, "epsilon", None) is None:
        raise UsageError(f"method {synth.name!r} is differentially private: give epsilon= (and delta=)")
    df = read_table(input) if fitter is None else None
    led = None
    if ledger is not None:
        from anonlab.privacy.ledger import Ledger

        led = Ledger.open(ledger)
    if fitter is None:
        synth.fit(df, schema, ledger=led, trust_domains=trust_domains, source=str(input))
    else:
        fitter(synth, input, schema, ledger=led, trust_domains=trust_domains, source=str(input))
    if diagnostics:
        _print_diagnostics(synth.outside_domain_)
    out = synth.sample(rows, seed=synth.seed)
    result, car = _record(synth, out, output, rows, ledger, save_model, started)
    if save_model:
        synth.save(save_model, force)  # checks its manifest against its allow-list before writing
    write_table(out, output, force)
    write_text(sidecar_path(output), json.dumps(car, indent=2, default=str) + "\n", force)
    return result


#: the options of a method given by name that are not its own parameters, and their "not given" values
_UNSET: dict[str, Any] = {
    "epsilon": None,
    "delta": None,
    "seed": None,
    "domains": None,
    "domain_share": None,
    "bins": None,
    "binning": None,
    "binning_share": None,
    "binning_columns": None,
    "missing": True,
    "params": None,
    "progress": False,
    "jax_cache": None,
    "point_masses": True,
    "max_memory_gb": None,
    "max_minutes": None,
}


def _configured(method: str | Synthesizer, options: dict[str, Any]) -> Synthesizer:
    """The synthesizer of a release: ``method`` itself, or the method of that name built from ``options``."""
    given = {k: v for k, v in options.items() if v != _UNSET[k]}
    if isinstance(method, Synthesizer):
        if given:
            raise UsageError(
                f"{sorted(given)[0]}= configures a method given by name; {type(method).__name__} holds its own "
                "parameters"
            )
        return method
    klass = get_method(method)
    kwargs = {k: v for k, v in given.items() if k not in ("params", "jax_cache")}
    kwargs.update(options["params"] or {})
    if options["jax_cache"] and "jax_cache" in klass.param_names():
        kwargs["jax_cache"] = options["jax_cache"]
    if not klass.private and ("epsilon" in kwargs or "delta" in kwargs):
        raise UsageError(f"method {method!r} gives {NO_GUARANTEE}: epsilon= and delta= do not apply to it")
    return klass(**kwargs)


def _check_paths(input, output, save_model, schema, ledger, force: bool) -> None:
    """Outputs are checked before any work: distinct from the inputs and each other, not overwritten without
    ``force``."""
    from anonlab.io import check_output, guard_outputs, table_format

    table_format(output)
    outputs = [Path(output), sidecar_path(output)] + ([Path(save_model)] if save_model else [])
    if len({p.resolve() for p in outputs} | {Path(input).resolve()}) != len(outputs) + 1:
        raise UsageError("the input, the output, its sidecar and the saved model must be different files")
    named_schema = schema if isinstance(schema, str | Path) and schema != "adult" else None
    guard_outputs(outputs, {"input": input, "schema": named_schema, "ledger": ledger})
    for p in outputs:
        check_output(p, force)


def _record(synth: Synthesizer, out, output, rows, ledger, save_model, started: float):
    """The release's result and sidecar, both checked against their allow-lists before anything is written."""
    from anonlab.synth.artifacts import published, sidecar_allow, statement

    private = synth.private
    warnings = []
    if private and synth.privacy_ is not None and synth.privacy_.seeded:
        from anonlab.privacy.noise import SEEDED_WARNING

        warnings.append(SEEDED_WARNING)
    if not private:
        warnings.append(f"{synth.name} gives {NO_GUARANTEE}: use it as a baseline, not as a release")
    model_path = str(save_model) if save_model else None
    summary = synth.summary()
    privacy = summary["privacy"]
    ledger_text = str(ledger) if ledger is not None else ("none" if private else None)
    said = statement(privacy, ledger_text) if private else summary["statement"]
    seconds = None if private else round(time.monotonic() - started, 2)
    budget = synth._own_budget() if private else None
    car: dict[str, Any] = {
        "tool": "anonlab synth",
        "output": str(output),
        "rows": int(len(out)),
        "rows_from": _rows_from(rows, synth),
        **summary,
        "statement": said,
        "budget": budget.to_dict() if budget else None,
        "epsilon": budget.epsilon if budget else None,
        "delta": budget.delta if budget else None,
        "rho": (synth.privacy_.rho if synth.privacy_ is not None else None) if budget else None,
        "schema_source": synth.schema_source_,
        "ledger": ledger_text,
        "model": model_path,
        "versions": versions("opendp", "networkx", "jax", "numpyro", "dp-accounting", "sdv"),
        "warnings": warnings,
    }
    if not private:
        car["seconds"] = seconds
    # checked before anything is written: a field on no allow-list stops the release here
    car = published(car, sidecar_allow(type(synth), private))
    result = SynthResult(
        str(output),
        str(sidecar_path(output)),
        int(len(out)),
        synth.name,
        privacy,
        seconds,
        model_path,
        synth.schema_source_,
        tuple(warnings),
        rows_from=car["rows_from"],
        seeded=car["seeded"],
        ledger=ledger_text,
        statement=said,
        private=private,
    )
    result.to_dict()
    return result, car


def _rows_from(rows: int | None, synth: Synthesizer) -> str:
    """Where the number of rows written came from (public: the user's choice, or a DP output)."""
    if rows is not None:
        return "rows (chosen by the user)"
    if not synth.private:
        return "the input's row count (no privacy guarantee)"
    if getattr(synth, "neighbours_", "add/remove") == "replace-one":
        return "the public row count declared by the replace-one ledger"
    return "the model's DP estimate of the input's size"


def _print_diagnostics(outside: dict[str, int]) -> None:
    """Out-of-domain counts for the data owner: standard error only, under a line saying they are not private."""
    print(DIAGNOSTICS_HEADER, file=sys.stderr)
    if not outside:
        print("  no value fell outside the schema's public domain", file=sys.stderr)
    for col, k in outside.items():
        print(
            f"  column {col!r}: {k} value(s) outside the schema's public domain were clamped or coded missing",
            file=sys.stderr,
        )


def sample_model(
    model: str | Path,
    output: str | Path,
    *,
    rows: int | None = None,
    seed: int | None = None,
    force: bool = False,
) -> SynthResult:
    """Draw ``rows`` more rows from a saved model (post-processing: no budget spent, no real data read)."""
    from anonlab.io import check_output, table_format, write_table, write_text
    from anonlab.synth.artifacts import published, sample_sidecar_allow

    started = time.monotonic()
    table_format(output)
    from anonlab.io import guard_outputs

    guard_outputs([output, sidecar_path(output)], {"model": model})
    for p in (Path(output), sidecar_path(output)):
        check_output(p, force)
    synth = Synthesizer.load(model)
    out = synth.sample(rows, seed=seed)
    private = synth.private
    summary = synth.summary()
    seconds = None if private else round(time.monotonic() - started, 2)
    car: dict[str, Any] = {
        "tool": "anonlab synth sample",
        "output": str(output),
        "rows": int(len(out)),
        "rows_from": "rows (chosen by the user)"
        if rows is not None
        else "the saved model's estimate of the input's size",
        "sampled_from": str(model),
        "note": "drawn from a saved model: post-processing, no further privacy budget spent",
        **summary,
        "versions": versions("opendp", "networkx", "jax", "numpyro", "dp-accounting", "sdv"),
    }
    if not private:
        car["seconds"] = seconds
    car = published(car, sample_sidecar_allow(type(synth), private))
    result = SynthResult(
        str(output),
        str(sidecar_path(output)),
        int(len(out)),
        synth.name,
        summary["privacy"],
        seconds,
        str(model),
        rows_from=car["rows_from"],
        seeded=summary["seeded"],
        statement=summary["statement"],
        private=private,
    )
    result.to_dict()
    write_table(out, output, force)
    write_text(sidecar_path(output), json.dumps(car, indent=2, default=str) + "\n", force)
    return result
