"""The result of one evaluation: :class:`Evaluation`, every figure of every part, with a verdict each.

Reports, ``--json``, :meth:`Evaluation.to_frame` and a notebook's display all render from it; nothing is
recomputed. The seed the user gave is a secret: it is never written by any of them (only a drawn seed is).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import chain
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from anonlab.evaluation.config import EvaluationConfig
    from anonlab.evaluation.generalised import DecodeResult
    from anonlab.evaluation.metrics.associations import AssociationResult
    from anonlab.evaluation.metrics.attacks import AnonymeterResult
    from anonlab.evaluation.metrics.distance import DCRResult
    from anonlab.evaluation.metrics.membership import MembershipResult
    from anonlab.evaluation.metrics.quality import QualityResult
    from anonlab.evaluation.metrics.tstr import TSTRResult
    from anonlab.evaluation.metrics.tv import MarginalResult
    from anonlab.evaluation.parts import PartResult
    from anonlab.evaluation.verdicts import Verdict

__all__ = ["Evaluation", "FRAME_COLUMNS", "json_safe", "seed_text", "relabel"]

#: The columns of :meth:`Evaluation.to_frame`.
FRAME_COLUMNS = ("part", "kind", "metric", "value", "interval", "baselines", "verdict", "reason")


@dataclass(frozen=True)
class Evaluation:
    """Everything measured on one release. Reports and ``--json`` render from this; nothing is recomputed.

    ``parts`` holds each part's :class:`~anonlab.evaluation.parts.PartResult`, in the order of
    :data:`~anonlab.evaluation.parts.PARTS` (a part left out by ``config.skip`` is absent); the attributes
    ``marginals``, ``tstr``, ``dcr``, ... are its values, ``verdicts``, ``baselines``, ``flags`` and ``repeats``
    theirs gathered in that order. ``assess`` holds :func:`anonlab.deid.risk.assess`'s figures on the release as
    published (generalised releases only). ``privacy`` is the privacy spent to make the release as its maker
    reported it (``None`` for methods with no formal guarantee). ``distributions`` holds, per column, the binned
    real and release distributions drawn in the report; ``types_from`` where the column types came from; ``task``
    TSTR's task for the target.
    """

    label: str
    seed: int
    rows_real: int
    rows_release: int
    rows_holdout: int | None
    kinds: dict[str, str]
    target: str | None
    quasi: tuple[str, ...]
    config: EvaluationConfig
    decode: DecodeResult
    parts: dict[str, PartResult] = field(default_factory=dict)
    privacy: dict[str, Any] | None = None
    distributions: dict[str, dict[str, list]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    types_from: str = "schema"
    task: str | None = None
    #: the user gave the seed: a secret, never written to a report, --json or summary line (only drawn seeds are)
    seed_given: bool = False

    # -- each part's value ----------------------------------------------------------------------------------
    def value(self, part: str) -> Any:
        """The value of part ``part`` (``None`` when it was not computed or left out)."""
        p = self.parts.get(part)
        return None if p is None else p.value

    @property
    def marginals(self) -> tuple[MarginalResult, ...]:
        return self.value("marginals") or ()

    @property
    def associations(self) -> tuple[AssociationResult, ...]:
        return self.value("associations") or ()

    @property
    def tstr(self) -> TSTRResult | None:
        return self.value("tstr")

    @property
    def quality(self) -> QualityResult | None:
        return self.value("quality")

    @property
    def dcr(self) -> DCRResult | None:
        return self.value("dcr")

    @property
    def membership(self) -> MembershipResult | None:
        return self.value("membership")

    @property
    def anonymeter(self) -> AnonymeterResult | None:
        return self.value("anonymeter")

    @property
    def assess(self) -> dict[str, Any] | None:
        return self.value("assess")

    # -- gathered over the parts ----------------------------------------------------------------------------
    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return tuple(chain.from_iterable(p.verdicts for p in self.parts.values()))

    @property
    def baselines(self) -> dict[str, dict[str, float | None]]:
        """Per utility figure, the baselines its verdict was judged against (:mod:`anonlab.evaluation.verdicts`)."""
        return {k: v for p in self.parts.values() for k, v in p.baselines.items()}

    @property
    def flags(self) -> tuple[str, ...]:
        """The columns whose 1-way TV passed :data:`~anonlab.evaluation.verdicts.COLLAPSE_TV`."""
        return tuple(chain.from_iterable(p.flags for p in self.parts.values()))

    @property
    def repeats(self) -> dict[str, list[float]]:
        """The per-seed values of attacks repeated on a small holdout."""
        return {k: v for p in self.parts.values() for k, v in p.repeats.items()}

    # -- headline figures for the frontier -------------------------------------------------------------------
    def marginal(self, order: int) -> MarginalResult | None:
        for m in self.marginals:
            if m.order == order:
                return m
        return None

    def headline(self) -> dict[str, float | None]:
        """The figures a frontier plots: utilities (higher is better) and risks (higher is worse)."""
        m1, m2, m3 = (self.marginal(i) for i in (1, 2, 3))
        mia = self.membership
        return {
            "utility_1way": m1.score if m1 else None,
            "utility_2way": m2.score if m2 else None,
            "utility_3way": m3.score if m3 else None,
            "tstr_ratio": self.tstr.mean_ratio if self.tstr else None,
            "quality_score": self.quality.score if self.quality else None,
            "mia_auc": mia.max_auc if mia else None,
            "mia_auc_distance": mia.attack("distance").auc if mia else None,
            "mia_auc_density": mia.attack("density").auc if mia else None,
            "dcr_train_share": self.dcr.train_share if self.dcr else None,
            "exact_copy_share": self.dcr.exact_copy_share if self.dcr else None,
            "anonymeter_max_risk": self.anonymeter.max_risk if self.anonymeter else None,
            "k": None if self.assess is None else self.assess.get("k"),
        }

    # -- renderings -----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every figure as JSON-ready data (what ``anonlab evaluate --json`` writes); NaN and infinite floats
        become ``None`` (JSON has no NaN)."""
        from anonlab.evaluation.verdicts import RULE

        def d(x):
            return None if x is None else x.to_dict()

        return json_safe(
            {
                "label": self.label,
                "seed": None if self.seed_given else self.seed,
                "seed_given": self.seed_given,
                "rows": {"real": self.rows_real, "release": self.rows_release, "holdout": self.rows_holdout},
                "columns": self.kinds,
                "target": self.target,
                "quasi": list(self.quasi),
                "config": self.config.to_dict(),
                "generalisation": self.decode.to_dict(),
                "headline": self.headline(),
                "verdicts": [v.to_dict() for v in self.verdicts],
                "utility": {
                    "marginals": [m.to_dict() for m in self.marginals],
                    "associations": [a.to_dict() for a in self.associations],
                    "tstr": d(self.tstr),
                    "sdmetrics_quality": d(self.quality),
                },
                "risk": {
                    "dcr": d(self.dcr),
                    "membership": d(self.membership),
                    "anonymeter": d(self.anonymeter),
                    "assess": self.assess,
                },
                "privacy": self.privacy,
                "distributions": self.distributions,
                "notes": list(self.notes),
                "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
                "versions": self.versions,
                "verdict_rule": RULE,
                "baselines": self.baselines,
                "flags": list(self.flags),
                "repeats": self.repeats,
                "types_from": self.types_from,
                "task": self.task,
            }
        )

    def rows(self) -> list[dict[str, Any]]:
        """One row per metric (the rows of :meth:`to_frame`): each verdict of each part, in part order, then one
        row per part that was not computed without a verdict of its own (its reason in ``reason``)."""
        from anonlab.evaluation.parts import TABLE

        out = []
        for p in TABLE:
            res = self.parts.get(p.name)
            if res is None:
                out.append(_row(p.name, p.kind, p.title, "not computed: left out (config skip)"))
                continue
            for v in res.verdicts:
                b = dict(v.baselines) or None
                out.append(
                    {
                        "part": p.name,
                        "kind": v.kind,
                        "metric": v.metric,
                        "value": v.figure,
                        "interval": v.interval,
                        "baselines": b,
                        "verdict": v.verdict,
                        "reason": v.reason,
                    }
                )
            if not res.verdicts and not res.computed:
                out.append(_row(p.name, p.kind, p.title, f"not computed: {res.skipped_reason}"))
        return json_safe(out)

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with one row per metric: ``part``, ``kind`` (utility or risk), ``metric``, ``value`` (the
        figure, ``None`` when not computed), ``interval`` (its 95% interval, where it has one), ``baselines``
        (what a utility verdict was judged against), ``verdict`` and ``reason``."""
        import pandas as pd

        rows = self.rows()
        frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
        frame["value"] = frame["value"].astype(float)
        return frame

    def to_html(
        self, path: str | Path | None = None, *, title: str | None = None, force: bool = False
    ) -> str:
        """The self-contained HTML report (plots embedded; needs the eval extra's matplotlib). Written
        atomically to ``path`` when given (an existing file only with ``force=True``); the page is returned."""
        from anonlab.evaluation.report import evaluation_html

        text = evaluation_html(self, title=title)
        if path is not None:
            from anonlab.io import write_text

            write_text(path, text, force)
        return text

    def _repr_html_(self) -> str:
        from anonlab.evaluation.report import evaluation_summary_html

        return evaluation_summary_html(self)

    def seed_words(self) -> str:
        """How a report or summary line names this run's seed: a seed the user gave is a secret; a differentially
        private release's report shows none at all."""
        if self.privacy:
            return "seed not shown (a differentially private release's report shows none)"
        return seed_text(self.seed, self.seed_given)

    def summary_lines(self) -> list[str]:
        """What ``anonlab evaluate`` prints: the sizes, one line per verdict, the notes (warnings aside)."""
        head = (
            f"{self.label}: {self.rows_release:,} released rows against {self.rows_real:,} real"
            + (f" and {self.rows_holdout:,} holdout" if self.rows_holdout else " (no holdout)")
            + f"; {self.seed_words()}"
        )
        lines = [head, *("  " + v.line() for v in self.verdicts)]
        lines += [f"  note: {n}" for n in self.notes if not n.startswith("warning: ")]
        lines.append(
            "  utility verdicts are relative to baselines computed in this run; risk verdicts are read at the "
            "pessimistic end of their 95% interval (docs/evaluation.md, 'The verdict rule')"
        )
        return lines


def _row(part: str, kind: str, metric: str, reason: str) -> dict[str, Any]:
    return {
        "part": part,
        "kind": kind,
        "metric": metric,
        "value": None,
        "interval": None,
        "baselines": None,
        "verdict": "n/a",
        "reason": reason,
    }


def json_safe(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by ``None`` (JSON has no NaN), recursively. A figure that
    is undefined is reported as not computed, with its reason, by the part that computed it."""
    import math

    import numpy as np

    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.floating):
        return json_safe(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def seed_text(seed: int, given: bool) -> str:
    """How a report names the run's seed: a seed the user gave is a secret and never shown."""
    return "seed given (secret, not shown)" if given else f"seed {seed}"


def relabel(ev: Evaluation, label: str) -> Evaluation:
    """A copy of ``ev`` under another label."""
    return replace(ev, label=label)
