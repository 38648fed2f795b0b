"""Making a ``dp stats`` release: check everything, charge the ledger, then draw the noise and answer.

:func:`dp_stats` is the public entry point (a notebook's, and the CLI's): it takes the table, the queries, the
total (epsilon, delta) and optionally a schema, a ledger and a seed, and returns a
:class:`~anonlab.privacy.stats.result.StatsResult`. :func:`preview_dp_stats` says what such a run would spend and
with what noise, spending nothing. :func:`run_stats` and :func:`preview_stats` are the engines under them, with
every input explicit. Where the table is not in this process, ``aggregates=`` (a :class:`StatsAggregates`) gives
the run its exact inputs and the table's fingerprint computed elsewhere (:mod:`anonlab.distributed.stats` on a
Dask cluster); everything else (checks, charge, noise, answers) is this module's, in the same order.

Order of a run: the queries, plan and columns are checked from public information; the queried columns are coerced
to their schema types (a value that does not fit is refused naming the column only); every exact statistic is
computed; only then is the ledger charged, and only after the charge is any noise drawn. Everything that can fail
on the data fails before the charge.

Seeded noise: a seeded release draws from a keystream derived from the seed, a canonical digest of all the release's
parameters (queries, epsilon, delta, the schema's fingerprint, trusted domains, missing-value handling), the table's
content fingerprint (kept inside the process and the ledger) and the ledger sequence number, so two releases that
differ in anything never share noise.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from anonlab.errors import InputError, PrivacyError, PrivacyWarning, UsageError
from anonlab.privacy.artifact import published
from anonlab.privacy.noise import SEEDED_WARNING, NoiseSource
from anonlab.privacy.stats.answers import answer, exact, measured
from anonlab.privacy.stats.grid import GRID_BITS
from anonlab.privacy.stats.plan import Plan, check_columns, noise_plan, plan_stats
from anonlab.privacy.stats.queries import Query, as_queries
from anonlab.privacy.stats.result import (
    MISSING_HANDLING,
    NO_LEDGER,
    PARAMETERS,
    PREVIEW_ALLOW,
    StatsPreview,
    StatsResult,
)

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.privacy.ledger import Ledger
    from anonlab.schema import Schema

__all__ = [
    "NEIGHBOURS",
    "RELEASE_KIND",
    "dp_stats",
    "preview_dp_stats",
    "run_stats",
    "preview_stats",
    "coerce_private",
    "StatsAggregates",
]

#: dp stats releases are add/remove releases (the number of rows is private); on a replace-one ledger the ledger
#: charges them as a group of two.
NEIGHBOURS = "add/remove"
#: The release kind that labels a dp stats run's noise stream.
RELEASE_KIND = "dp stats"

Queries = Query | str | Iterable[Query | str]


class StatsAggregates(Protocol):
    """A table's exact aggregates computed outside this process (a cluster), in place of the table itself.

    Both are exact statistics of private data: a run releases the inputs only with noise and keeps the
    fingerprint in the ledger and the noise derivation, never in its result."""

    def exact_inputs(self, queries: list[Query], schema: Schema, source: str) -> list[Any]:
        """One exact input per query, equal to :func:`anonlab.privacy.stats.answers.exact` of the query on the
        table coerced to ``schema``'s queried columns; raises :class:`~anonlab.errors.InputError` naming the first
        queried column (schema order) that holds a value not of its type, as :func:`coerce_private` does."""

    def fingerprint(self) -> str:
        """:func:`anonlab.privacy.ledger.dataset_fingerprint` of the table."""


# -- the public functions -----------------------------------------------------------------------------------------


def dp_stats(
    df: pd.DataFrame,
    queries: Queries,
    *,
    epsilon: float,
    delta: float = 0.0,
    schema: Schema | str | os.PathLike | None = None,
    ledger: Ledger | str | os.PathLike | None = None,
    trust_domains: bool = False,
    seed: int | None = None,
    source: str = "input",
    parameters: dict[str, Any] | None = None,
    aggregates: StatsAggregates | None = None,
) -> StatsResult:
    """Answer ``queries`` on ``df`` with (epsilon, delta)-differential privacy in total.

    Neighbouring datasets differ by one record added or removed, so even the number of rows is protected.

    df : the private table.
    queries : one query or a list: :class:`~anonlab.privacy.stats.queries.Query` objects or their text
        (``"count"``, ``"counts:sex,race"``, ``"sum:x"``, ``"mean:x"``, ``"quantile:x:0.25,0.5"``, ``"median:x"``).
    epsilon, delta : the privacy cost of the whole run, split equally between the queries' measurements. With
        ``delta > 0`` the queries compose in zCDP and get (discrete) Gaussian noise; ``delta=0`` is pure DP with
        (discrete) Laplace noise. Smaller epsilon is more private.
    schema : a :class:`~anonlab.schema.Schema`, a schema file (``.toml``) or ``"adult"`` (the bundled public Adult
        schema), stating each queried column's type and **public** domain (categories, bounds). ``None`` infers one
        from ``df``: its types and domains then come from the data, which no noise pays for, so this is refused
        unless ``trust_domains=True``.
    ledger : the population's budget ledger (a :class:`~anonlab.privacy.ledger.Ledger` or its path), charged
        before any noise is drawn; a run that does not fit is refused and nothing is released. ``None`` releases
        without accounting (experiments only): it emits :class:`~anonlab.errors.PrivacyWarning` and the result's
        privacy statement says ``"no ledger"``.
    trust_domains : use domains the schema marks ``from_data`` as if public: you vouch they are (recorded in the
        ledger and the result; warns).
    seed : make the noise reproducible through a seeded keystream. The release is then private only while the seed
        stays secret and unguessable; it is never recorded (the result says ``seeded: true``; warns).
    source : how the table is named in messages (a file name).
    parameters : further public parameters to record (keys from
        :data:`~anonlab.privacy.stats.result.PARAMETERS`, such as ``input``); epsilon, delta, the queries,
        trust_domains, whether seeded and the ledger are recorded anyway.
    aggregates : the table's exact inputs and fingerprint computed elsewhere (:class:`StatsAggregates`; a
        cluster's); ``df`` is then not read (``None``), and ``schema=None`` is refused (inferring one reads it).

    Raises :class:`~anonlab.errors.UsageError` (bad queries or parameters), :class:`~anonlab.errors.PrivacyError`
    (data-read domains not trusted), :class:`~anonlab.errors.BudgetExceededError` (the ledger has too little left),
    :class:`~anonlab.errors.InputError` (a value that does not fit its column's type; the column is named, never the
    value). All of these come before the charge.
    """
    qs = as_queries(queries)
    plan = plan_stats(qs, epsilon, delta)  # checks epsilon, delta and the queries before anything is read
    if aggregates is not None and schema is None and trust_domains:
        raise UsageError(
            "schema=: a run on aggregates computed elsewhere needs a schema stating each queried column's type and "
            "domain (a file, a Schema or 'adult'); inferring one would read the whole table"
        )
    sch = resolve_schema(schema, df, trust_domains)
    led = resolve_ledger(ledger)
    noise = NoiseSource(_check_seed(seed))
    params = _parameters(qs, plan.epsilon, plan.delta, schema, ledger, trust_domains, noise.seeded)
    params.update(parameters or {})
    result = run_stats(
        df,
        sch,
        qs,
        epsilon=epsilon,
        delta=delta,
        ledger=led,
        trust_domains=trust_domains,
        noise=noise,
        source=source,
        parameters=params,
        aggregates=aggregates,
    )
    if noise.seeded:
        warnings.warn(SEEDED_WARNING, PrivacyWarning, stacklevel=2)
    if result.trusted_domains:
        warnings.warn(
            f"domains read from the data were trusted as public: {', '.join(result.trusted_domains)}",
            PrivacyWarning,
            stacklevel=2,
        )
    return result


def preview_dp_stats(
    df: pd.DataFrame,
    queries: Queries,
    *,
    epsilon: float,
    delta: float = 0.0,
    schema: Schema | str | os.PathLike | None = None,
    ledger: Ledger | str | os.PathLike | None = None,
    trust_domains: bool = False,
) -> StatsPreview:
    """What :func:`dp_stats` with these arguments would spend and with what noise, checked against the ledger
    (budget, domains). Draws no noise, charges nothing, releases nothing; raises what ``dp_stats`` would raise
    before its charge. The preview holds public facts only."""
    qs = as_queries(queries)
    plan_stats(qs, epsilon, delta)
    sch = resolve_schema(schema, df, trust_domains)
    led = resolve_ledger(ledger)
    return StatsPreview(
        preview_stats(df, sch, qs, epsilon=epsilon, delta=delta, ledger=led, trust_domains=trust_domains)
    )


def resolve_schema(
    schema: Schema | str | os.PathLike | None, df: pd.DataFrame, trust_domains: bool
) -> Schema:
    """The schema a run uses: as given, read from a file, the bundled Adult schema (``"adult"``), or inferred
    from ``df`` when the caller trusts data-read domains (refused otherwise)."""
    from anonlab.schema import Schema, infer_schema

    if isinstance(schema, Schema):
        return schema
    if schema is None:
        if not trust_domains:
            raise PrivacyError(
                "dp statistics need a schema stating each column's type and public domain (schema=); one inferred "
                "from the table itself takes its types and domains from the data, which no noise pays for. Give "
                "schema=, or pass trust_domains=True to vouch for the inferred one"
            )
        return infer_schema(df)
    if isinstance(schema, str) and schema == "adult":
        from anonlab.datasets import adult_schema

        return adult_schema()
    if isinstance(schema, str | os.PathLike):
        return Schema.read(os.fspath(schema))
    raise UsageError(f"schema= must be a Schema, a schema file or 'adult', not {type(schema).__name__}")


def resolve_ledger(ledger: Ledger | str | os.PathLike | None) -> Ledger | None:
    """The ledger object: as given, opened from its path, or ``None`` (no accounting)."""
    from anonlab.privacy.ledger import Ledger

    if ledger is None or isinstance(ledger, Ledger):
        return ledger
    if isinstance(ledger, str | os.PathLike):
        return Ledger.open(ledger)
    raise UsageError(f"ledger= must be a Ledger, a ledger file or None, not {type(ledger).__name__}")


def _check_seed(seed: int | None) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise UsageError(f"seed= must be a whole number or None, not {type(seed).__name__}")
    return seed


def _parameters(
    queries: list[Query],
    epsilon: float,
    delta: float,
    schema: object,
    ledger: object,
    trust_domains: bool,
    seeded: bool,
) -> dict[str, Any]:
    """The public parameters :func:`dp_stats` records (the schema and ledger only when given as paths or names)."""
    from anonlab.privacy.ledger import Ledger

    params: dict[str, Any] = {
        "epsilon": epsilon,
        "delta": delta,
        "queries": [q.text for q in queries],
        "trust_domains": bool(trust_domains),
        "seeded": seeded,
        "no_ledger": ledger is None,
    }
    if isinstance(schema, str | os.PathLike):
        params["schema"] = os.fspath(schema)
    if isinstance(ledger, Ledger):
        params["ledger"] = str(ledger.path)
    elif isinstance(ledger, str | os.PathLike):
        params["ledger"] = os.fspath(ledger)
    return params


# -- the engines --------------------------------------------------------------------------------------------------


def _no_ledger_warning() -> None:
    warnings.warn(
        "dp stats without a ledger: this release is charged to no budget, so nothing bounds the total privacy "
        f"loss of repeated releases (its privacy statement says {NO_LEDGER!r})",
        PrivacyWarning,
        stacklevel=3,
    )


def preview_stats(
    df: pd.DataFrame,
    schema: Schema,
    queries: Iterable[Query | str],
    *,
    epsilon: float,
    delta: float,
    ledger: Ledger | None,
    dataset: str | None = None,
    trust_domains: bool = False,
) -> dict[str, Any]:
    """What :func:`run_stats` would spend and with what noise, checked against the ledger; draws and writes
    nothing. Raises what ``run_stats`` would raise (budget exceeded, untrusted domains). The preview holds public
    facts only (:data:`~anonlab.privacy.stats.result.PREVIEW_ALLOW`)."""
    qs = as_queries(queries)
    plan = plan_stats(qs, epsilon, delta)
    trusted = check_columns(qs, schema, trust_domains)
    ledger_info: dict[str, Any] = {}
    if ledger is None:
        _no_ledger_warning()
    else:
        from anonlab.privacy.ledger import dataset_fingerprint

        fp = dataset or dataset_fingerprint(df)  # checked against the ledger only; never shown
        ledger.check(
            neighbours=NEIGHBOURS,
            epsilon=plan.epsilon,
            delta=plan.delta,
            dataset=fp,
            rho=plan.rho if plan.mode == "zcdp" else None,
        )
        ledger_info = {"ledger": {"path": str(ledger.path), "remaining_before": ledger.remaining().to_dict()}}
    record = {
        "dry_run": True,
        "privacy": {
            **plan.to_dict(),
            "ledger": str(ledger.path) if ledger is not None else NO_LEDGER,
            "trusted_domains": trusted,
        },
        "noise": [noise_plan(q, schema, plan) for q in qs],
        **ledger_info,
    }
    return published(record, PREVIEW_ALLOW)


def coerce_private(df: pd.DataFrame, sub: Schema, source: str) -> pd.DataFrame:
    """``sub.coerce(df)`` for a DP release: the schema's columns converted to their types, and a value that does not
    fit refused naming the column only (:class:`~anonlab.errors.InputError`). The value and its row number are
    facts about one person of the private table, and this refusal happens before any budget is spent, so neither
    may appear in the message (``dp stats`` and every DP synthesizer's ``fit`` use it)."""
    from anonlab.schema import Schema as _Schema

    sub.check_frame(df, source)
    try:
        return sub.coerce(df, source)
    except InputError:
        for col in sub.columns:
            try:
                _Schema((col,)).coerce(df[[col.name]], source)
            except InputError:
                raise InputError(
                    f"{source}: column {col.name!r} holds a value that is not a valid {col.type} (the schema's "
                    "type); the values and their rows are not shown, as they are private"
                ) from None
        raise InputError(f"{source}: a queried column does not fit its schema type") from None


def _release_params(
    queries: list[Query], plan: Plan, schema: Schema, trust_domains: bool, trusted: list[str]
) -> dict[str, Any]:
    """Every parameter that shapes a dp stats release, for the digest its seeded noise stream is derived from."""
    return {
        "queries": [q.canonical for q in queries],
        "epsilon": plan.epsilon,
        "delta": plan.delta,
        "mode": plan.mode,
        "rho": plan.rho,
        "schema": schema.fingerprint(),
        "trust_domains": bool(trust_domains),
        "trusted": list(trusted),
        "missing": MISSING_HANDLING,
        "grid_bits": GRID_BITS,
        "neighbours": NEIGHBOURS,
    }


def _release_noise(
    noise: NoiseSource, params: dict[str, Any], fingerprint: str, seq: int | None
) -> NoiseSource:
    """This release's own noise stream (:meth:`NoiseSource.release_stream`): from the seed, the canonical digest of
    ``params``, the table's content fingerprint and the ledger sequence (``None`` without a ledger). Unseeded
    sources give fresh OpenDP noise."""
    return noise.release_stream(RELEASE_KIND, params, fingerprint, seq)


def _charge(
    ledger: Ledger,
    queries: list[Query],
    plan: Plan,
    noise: NoiseSource,
    trusted: list[str],
    schema: Schema,
    fp: str,
) -> tuple[int, dict[str, Any]]:
    """Charge the whole run to ``ledger`` (before any noise); returns the entry's number and the ledger's public
    facts after the charge."""
    details = {
        "queries": [q.text for q in queries],
        "mode": plan.mode,
        "noise": noise.describe(),
        "trusted_domains": trusted,
        "schema": schema.fingerprint(),
    }
    entry = ledger.charge(
        neighbours=NEIGHBOURS,
        dataset=fp,
        what="dp stats: " + "; ".join(q.text for q in queries),
        mechanism="gaussian/exponential (zCDP)" if plan.mode == "zcdp" else "laplace/exponential (pure DP)",
        epsilon=plan.epsilon,
        delta=plan.delta,
        rho=plan.rho if plan.mode == "zcdp" else None,
        details=details,
    )
    return entry.seq, {
        "path": str(ledger.path),
        "population": ledger.population,
        "neighbours": ledger.neighbours,
        "entry": entry.seq,
        "charged": entry.charged_cost.to_dict(),  # twice the release's own cost on a replace-one ledger
        "remaining": ledger.remaining().to_dict(),
    }


def _check_parameters(parameters: dict[str, Any] | None) -> dict[str, Any]:
    params = dict(parameters or {})
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise UsageError(f"parameters= {unknown} are not recorded by dp stats; use {', '.join(PARAMETERS)}")
    return params


def run_stats(
    df: pd.DataFrame,
    schema: Schema,
    queries: Iterable[Query | str],
    *,
    epsilon: float,
    delta: float,
    ledger: Ledger | None,
    dataset: str | None = None,
    trust_domains: bool = False,
    noise: NoiseSource | None = None,
    source: str = "input",
    parameters: dict[str, Any] | None = None,
    aggregates: StatsAggregates | None = None,
) -> StatsResult:
    """Answer ``queries`` on ``df`` with (epsilon, delta)-DP in total (add/remove-one-record neighbours), charging
    ``ledger`` first (``neighbours="add/remove"``; a replace-one ledger charges the run as a group of two). The
    engine under :func:`dp_stats`, with every input explicit.

    epsilon, delta : the total privacy cost of the whole run (split equally between queries).
    ledger : the population's budget ledger, charged before any noise is drawn. ``None`` is allowed for
        experiments: it emits :class:`~anonlab.errors.PrivacyWarning` and the result's privacy statement says
        ``"no ledger"``.
    trust_domains : use domains marked ``from_data`` as if public (the user vouches; recorded in the ledger).
    noise : the randomness (seeded or OpenDP's). A seeded source is forked for this release from a digest of all its
        parameters, the table's fingerprint and the ledger entry; only whether it was seeded is recorded.
    dataset : the table's content fingerprint (computed from ``df`` when omitted); it goes into the ledger file and
        the noise derivation, never into the result.
    parameters : the run's public parameters as the caller records them (keys from
        :data:`~anonlab.privacy.stats.result.PARAMETERS` only).
    aggregates : the exact inputs and the fingerprint computed elsewhere (:class:`StatsAggregates`), at the
        point where they are computed from ``df`` otherwise (``df`` is not read). The fingerprint is asked for
        only when something uses it: a ledger or a seeded source (or ``dataset`` gives it).

    Everything that can fail on the data fails before the charge, and names columns only, never values or rows.
    """
    from anonlab.privacy.ledger import dataset_fingerprint
    from anonlab.schema import Schema as _Schema

    qs = as_queries(queries)
    noise = noise or NoiseSource()
    plan = plan_stats(qs, epsilon, delta)
    trusted = check_columns(qs, schema, trust_domains)
    params = _check_parameters(parameters)
    if ledger is None:
        _no_ledger_warning()
    release = _release_params(qs, plan, schema, trust_domains, trusted)
    # Every exact statistic is computed before the charge (so a bad value fails without spending budget) and no
    # noise is drawn before it.
    if aggregates is not None:
        exact_inputs = aggregates.exact_inputs(qs, schema, source)
        used_fp = ledger is not None or noise.seeded  # an unseeded run without a ledger uses no fingerprint
        fp = dataset or (aggregates.fingerprint() if used_fp else "")
    else:
        used = sorted({c for q in qs for c in q.columns})
        data = coerce_private(df, _Schema(tuple(schema[c] for c in used)), source) if used else df
        fp = dataset or dataset_fingerprint(df)
        exact_inputs = [exact(q, data, schema) for q in qs]
    seq, ledger_info = (
        _charge(ledger, qs, plan, noise, trusted, schema, fp) if ledger is not None else (None, None)
    )
    # A seeded source gets a keystream of its own for this release: two different releases made with the same seed
    # must never share noise, or subtracting them would cancel it.
    noise = _release_noise(noise, release, fp, seq)
    spent: list = []
    answers = [answer(q, ex, schema, plan, noise, spent) for q, ex in zip(qs, exact_inputs, strict=True)]
    return StatsResult(answers, plan, noise.describe(), trusted, ledger_info, params, measured(spent, plan))
