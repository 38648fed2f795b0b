"""One synthesis release end to end: read, check, charge, fit, sample, write the table and its sidecar.

This is what ``anonlab synth`` calls. Outputs are checked before any work (nothing is overwritten without
``force``), the ledger is charged inside ``fit`` before any noise is drawn, and every output is written atomically.
The sidecar ``OUTPUT.json`` records the method, the privacy spent (epsilon, delta, rho, neighbours, where the
noise came from, whether it was seeded, whether domains were trusted), the seed, the schema's hash, the package
versions and the run time; a non-DP method's sidecar says "no formal privacy guarantee".
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonlab.errors import UsageError
from anonlab.synth.base import NO_GUARANTEE, Budget, Synthesizer, get_method

__all__ = ["SynthResult", "synthesize", "sample_model", "adult_schema", "sidecar_path", "versions"]


@dataclass(frozen=True)
class SynthResult:
    """What a synthesis or sampling run wrote and spent."""

    output: str
    sidecar: str
    rows: int
    method: str
    privacy: dict[str, Any] | str
    seconds: float
    model: str | None = None
    schema_source: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "sidecar": self.sidecar,
            "rows": self.rows,
            "method": self.method,
            "privacy": self.privacy,
            "seconds": self.seconds,
            "model": self.model,
            "schema": self.schema_source,
            "warnings": list(self.warnings),
        }


def sidecar_path(output: str | Path) -> Path:
    return Path(str(output) + ".json")


def adult_schema():
    """The public-domain schema of UCI Adult shipped with anonlab (``anonlab/datasets/data/adult-schema.toml``)."""
    from anonlab.datasets import adult_schema as bundled

    return bundled()


def versions() -> dict[str, str]:
    """Versions of anonlab and the packages a synthesis depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in (
        "anonlab",
        "numpy",
        "pandas",
        "opendp",
        "networkx",
        "jax",
        "numpyro",
        "d3p",
        "twinify",
        "sdv",
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _serving(schema, df):
    """A schema with extra columns serves any subset of them: keep the columns the table has (all when it has
    none of them, so the missing column is named)."""
    sub = schema.present_in(df)
    return sub if len(sub) else schema


def _resolve_schema(df, schema: str | None, source: str):
    from anonlab.schema import Schema, infer_schema

    if schema == "adult":
        return _serving(adult_schema(), df), "adult (bundled, public domains)"
    if schema:
        return _serving(Schema.read(schema), df), str(schema)
    bundled = adult_schema()
    if list(df.columns) == bundled.names:
        return bundled, "adult (bundled, public domains; matched by column names)"
    return infer_schema(df), f"inferred from {source} (domains read from the data)"


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
    bins: int | None = None,
    binning: str = "public",
    binning_share: float | None = None,
    binning_columns: list[str] | None = None,
    missing: bool = True,
    params: dict[str, Any] | None = None,
    progress: bool = False,
    jax_cache: str | None = None,
) -> SynthResult:
    """Fit ``method`` on the table ``input`` and write ``rows`` synthetic rows to ``output`` (+ sidecar).

    schema : a schema TOML path, ``"adult"`` for the bundled public Adult schema, or None (the bundled Adult
        schema if the columns match it, else a schema inferred from the data, which DP methods refuse unless
        ``trust_domains``).
    epsilon, delta : the budget of a DP method (delta defaults to 1e-9). Refused for non-DP methods.
    ledger : a privacy ledger file, charged before any noise is drawn.
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

    guard_outputs(outputs, {"input": input, "schema": schema if schema != "adult" else None, "ledger": ledger})
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
        "missing": missing,
        "progress": progress,
        "binning": binning,
        "binning_columns": binning_columns,
        **params,
    }
    if binning_share is not None:
        kwargs["binning_share"] = binning_share
    if bins is not None:
        kwargs["bins"] = bins
    synth: Synthesizer = klass(**kwargs)
    df = read_table(input)
    sch, schema_source = _resolve_schema(df, schema, str(input))
    led = None
    if ledger is not None:
        from anonlab.privacy.ledger import Ledger

        led = Ledger.open(ledger)
    synth.fit(df, sch, budget, ledger=led, source=str(input))
    warnings = []
    for col, k in synth.outside_domain_.items():
        warnings.append(
            f"column {col!r}: {k} value(s) outside the schema's public domain were clamped or coded missing"
        )
    if synth.private and synth.privacy_ is not None and synth.privacy_.seeded:
        from anonlab.privacy.noise import SEEDED_WARNING

        warnings.append(SEEDED_WARNING)
    if not synth.private:
        warnings.append(f"{method} gives {NO_GUARANTEE}: use it as a baseline, not as a release")
    out = synth.sample(rows, seed=seed)
    write_table(out, output, force)
    model_path = None
    if save_model:
        synth.save(save_model, force)
        model_path = str(save_model)
    seconds = round(time.monotonic() - started, 2)
    privacy = synth.summary()["privacy"]
    car = {
        "tool": "anonlab synth",
        "output": str(output),
        "rows": int(len(out)),
        **synth.summary(),
        "budget": budget.to_dict() if budget else None,
        "epsilon": budget.epsilon if budget else None,
        "delta": budget.delta if budget else None,
        "rho": (synth.privacy_.rho if synth.privacy_ is not None else None) if budget else None,
        "seed": seed,
        "schema_source": schema_source,
        "ledger": str(ledger) if ledger else None,
        "model": model_path,
        "versions": versions(),
        "seconds": seconds,
        "warnings": warnings,
    }
    write_text(sidecar_path(output), json.dumps(car, indent=2, default=str) + "\n", force)
    return SynthResult(
        str(output),
        str(sidecar_path(output)),
        int(len(out)),
        method,
        privacy,
        seconds,
        model_path,
        schema_source,
        tuple(warnings),
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

    started = time.monotonic()
    table_format(output)
    from anonlab.io import guard_outputs

    guard_outputs([output, sidecar_path(output)], {"model": model})
    for p in (Path(output), sidecar_path(output)):
        check_output(p, force)
    synth = Synthesizer.load(model)
    out = synth.sample(rows, seed=seed)
    write_table(out, output, force)
    seconds = round(time.monotonic() - started, 2)
    summary = synth.summary()
    car = {
        "tool": "anonlab synth sample",
        "output": str(output),
        "rows": int(len(out)),
        "sampled_from": str(model),
        "note": "drawn from a saved model: post-processing, no further privacy budget spent",
        **summary,
        "seed": seed,
        "versions": versions(),
        "seconds": seconds,
    }
    write_text(sidecar_path(output), json.dumps(car, indent=2, default=str) + "\n", force)
    return SynthResult(
        str(output),
        str(sidecar_path(output)),
        int(len(out)),
        synth.name,
        summary["privacy"],
        seconds,
        str(model),
    )
