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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonlab.errors import UsageError
from anonlab.provenance import versions
from anonlab.synth.base import NO_GUARANTEE, Budget, Synthesizer, get_method

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


def _serving(schema, df):
    """A schema with extra columns serves any subset of them: keep the columns the table has (all when it has
    none of them, so the missing column is named)."""
    sub = schema.present_in(df)
    return sub if len(sub) else schema


#: how the sidecar's ``schema_source`` begins when no schema was given and the table is not Adult's
_INFERRED = "inferred from"


def _resolve_schema(df, schema: str | None, source: str):
    from anonlab.schema import Schema, infer_schema

    if schema == "adult":
        return _serving(adult_schema(), df), "adult (bundled, public domains)"
    if schema:
        return _serving(Schema.read(schema), df), str(schema)
    bundled = adult_schema()
    if list(df.columns) == bundled.names:
        return bundled, "adult (bundled, public domains; matched by column names)"
    return infer_schema(df), f"{_INFERRED} {source} (domains read from the data)"


def synthesize(
    input: str | Path,
    output: str | Path,
    *,
    method: str = "aim",
    schema: str | None = None,
    epsilon: float | None = None,
    delta: float | None = None,
    ledger: str | Path | None = None,
    rows: int | None = None,
    seed: int | None = None,
    save_model: str | Path | None = None,
    force: bool = False,
    trust_domains: bool = False,
    domains: str | None = None,
    domain_share: float | None = None,
    bins: int | None = None,
    binning: str = "public",
    binning_share: float | None = None,
    binning_columns: list[str] | None = None,
    missing: bool = True,
    params: dict[str, Any] | None = None,
    progress: bool = False,
    jax_cache: str | None = None,
    diagnostics: bool = False,
    point_masses: bool = True,
    max_memory_gb: float | None = None,
    max_minutes: float | None = None,
) -> SynthResult:
    """Fit ``method`` on the table ``input`` and write ``rows`` synthetic rows to ``output`` (+ sidecar).

    schema : a schema TOML path, ``"adult"`` for the bundled public Adult schema, or None (the bundled Adult
        schema if the columns match it, else a schema inferred from the data). A DP method refuses a schema
        inferred here (:class:`~anonlab.errors.PrivacyError`, before anything is charged) unless ``domains`` is
        ``"trust"``: its column types and roles come from this very table, and one record can change them. Give
        a schema file (draft it with ``anonlab schema infer``, review it); domains it marks as read from the data
        are then discovered with DP unless ``domains`` says otherwise.
    domains, trust_domains : for schema domains read from the data (``from_data = true``) in a DP fit:
        ``"discover"`` (default: DP domain discovery paid from the budget, :mod:`anonlab.synth.domains`),
        ``"trust"`` (= ``trust_domains=True``: used as public) or ``"refuse"``. ``domain_share``: the share of
        the budget the discovery spends (default 0.2).
    epsilon, delta : the budget of a DP method (delta defaults to 1e-9). Refused for non-DP methods.
    ledger : a privacy ledger file, charged before any noise is drawn. ``None`` (no ledger) is allowed for
        experiments: the fit emits :class:`~anonlab.errors.PrivacyWarning`, the sidecar records ``"ledger":
        "none"`` and its statement says "no ledger". (The CLI refuses a DP method without ``--ledger`` unless
        ``--no-ledger`` is given.)
    rows : rows to write; default: the fitted model's DP estimate of the input's size.
    seed : seeds the noise and the sampling; the release is private only while it stays secret. It is never
        written anywhere: artifacts record ``seeded: true``.
    diagnostics : print, to standard error only, how many values of each column fell outside the schema's
        public domain (clamped or coded missing), under :data:`DIAGNOSTICS_HEADER`. These are exact counts from
        the real table, NOT private: they never go into a file, the result or the sidecar.
    point_masses : DP methods in zCDP spend a share of their budget on DP densities inside binned columns so that
        point masses survive decoding (default on; see :class:`~anonlab.synth.base.Synthesizer`).
    max_memory_gb, max_minutes : limits on the fit's cost estimated from the public domain; above them the fit is
        refused before anything is read or charged (defaults 4 GB, 5 minutes).
    binning, binning_share, binning_columns : ``"quantile"`` spends ``binning_share`` of the budget on DP cut
        points for wide numeric columns (see :class:`~anonlab.synth.base.Synthesizer`); the total stays
        (epsilon, delta).
    """
    from anonlab.io import check_output, read_table, table_format, write_table, write_text

    started = time.monotonic()
    klass = get_method(method)
    table_format(output)
    outputs = [Path(output), sidecar_path(output)] + ([Path(save_model)] if save_model else [])
    if len({p.resolve() for p in outputs} | {Path(input).resolve()}) != len(outputs) + 1:
        raise UsageError("the input, the output, its sidecar and the saved model must be different files")
    from anonlab.io import guard_outputs

    guard_outputs(
        outputs, {"input": input, "schema": schema if schema != "adult" else None, "ledger": ledger}
    )
    for p in outputs:
        check_output(p, force)
    if klass.private:
        if epsilon is None:
            raise UsageError(f"method {method!r} is differentially private: give --epsilon (and --delta)")
        budget = Budget(epsilon, 1e-9 if delta is None else delta)
    else:
        if epsilon is not None or delta is not None or ledger is not None:
            raise UsageError(
                f"method {method!r} gives {NO_GUARANTEE}: --epsilon, --delta and --ledger do not apply to it"
            )
        budget = None
    params = dict(params or {})
    if jax_cache and "jax_cache" in klass.default_params():
        params["jax_cache"] = jax_cache
    kwargs: dict[str, Any] = {
        "seed": seed,
        "trust_domains": trust_domains,
        "domains": domains,
        "domain_share": domain_share,
        "missing": missing,
        "progress": progress,
        "binning": binning,
        "binning_columns": binning_columns,
        "point_masses": point_masses,
        "max_memory_gb": max_memory_gb,
        "max_minutes": max_minutes,
        **params,
    }
    if binning_share is not None:
        kwargs["binning_share"] = binning_share
    if bins is not None:
        kwargs["bins"] = bins
    synth: Synthesizer = klass(**kwargs)
    df = read_table(input)
    sch, schema_source = _resolve_schema(df, schema, str(input))
    if (
        klass.private
        and schema_source.startswith(_INFERRED)
        and len(df)
        and not (trust_domains or domains == "trust")
    ):
        from anonlab.errors import PrivacyError

        raise PrivacyError(
            f"{input}: no --schema: a schema inferred from this table takes its column types and roles from the "
            "data (one record can change them, and the release would show it), so a DP method needs a schema you "
            f"give: draft one with `anonlab schema infer {input} -o schema.toml`, review it, and pass --schema "
            "schema.toml (domains it read from the data are then discovered with DP), or pass --trust-domains to "
            "use the inferred schema as public"
        )
    led = None
    if ledger is not None:
        from anonlab.privacy.ledger import Ledger

        led = Ledger.open(ledger)
    synth.fit(df, sch, budget, ledger=led, source=str(input))
    if diagnostics:
        _print_diagnostics(synth.outside_domain_)
    from anonlab.synth.artifacts import published, sidecar_allow, statement

    private = synth.private
    warnings = []
    if private and synth.privacy_ is not None and synth.privacy_.seeded:
        from anonlab.privacy.noise import SEEDED_WARNING

        warnings.append(SEEDED_WARNING)
    if not private:
        warnings.append(f"{method} gives {NO_GUARANTEE}: use it as a baseline, not as a release")
    out = synth.sample(rows, seed=seed)
    model_path = str(save_model) if save_model else None
    summary = synth.summary()
    privacy = summary["privacy"]
    ledger_text = str(ledger) if ledger is not None else ("none" if private else None)
    said = statement(privacy, ledger_text) if private else summary["statement"]
    seconds = None if private else round(time.monotonic() - started, 2)
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
        "schema_source": schema_source,
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
        method,
        privacy,
        seconds,
        model_path,
        schema_source,
        tuple(warnings),
        rows_from=car["rows_from"],
        seeded=car["seeded"],
        ledger=ledger_text,
        statement=said,
        private=private,
    )
    result.to_dict()
    if save_model:
        synth.save(save_model, force)  # checks its manifest against its allow-list before writing
    write_table(out, output, force)
    write_text(sidecar_path(output), json.dumps(car, indent=2, default=str) + "\n", force)
    return result


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
