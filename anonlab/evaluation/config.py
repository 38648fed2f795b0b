"""How much work each part of an evaluation does: :class:`EvaluationConfig`, shared by one evaluation and a study.

Larger samples give tighter intervals and take longer. The settings are plain numbers, so a study recipe's
``[evaluate]`` table and the command's options map onto them one to one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from anonlab.errors import UsageError
from anonlab.evaluation.parts import PARTS

__all__ = ["EvaluationConfig", "PARTS"]


@dataclass(frozen=True)
class EvaluationConfig:
    """How much work each metric does. Larger samples give tighter intervals and take longer.

    bins : numeric columns are cut into this many quantile bins for marginals and Cramer's V.
    max_marginal_sets : at most this many 2-way and 3-way column sets are measured (a seeded random subset).
    dcr_rows : released records measured for DCR (a seeded sample; all when ``None``). 20,000 give the train
        share to about +-0.007.
    mia_candidates : member and non-member candidates per class in membership inference (capped by the holdout;
        all when ``None``). 10,000 per class give the AUC to about +-0.008.
    mia_k : the neighbour whose distance gives the density estimate of the density attack.
    tstr_rows : training rows per TSTR model (real and release).
    quality_rows : rows per table given to SDMetrics.
    anonymeter_rows, anonymeter_attacks : anonymeter's attacks (anonlab's implementation) target a sample of
        this many training records (and as many holdout records as the control), with up to ten times as many
        released records, and run this many attacks of each kind.
    anonymeter_seconds : wall-clock cap per anonymeter attack; an attack stopped by it is reported as not
        computed (the singling-out search is also bounded to a number of attempts proportional to the table).
    skip : parts of :data:`~anonlab.evaluation.parts.PARTS` to leave out.
    """

    bins: int = 10
    max_marginal_sets: int = 300
    dcr_rows: int | None = 20_000
    mia_candidates: int | None = 10_000
    mia_k: int = 5
    tstr_rows: int = 20_000
    quality_rows: int = 5_000
    anonymeter_rows: int = 3_000
    anonymeter_attacks: int = 300
    anonymeter_seconds: int = 60
    skip: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        skip = (self.skip,) if isinstance(self.skip, str) else tuple(self.skip)
        object.__setattr__(self, "skip", skip)
        unknown = set(self.skip) - set(PARTS)
        if unknown:
            raise UsageError(f"unknown evaluation part {sorted(unknown)[0]!r} (parts: {', '.join(PARTS)})")
        for f in fields(self):
            v = getattr(self, f.name)
            if (
                f.name != "skip"
                and v is not None
                and (not isinstance(v, int) or isinstance(v, bool) or v < 1)
            ):
                raise UsageError(f"evaluation setting {f.name} must be a whole number >= 1, got {v!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "recipe") -> EvaluationConfig:
        """A config from a recipe's ``[evaluate]`` table (or any mapping of setting names); unknown keys are
        refused, naming ``source``."""
        known = {f.name for f in fields(cls)}
        bad = set(data) - known
        if bad:
            raise UsageError(
                f"{source}: unknown [evaluate] setting {sorted(bad)[0]!r} (known: {', '.join(sorted(known))})"
            )
        return cls(**data)

    @classmethod
    def coerce(cls, config: EvaluationConfig | Mapping[str, Any] | None) -> EvaluationConfig:
        """``config`` as an :class:`EvaluationConfig`: itself, the defaults for ``None``, or built from a mapping
        (``{"skip": ["anonymeter"], "tstr_rows": 2000}``)."""
        if config is None:
            return cls()
        if isinstance(config, cls):
            return config
        if isinstance(config, Mapping):
            return cls.from_dict(config, "config")
        raise UsageError(f"config= must be an EvaluationConfig or a mapping of its settings, got {config!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)
        }
