"""Differentially private statistics over a table: counts, contingency tables, sums, means and quantiles.

Neighbouring datasets differ by adding or removing one record (so the number of rows is itself private). Every
answer uses only public information besides the data: the schema's categories and bounds, which must be public
(``from_data = false``) unless the user explicitly trusts them (``trust_domains=True``, recorded in the ledger).

The parts, each in its module:

- :mod:`~anonlab.privacy.stats.queries`: :class:`Query` and its text form (:func:`parse_query`);
- :mod:`~anonlab.privacy.stats.plan`: how the budget is split (:class:`Plan`, :func:`plan_stats`) and the columns'
  public domains checked, before any data is read;
- :mod:`~anonlab.privacy.stats.grid`: exact sums on a public fixed-point grid;
- :mod:`~anonlab.privacy.stats.answers`: each query's noisy :class:`Answer` and its 95% noise interval;
- :mod:`~anonlab.privacy.stats.result`: what a release may publish (:data:`STATS_ALLOW`, :data:`PREVIEW_ALLOW`)
  and the results (:class:`StatsResult`, :class:`StatsPreview`);
- :mod:`~anonlab.privacy.stats.release`: the run: :func:`dp_stats` (public), :func:`preview_dp_stats`, and the
  engines :func:`run_stats` and :func:`preview_stats`. The ledger is charged before any noise is drawn.

Without a ledger (``ledger=None``) a run still works, for experiments, but emits
:class:`~anonlab.errors.PrivacyWarning` and its privacy statement says ``"no ledger"``: nothing then bounds the
total privacy loss of repeated releases.
"""

from anonlab.privacy.stats.answers import Answer
from anonlab.privacy.stats.grid import GRID_BITS
from anonlab.privacy.stats.plan import MAX_CELLS, Plan, plan_stats
from anonlab.privacy.stats.queries import KINDS, Query, parse_query
from anonlab.privacy.stats.release import (
    coerce_private,
    dp_stats,
    preview_dp_stats,
    preview_stats,
    run_stats,
)
from anonlab.privacy.stats.result import (
    NO_LEDGER,
    PARAMETERS,
    PREVIEW_ALLOW,
    STATS_ALLOW,
    StatsPreview,
    StatsResult,
)

__all__ = [
    "dp_stats",
    "preview_dp_stats",
    "Query",
    "parse_query",
    "Answer",
    "StatsResult",
    "StatsPreview",
    "Plan",
    "plan_stats",
    "preview_stats",
    "run_stats",
    "coerce_private",
    "MAX_CELLS",
    "GRID_BITS",
    "KINDS",
    "STATS_ALLOW",
    "PREVIEW_ALLOW",
    "PARAMETERS",
    "NO_LEDGER",
]
