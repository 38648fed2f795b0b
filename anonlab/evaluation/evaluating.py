"""Evaluate one release against the real data: every utility and risk metric, with a verdict each.

:func:`evaluate` takes the real table the release was made from (``real``, the "training" records), the release
(synthetic or generalised), and optionally a ``holdout``: real records from the same population that the release
never saw. The holdout is what makes risk measurable: membership inference, the DCR share and anonymeter's control
attacks all compare what the release reveals about its own records with what it reveals about strangers. Without
a holdout those metrics are skipped (and the report says so), and TSTR tests on a split of ``real``.

A generalised release (cells such as ``30-39``, ``{a,b}``, ``*``) is first read back into values by drawing
uniformly within each cell (:mod:`anonlab.evaluation.generalised`); its k-anonymity figures come from
:func:`anonlab.deid.risk.assess` on the release as published.

This module prepares the tables once (:class:`~anonlab.evaluation.parts.context.Context`) and runs the table of
parts (:data:`~anonlab.evaluation.parts.TABLE`); the parts hold the measuring and judging.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from anonlab.errors import InputError, UsageError
from anonlab.evaluation.config import EvaluationConfig
from anonlab.evaluation.parts import PARTS
from anonlab.evaluation.result import Evaluation, json_safe, relabel, seed_text
from anonlab.provenance import versions

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from anonlab.evaluation.generalised import DecodeResult
    from anonlab.evaluation.parts import Part
    from anonlab.evaluation.parts.context import Codes, Context

__all__ = ["evaluate", "Evaluation", "EvaluationConfig", "PARTS", "json_safe", "seed_text", "relabel"]

_UTILITY_PARTS = {"marginals", "associations", "tstr", "quality"}


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


def _distributions(codes: Codes) -> dict[str, dict[str, list]]:
    """Per column, the binned real and release distributions (the report's overlays)."""
    import numpy as np

    out = {}
    disc = codes.disc
    for c in disc.kinds:
        n = disc.cardinality(c)
        p = np.bincount(codes.real[c].to_numpy(), minlength=n).astype(float)
        q = np.bincount(codes.release[c].to_numpy(), minlength=n).astype(float)
        p, q = p / max(p.sum(), 1), q / max(q.sum(), 1)
        keep = (p > 0) | (q > 0)
        out[c] = {
            "labels": [lab for lab, k in zip(disc.labels(c), keep, strict=True) if k],
            "real": [float(v) for v in p[keep]],
            "release": [float(v) for v in q[keep]],
        }
    return out


@dataclass(frozen=True)
class _Prepared:
    """The tables typed alike and decoded, and the columns' roles, before any part runs."""

    real: pd.DataFrame
    published: pd.DataFrame
    decoded: pd.DataFrame
    holdout: pd.DataFrame | None
    kinds: dict[str, str]
    target: str
    target_class: bool
    quasi: list[str] | None
    sensitive: list[str]
    decode: DecodeResult
    types_from: str
    rng: np.random.Generator


def _target(target: str | None, cols: list[str], real, release, schema) -> str:
    if target is None:
        sens = [c for c in (schema.with_role("sensitive") if schema is not None else []) if c in cols]
        return sens[0] if sens else cols[-1]
    if target not in cols:
        why = (
            "holds no value in the real table"
            if target in real.columns and target in release.columns
            else "is not a column shared by the real table and the release"
        )
        raise UsageError(f"target={target!r} {why}")
    return target


def _decode(published, real, kinds, rng, schema) -> tuple[pd.DataFrame, DecodeResult]:
    """The release as values: generalised cells drawn within themselves, numbers as plain floats (or int64)."""
    import pandas as pd

    from anonlab.evaluation.generalised import decode_generalised

    domains = {c.name: c.categories for c in schema if c.categories} if schema is not None else None
    decoded, decode = decode_generalised(published, real, kinds, rng, domains)
    for c, k in kinds.items():
        if k == "numeric":  # plain float64 (not nullable Int64, which anonymeter's numba code cannot read)
            decoded[c] = pd.to_numeric(decoded[c], errors="coerce").astype(float)
            if pd.api.types.is_integer_dtype(real[c]) and decoded[c].notna().all():
                decoded[c] = decoded[c].round().astype("int64")
        else:
            decoded[c] = decoded[c].astype(object).where(decoded[c].notna(), None)
    return decoded, decode


def _roles(schema, role: str, cols: list[str]) -> list[str]:
    return [c for c in (schema.with_role(role) if schema is not None else []) if c in cols]


def _prepare(real, release, holdout, schema, target, quasi, sensitive, notes: list[str], rng) -> _Prepared:
    """Type the three tables alike, check the column arguments, decode a generalised release."""
    from anonlab.evaluation.metrics.tstr import is_class_target
    from anonlab.evaluation.tables import NUMERIC_TYPES, align_tables

    if len(real) < 2 or len(release) < 1:
        raise InputError("the real table needs at least 2 rows and the release at least 1")
    cols = _columns(real, release, holdout, schema, notes)
    aligned = align_tables(
        real[cols].reset_index(drop=True),
        release[cols].reset_index(drop=True),
        None if holdout is None else holdout[cols].reset_index(drop=True),
        schema,
    )
    notes += aligned.notes
    kinds = {c: "numeric" if t in NUMERIC_TYPES else "categorical" for c, t in aligned.types.items()}
    if not kinds:
        raise InputError("no column of the real table holds any value")
    cols = list(kinds)
    target = _target(target, cols, real, release, schema)
    for q in quasi or []:
        if q not in cols:
            raise UsageError(
                f"quasi= names {q!r}, which is not a column shared by the real table and the release"
            )
    real_t = aligned.real
    target_class = kinds[target] == "categorical" or is_class_target(real_t[target])
    if kinds[target] == "numeric" and target_class:
        notes.append(
            f"target {target!r} holds {real_t[target].nunique()} distinct numbers in the real table: it is scored "
            "as a class label (classification), not a regression"
        )
    decoded, decode = _decode(aligned.release, real_t, kinds, rng, schema)
    if decode.generalised:
        notes.append(
            "generalised release: each generalised cell (interval, set, mask, *) was replaced by a value drawn "
            "uniformly within it before the utility and distance metrics; the figures describe that reading"
        )
    if quasi is None:
        quasi = _roles(schema, "quasi", cols) or (
            [c for c, n in decode.decoded.items() if n] if decode.generalised else None
        )
    if sensitive is None:
        sensitive = _roles(schema, "sensitive", cols) or [target]
    return _Prepared(
        real_t,
        aligned.release,
        decoded,
        aligned.holdout,
        kinds,
        target,
        target_class,
        quasi,
        list(sensitive),
        decode,
        aligned.source,
        rng,
    )


def _context(
    prep: _Prepared,
    todo: list[Part],
    config,
    seed,
    label,
    privacy,
    baseline_cache,
    notes: list[str],
    progress: bool = False,
) -> Context:
    """The shared inputs of the parts: codes, baselines (when a utility part runs), the repeat count."""
    from anonlab.evaluation import verdicts as V
    from anonlab.evaluation.metrics.discretise import Discretiser
    from anonlab.evaluation.parts.context import Codes, Context, baselines

    names = {p.name for p in todo}
    if {"tstr", "dcr", "membership"} & names:
        from anonlab.errors import require_extra

        require_extra("eval", "sklearn", "evaluation (TSTR, distances to closest records, membership)")
    disc = Discretiser(prep.kinds, bins=config.bins).fit(prep.real)
    codes = Codes(
        disc,
        disc.transform(prep.real),
        disc.transform(prep.decoded),
        {c: disc.cardinality(c) for c in prep.kinds},
    )
    cache = baseline_cache if baseline_cache is not None else {}
    base = None
    if _UTILITY_PARTS & names:
        base = baselines(prep.real, prep.holdout, codes, privacy, seed, cache)
        notes.append(base.note())
    hold = prep.holdout
    return Context(
        real=prep.real,
        release=prep.decoded,
        published=prep.published,
        holdout=hold,
        kinds=prep.kinds,
        target=prep.target,
        target_class=prep.target_class,
        quasi=prep.quasi,
        sensitive=prep.sensitive,
        config=config,
        seed=seed,
        rng=prep.rng,
        label=label,
        decode=prep.decode,
        codes=codes,
        base=base,
        repeats=V.REPEATS if hold is not None and len(hold) < V.SMALL_HOLDOUT else 1,
        cache=cache,
        progress=progress,
    )


def evaluate(
    real: pd.DataFrame,
    release: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    *,
    schema=None,
    target: str | None = None,
    quasi: list[str] | None = None,
    sensitive: list[str] | None = None,
    config: EvaluationConfig | Mapping[str, Any] | None = None,
    seed: int | None = None,
    label: str = "release",
    privacy: dict[str, Any] | None = None,
    progress: bool = False,
    baseline_cache: dict | None = None,
    seed_given: bool | None = None,
) -> Evaluation:
    """Measure ``release`` against ``real`` (the records it was made from) and, if given, ``holdout``.

    Every table is first typed alike (:func:`anonlab.evaluation.tables.align_tables`: the schema's types, or the
    types inferred from the real table), so a value compares equal whatever its formatting (``1``, ``1.0``,
    ``"1"``). Every utility figure is judged against baselines computed in the same run on the same binning
    (:mod:`anonlab.evaluation.metrics.baselines`, rule in :mod:`anonlab.evaluation.verdicts`). A part that cannot be
    computed is reported as not computed, with the reason; no metric stops the evaluation.

    Parameters
    ----------
    target : the column TSTR predicts and anonymeter's inference attack tries to learn. Default: the schema's
        first sensitive column, else the last column. A numeric target with two values, or a few whole-number
        codes (:func:`anonlab.evaluation.metrics.tstr.is_class_target`), is a class label, not a regression target.
    quasi : what an attacker is assumed to know about a person: the linkability attack's columns and the
        k-anonymity classes of a generalised release. Default: the schema's quasi-identifiers, else (for a
        generalised release) the generalised columns.
    sensitive : columns for ``assess``'s l-diversity and t-closeness (default: the schema's, else the target).
    config : sample sizes and parts to skip (:class:`EvaluationConfig`, or a mapping of its settings such as
        ``{"skip": ["anonymeter"]}``).
    seed : every sample and split is drawn from it, the anonymeter attacks' included; the same seed gives the
        same figures. A seed the caller gives is a secret
        and never appears in the result's reports (``seed`` is ``null``, ``seed_given`` true); without one, a seed
        is drawn and recorded so the run can be repeated.
    seed_given : whether ``seed`` is the user's (default: whether a seed was passed; a study passes its own).
    privacy : the privacy the release spent, as its maker reported it; copied into the report. When it states an
        epsilon, the DP 1-way baseline spends that budget.
    progress : show progress on stderr (:mod:`anonlab.progress`); ``False`` (the default) shows nothing at all.
    baseline_cache : a dict shared by evaluations of several releases of the same real table and holdout under
        the same config (:class:`~anonlab.evaluation.study.Study` passes one): the baselines are then computed
        once, by the first evaluation.

    Returns an :class:`~anonlab.evaluation.result.Evaluation`: ``to_frame()`` (one row per metric),
    ``to_dict()`` (what ``--json`` writes), ``to_html(path)``; a notebook displays its verdicts.
    """
    import numpy as np

    from anonlab.evaluation.parts import TABLE, run_part
    from anonlab.progress import bar, ticking

    config = EvaluationConfig.coerce(config)
    seed_given = (seed is not None) if seed_given is None else bool(seed_given)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    t0 = time.perf_counter()
    notes: list[str] = []
    prep = _prepare(
        real, release, holdout, schema, target, quasi, sensitive, notes, np.random.default_rng(seed)
    )
    timings = {"decode": time.perf_counter() - t0}
    todo = [p for p in TABLE if p.name not in config.skip]
    ctx = _context(prep, todo, config, seed, label, privacy, baseline_cache, notes, progress)
    parts = {}
    with bar(len(todo), desc=f"evaluate {label}", unit="part", enabled=progress) as b, ticking(b):
        for p in todo:
            b.set_postfix_str(p.name)
            parts[p.name] = res = run_part(p, ctx)
            notes += res.notes
            timings[p.name] = res.seconds
            b.update(1)
    timings["total"] = time.perf_counter() - t0
    notes += ["warning: " + f for res in parts.values() for f in res.flags]
    return Evaluation(
        label=label,
        seed=seed,
        rows_real=len(ctx.real),
        rows_release=len(ctx.published),
        rows_holdout=None if ctx.holdout is None else len(ctx.holdout),
        kinds=ctx.kinds,
        target=ctx.target,
        quasi=tuple(ctx.quasi or ()),
        config=config,
        decode=ctx.decode,
        parts=parts,
        privacy=privacy,
        distributions=_distributions(ctx.codes),
        notes=tuple(notes),
        timings=timings,
        versions=versions("scikit-learn", "scipy", "sdmetrics", "anonymeter", "matplotlib"),
        types_from=prep.types_from,
        task="classification" if ctx.target_class else "regression",
        seed_given=seed_given,
    )
