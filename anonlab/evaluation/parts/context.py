"""What every part of an evaluation reads: the aligned tables, their codes, the utility baselines and the settings.

:func:`anonlab.evaluation.evaluate` builds one :class:`Context` per release; each part of
:data:`~anonlab.evaluation.parts.TABLE` reads it and draws from its one random generator, in table order, so a
seed gives the same figures whichever parts are skipped before it. Baselines are computed once per real table and
holdout and kept in ``cache``, which a study shares between its releases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from anonlab.evaluation.config import EvaluationConfig
    from anonlab.evaluation.generalised import DecodeResult
    from anonlab.evaluation.metrics.discretise import Discretiser

__all__ = ["Codes", "Baselines", "Context", "baselines"]


@dataclass(frozen=True)
class Codes:
    """The real table and the release as integer codes of one :class:`Discretiser` fitted on the real table;
    ``card`` is each column's number of codes."""

    disc: Discretiser
    real: pd.DataFrame
    release: pd.DataFrame
    card: dict[str, int]


@dataclass(frozen=True)
class Baselines:
    """The utility baselines of one run (:mod:`anonlab.evaluation.verdicts` states the rule).

    independent : each column resampled independently from the real table; ``floor``: the holdout (or, without
    one, a bootstrap resample of the real table), described by ``floor_source``; ``dp_codes``: codes of the DP
    1-way baseline at the release's budget (``budget``), ``None`` when the release reported none.
    """

    independent: pd.DataFrame
    floor: pd.DataFrame
    floor_source: str
    independent_codes: pd.DataFrame
    floor_codes: pd.DataFrame
    dp_codes: pd.DataFrame | None
    budget: dict[str, float] | None

    def note(self) -> str:
        return (
            f"utility baselines (same run, same binning): independent columns ({len(self.independent):,} rows, "
            f"each column resampled independently from the real table); sampling floor: {self.floor_source}"
            + (
                f"; DP 1-way baseline: epsilon {self.budget['epsilon']:g} spent on noisy 1-way marginals only"
                if self.budget is not None
                else ""
            )
        )


def baselines(
    real: pd.DataFrame,
    holdout: pd.DataFrame | None,
    codes: Codes,
    privacy: dict[str, Any] | None,
    seed: int,
    cache: dict,
) -> Baselines:
    """The baselines of one run; the tables are drawn once per ``cache`` (a study shares it between releases)."""
    import numpy as np

    from anonlab.evaluation.metrics.baselines import (
        bootstrap,
        dp_budget,
        dp_one_way_codes,
        independent_columns,
    )

    if "tables" not in cache:
        brng = np.random.default_rng([seed, 1])
        indep = independent_columns(real, len(real), brng)
        if holdout is not None:
            floor_t, floor_src = holdout, "the holdout against the real table"
        else:
            floor_t = bootstrap(real, len(real), brng)
            floor_src = (
                "a bootstrap resample of the real table (no holdout given: a real second sample would show "
                "more sampling error)"
            )
        cache["tables"] = (indep, floor_t, floor_src)
    indep, floor_t, floor_src = cache["tables"]
    budget = dp_budget(privacy)
    dp_codes = None
    if budget is not None:
        key = ("dp codes", budget["epsilon"], budget["delta"], budget["rho"])
        if key not in cache:
            cache[key] = dp_one_way_codes(
                codes.real, codes.card, len(real), budget, np.random.default_rng([seed, 2])
            )
        dp_codes = cache[key]
    return Baselines(
        independent=indep,
        floor=floor_t,
        floor_source=floor_src,
        independent_codes=codes.disc.transform(indep),
        floor_codes=codes.disc.transform(floor_t),
        dp_codes=dp_codes,
        budget=budget,
    )


@dataclass
class Context:
    """The inputs of every part, prepared once by :func:`anonlab.evaluation.evaluate`.

    real, release, holdout : the aligned tables (one set of column types); ``release`` holds values (a
        generalised release read back by drawing within each cell), ``published`` the release as published.
    kinds : ``{column: "numeric" | "categorical"}``; ``target`` and ``target_class`` (whether TSTR classifies).
    quasi, sensitive : the attacker's knowledge and the sensitive columns (``quasi`` may be ``None``: unknown).
    rng : the run's one generator, drawn from by the parts in table order.
    codes, base : the discretised tables and the utility baselines (``base`` is ``None`` when no utility part
        runs).
    repeats : how many seeds the attacks are repeated over (more than 1 on a small holdout).
    cache : figures computed once per real table and holdout (shared by a study's releases).
    progress : whether the parts show progress bars on stderr (``evaluate(progress=...)``).
    """

    real: pd.DataFrame
    release: pd.DataFrame
    published: pd.DataFrame
    holdout: pd.DataFrame | None
    kinds: dict[str, str]
    target: str
    target_class: bool
    quasi: list[str] | None
    sensitive: list[str]
    config: EvaluationConfig
    seed: int
    rng: np.random.Generator
    label: str
    decode: DecodeResult
    codes: Codes
    base: Baselines | None
    repeats: int = 1
    cache: dict = field(default_factory=dict)
    progress: bool = False
    _encoded: dict[str, Any] = field(default_factory=dict, repr=False)

    def cached(self, key, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, computed once per ``key`` in :attr:`cache`."""
        if key not in self.cache:
            self.cache[key] = fn(*args, **kwargs)
        return self.cache[key]

    def encoded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The real table, the release and the holdout in distance space
        (:class:`~anonlab.evaluation.metrics.mixed_encoder.MixedEncoder` fitted on the real table), computed once."""
        if not self._encoded:
            from anonlab.evaluation.metrics.mixed_encoder import MixedEncoder

            enc = MixedEncoder(self.kinds).fit(self.real)
            self._encoded.update(x_real=enc.transform(self.real), x_rel=enc.transform(self.release))
            self._encoded["x_hold"] = None if self.holdout is None else enc.transform(self.holdout)
        e = self._encoded
        return e["x_real"], e["x_rel"], e["x_hold"]
