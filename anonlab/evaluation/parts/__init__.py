"""The parts of an evaluation, as one table: each part is a function of the shared :class:`Context` that returns a
:class:`PartResult` (its figures, verdicts, baselines and notes, or the reason it was not computed).

:func:`anonlab.evaluation.evaluate` runs the table in order (:data:`PARTS`); the reports render it in the same
order. A part that raises is reported as not computed, with the reason: no part sinks the evaluation. A new part
is one function and one row of :data:`TABLE`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anonlab.evaluation.parts.context import Context
    from anonlab.evaluation.verdicts import Verdict

__all__ = ["Part", "PartResult", "PARTS", "TABLE", "part", "run_part"]


@dataclass(frozen=True)
class PartResult:
    """What one part produced.

    value : the part's result object (:class:`~anonlab.evaluation.metrics.tstr.TSTRResult`, ...), ``None`` when
        the part was not computed.
    verdicts : its verdicts, in order (:mod:`anonlab.evaluation.verdicts`).
    notes : what a reader must know to read its figures (samples, caps, repetitions).
    baselines : per utility figure, the baselines its verdict was judged against.
    flags : warnings about single columns (a 1-way marginal the method collapsed).
    repeats : per-seed values of an attack repeated on a small holdout.
    skipped_reason : why the part was not computed (``None`` when it was).
    seconds : the time it took.
    """

    value: Any = None
    verdicts: tuple[Verdict, ...] = ()
    notes: tuple[str, ...] = ()
    baselines: dict[str, dict[str, float | None]] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    repeats: dict[str, list[float]] = field(default_factory=dict)
    skipped_reason: str | None = None
    seconds: float = 0.0

    @property
    def computed(self) -> bool:
        return self.skipped_reason is None

    @classmethod
    def skipped(cls, reason: str, note: str | None = None) -> PartResult:
        """A part that does not apply here (no holdout, not a generalised release), with the reason."""
        return cls(skipped_reason=reason, notes=(note,) if note else ())


@dataclass(frozen=True)
class Part:
    """One row of the table: ``name`` (what ``skip`` names), ``kind`` (``"utility"`` or ``"risk"``), ``title``
    (how a report heads it) and ``run``, the function of the shared :class:`Context` that computes it."""

    name: str
    kind: str
    title: str
    run: Callable[[Context], PartResult]


def run_part(p: Part, ctx: Context) -> PartResult:
    """Run one part; an exception becomes a part reported as not computed, with its reason (never raised)."""
    import time

    from anonlab.evaluation.verdicts import not_computed

    t = time.perf_counter()
    try:
        res = p.run(ctx)
    except Exception as exc:  # no metric may sink the evaluation: report it as not computed, with why
        reason = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:200]
        res = PartResult(
            verdicts=(not_computed(p.name, reason, p.kind),),
            notes=(f"{p.name} not computed: {reason}",),
            skipped_reason=reason,
        )
    return replace(res, seconds=time.perf_counter() - t)


def _table() -> tuple[Part, ...]:
    from anonlab.evaluation.parts import risk, utility

    return (
        Part("marginals", "utility", "Marginals", utility.marginals),
        Part("associations", "utility", "Associations", utility.associations),
        Part("tstr", "utility", "Train on release, test on real", utility.tstr),
        Part("quality", "utility", "SDMetrics quality", utility.quality),
        Part("dcr", "risk", "Distance to closest record", risk.dcr),
        Part("membership", "risk", "Membership inference", risk.membership),
        Part("anonymeter", "risk", "Anonymeter attacks", risk.anonymeter),
        Part("assess", "risk", "k-anonymity of the release as published", risk.assess),
    )


#: The parts of an evaluation, in the order they run and are shown.
TABLE: tuple[Part, ...] = _table()

#: Their names, in order; ``EvaluationConfig.skip`` names parts to leave out.
PARTS: tuple[str, ...] = tuple(p.name for p in TABLE)


def part(name: str) -> Part:
    """The row of :data:`TABLE` named ``name``."""
    for p in TABLE:
        if p.name == name:
            return p
    from anonlab.errors import UsageError

    raise UsageError(f"unknown evaluation part {name!r} (parts: {', '.join(PARTS)})")
