"""Differential privacy: typed privacy measures and accounting, OpenDP mechanisms, seeded noise, budget ledgers, and
DP statistics.

The names a notebook needs, imported on first use (PEP 562) so that ``import anonlab.privacy`` stays fast::

    from anonlab.privacy import Ledger, dp_stats

    ledger = Ledger.create("adult.ledger.jsonl", epsilon=2.0, delta=1e-6, population="Adult 1994")
    result = dp_stats(df, ["count", "mean:age"], epsilon=0.5, delta=1e-7, schema="adult", ledger=ledger)
    result.to_frame()

- :func:`dp_stats` (:mod:`anonlab.privacy.stats`): counts, contingency tables, sums, means and quantiles with
  (epsilon, delta)-DP, charged to a ledger before any noise is drawn; :func:`preview_dp_stats` spends nothing.
- :class:`Ledger` (:mod:`anonlab.privacy.ledger`): one population's privacy budget and every release charged to it.
- :mod:`anonlab.privacy.accounting`: privacy measures as values (:class:`PureDP`, :class:`ApproxDP`, :class:`ZCDP`)
  and their conversions; :mod:`anonlab.privacy.mechanisms`: Gaussian, Laplace and exponential mechanisms;
  :class:`NoiseSource` (:mod:`anonlab.privacy.noise`): OpenDP's noise, or seeded exact samplers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "PureDP": "anonlab.privacy.accounting",
    "ApproxDP": "anonlab.privacy.accounting",
    "ZCDP": "anonlab.privacy.accounting",
    "compose_zcdp": "anonlab.privacy.accounting",
    "pure_to_zcdp": "anonlab.privacy.accounting",
    "rho_for": "anonlab.privacy.accounting",
    "gaussian_sigma_for_rho": "anonlab.privacy.accounting",
    "NoiseSource": "anonlab.privacy.noise",
    "Release": "anonlab.privacy.mechanisms",
    "gaussian": "anonlab.privacy.mechanisms",
    "laplace": "anonlab.privacy.mechanisms",
    "exponential": "anonlab.privacy.mechanisms",
    "Ledger": "anonlab.privacy.ledger",
    "LedgerEntry": "anonlab.privacy.ledger",
    "dataset_fingerprint": "anonlab.privacy.ledger",
    "dp_stats": "anonlab.privacy.stats",
    "preview_dp_stats": "anonlab.privacy.stats",
    "Query": "anonlab.privacy.stats",
    "parse_query": "anonlab.privacy.stats",
    "StatsResult": "anonlab.privacy.stats",
    "StatsPreview": "anonlab.privacy.stats",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from anonlab.privacy.accounting import (  # noqa: F401
        ZCDP,
        ApproxDP,
        PureDP,
        compose_zcdp,
        gaussian_sigma_for_rho,
        pure_to_zcdp,
        rho_for,
    )
    from anonlab.privacy.ledger import Ledger, LedgerEntry, dataset_fingerprint  # noqa: F401
    from anonlab.privacy.mechanisms import Release, exponential, gaussian, laplace  # noqa: F401
    from anonlab.privacy.noise import NoiseSource  # noqa: F401
    from anonlab.privacy.stats import (  # noqa: F401
        Query,
        StatsPreview,
        StatsResult,
        dp_stats,
        parse_query,
        preview_dp_stats,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'anonlab.privacy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
