"""DP domain discovery: the categories and bounds of columns whose schema domain was read from the data.

A DP synthesizer needs public domains (:mod:`anonlab.synth.encoding`). A schema drafted by ``anonlab schema infer``
marks its domains ``from_data = true``: the exact categories, bounds and "no missing values" read from the table,
which are not private (a category held by one person names that person's value). Instead of refusing such a
column, or trusting it (``--trust-domains``, for domains the user knows are public), a DP fit *discovers* the
domain with differential privacy, paid from its own budget, and then uses the result as a public domain.

What is released
----------------
Each discovered column gets one histogram in which every record counts in exactly one key, released with discrete
Gaussian noise (:func:`anonlab.privacy.mechanisms.gaussian`, OpenDP's sampler or the seeded exact one); a key is
kept when its noisy count reaches a threshold ``tau``. Each record lies in one key per column, so one column's
histogram has L2 sensitivity 1 under add/remove neighbours (sqrt(2) under replace-one).

- **Categories** (``categorical`` and ``code`` columns): the keys are the values observed in the data, plus the
  public key "missing". This is OpenDP's stable-keys release (``make_private_lazyframe`` grouping by keys that
  are not public; Rogers et al. 2020 / Google's partition selection): a key held by one record exists in one of
  two neighbouring tables only, and it is released with probability ``P[1 + Z >= tau]`` (``Z`` the discrete
  Gaussian noise), computed exactly here. That probability per column, summed over the columns, is
  ``delta_keys``: the histogram is (rho, delta_keys)-approximate zCDP. The kept values, sorted, are the column's
  public categories, and one more, :data:`OTHER` (``"(other)"``), stands for every value seen in the data but not
  kept: the synthesizer learns its share and pairs like any category's, and the release writes it as the text
  ``(other)``. It is not a real value: it says "one of the rare values this release cannot name". Every discovered
  categorical column gets it, whether or not some value was dropped (whether one was is not released), so a
  column where none was can hold a few ``(other)`` rows drawn from noise; ``anonlab evaluate`` sees it as a
  category the real column lacks, which costs its share in the 1-way TV, as the lost identity of those values
  should. A schema column that states a public ``other`` label (where the schema carries one) gets that label
  instead of the placeholder.
- **Bounds** (``integer``, ``float`` and ``date`` columns): the keys are the cells of a fixed public grid over a
  wide public search range, plus "missing". Numbers use a symmetric 1-2-5 log grid (..., [-2, -1), [-1, 0), [0,
  1), [1, 2), [2, 5), [5, 10), ... up to 1e12; floats go down to 1e-6 around zero) with one open cell beyond
  +-1e12 on each side; dates use 5-year cells from 1800-01-01 to 2200-12-31. The discovered bounds are the outer
  edges of the lowest and the highest kept cell (so they are rounded outward to a clean value, and cover every
  cell with at least about ``tau_cells`` records); values outside are clamped to them as with any public bounds.
  The keys are public, so this part needs no extra delta, and its threshold ``tau_cells`` is lower: set so that an
  empty cell is kept with probability at most :data:`SPURIOUS_CELLS` (1e-6) over all cells (half of it to single
  cells; the other half to runs of :data:`WINDOW` adjacent cells, whose noisy counts together may pass
  ``tau_window`` when each alone falls short: values spread thinly over a decade still widen the bounds). (A DP
  quantile by the exponential mechanism over such a wide grid is nearly uniform at the small epsilon a discovery
  gets; a thresholded histogram on a coarse grid is not.)
- **Decimals** (``float`` columns): a second histogram per float column, over the public keys 0, 1, ..., 6 and
  "more": each value counts in the key of the fewest decimal places that write it exactly (the precision
  ``schema infer`` reads as ``decimals``). The column's ``decimals`` is the largest kept key (none when "more" is
  kept, or no key is): synthetic values are rounded to it, so an atom written 3.258096 comes back as 3.258096 and
  not as 3.258095 from a cell of 2**-20 of the range. The keys are public (threshold ``tau_cells``, no delta);
  each record counts in one key of each of the column's two histograms, which the accounting counts as two.
- **Missing values**: the key "missing" is kept like any other. A column whose "missing" key is not kept gets no
  missing code (the synthesizer then never makes missing values up), and a record with a missing value there is
  left out of the fit (a per-record filter on released information: no cost). Unkept categories are
  :data:`OTHER`, never missing. With ``missing=False`` (the fit's public statement that no value is missing) no
  column has a missing code, and a record with a missing value in a discovered column is left out.

When no key passes the threshold (a tiny table), a categorical column gets only :data:`OTHER` and a numeric one
the whole search range.

Accounting
----------
The discovery gets ``share`` (default 40% for MST and AIM where a categorical column is discovered,
:data:`MARGINAL_DOMAIN_SHARE`, as they reuse the kept categories' noisy counts as one-way measurements; 20%
otherwise, :data:`DEFAULT_DOMAIN_SHARE`) of the fit's zCDP budget and ``delta_share`` (default 10%) of its delta
for ``delta_keys``. The whole fit is then (rho, delta_keys)-approximate zCDP with ``rho = rho_for(epsilon, delta -
delta_keys)``: the discovery takes ``share * rho``, the synthesizer (and its quantile binning and densities) the
rest, and the ledger is charged once for the whole fit with ``rho`` and ``delta_extra = delta_keys``
(:meth:`anonlab.privacy.ledger.Ledger.charge`), so that the release is (epsilon, delta)-DP and composes right.
Every categorical column gets the same noise (``sigma``) and threshold (``tau``); the public grids (bounds,
precision) get less of the budget (:data:`CELL_WEIGHT` of a categorical column's rho each, so noise ``sigma_cells``
= ``sigma / sqrt(CELL_WEIGHT)``) and their own threshold (``tau_cells``). Methods accounted in (epsilon, delta) only
(DPVI) give ``share`` of epsilon and of delta to the discovery (basic composition): the discovery spends the rho
whose conversion at its delta less ``delta_keys`` fits in its epsilon.

The plan (columns, sigma, sigma_cells, tau, rho, delta_keys) is public; the discovered domains are DP outputs,
stored in the model's encoding and the sidecar (``privacy.details.discovered_domains``). Columns whose domain is public
(``from_data = false``) are never touched.

Where it runs
-------------
A discovery reads the table only through exact aggregates that add up over the rows (:class:`DomainCounts`: each
observed value of a category and its count, the grid's cells, the precision histogram, the missing values), so it
is two steps: :func:`domain_counts` on the table or on each of its parts (summed by :func:`add_domain_counts`), and
:func:`release_domains` once, on the whole table's sums (all the noise). In-process, :func:`discover_domains` runs
both on the one frame; on a cluster (:mod:`anonlab.distributed.marginals`) the workers count the parts and the
client releases. The same rows give the same sums, so the same seed gives the same domains.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from anonlab.errors import PrivacyError, UsageError

# the public keys of a float column's precision histogram: 0 .. MAX_DECIMALS decimal places, then "more"; one rule
# with anonlab.schema.infer_schema's ``decimals``
from anonlab.schema import MAX_DECIMALS, decimal_places

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.schema import Column, Schema

__all__ = [
    "DOMAIN_MODES",
    "DEFAULT_DOMAIN_SHARE",
    "MARGINAL_DOMAIN_SHARE",
    "DEFAULT_DELTA_SHARE",
    "SEARCH_LIMIT",
    "DATE_RANGE",
    "SUPPRESSED",
    "OTHER",
    "SPURIOUS_CELLS",
    "WINDOW",
    "CELL_WEIGHT",
    "DomainPlan",
    "check_mode",
    "discovered_columns",
    "plan_domains",
    "discover_domains",
    "DomainCounts",
    "domain_counts",
    "add_domain_counts",
    "check_keys",
    "release_domains",
    "dropped_missing",
    "kept_rows",
    "TooManyKeys",
    "MAX_KEYS",
    "discrete_gaussian_tail",
    "domain_measurement",
    "UNMEASURED",
    "threshold_for",
    "number_grid",
    "date_grid",
    "decimal_places",
    "MAX_DECIMALS",
]

#: ``domains=`` of a DP fit on a schema with ``from_data`` domains: discover them with DP (default), trust them
#: as public (``--trust-domains``), or refuse the fit.
DOMAIN_MODES = ("discover", "trust", "refuse")
#: Share of the fit's zCDP budget (rho; of epsilon for DPVI) spent on discovering domains, for a method that does
#: not reuse the discovery's counts (NAPSU-MQ, DPVI). On Adult (MST, epsilon 1, 3 seeds, before the counts were
#: reused) the mean 2-way TV was 0.062 at 0.1, 0.058 at 0.2 and 0.056 at 0.3, against 0.052 with trusted domains.
DEFAULT_DOMAIN_SHARE = 0.2
#: The default share for the marginal methods (MST, AIM), which combine the kept categories' noisy counts into
#: their own one-way measurements (:func:`domain_measurement`), so a larger share also buys precise category
#: shares. Measured by ``benchmarks/default_path.py --no-trust-domains`` (MST, epsilon 1, seed 13; mean 2-way TV
#: on Adult / COMPAS / Texas housing / GeoNames / ZIP codes): share 0.3: 0.068 / 0.189 / 0.441 / 0.259 / 0.154;
#: 0.4: 0.071 / 0.172 / 0.417 / 0.260 / 0.153; 0.45: 0.072 / 0.168 / 0.392 / 0.249 / 0.152. Tables with many
#: rare categories gain most from a larger share, Adult loses a little; 0.4 is between.
MARGINAL_DOMAIN_SHARE = 0.4
#: The zCDP cost of a public grid's histogram (a column's bounds, a float's precision) as a share of a category
#: histogram's, when the fit discovers categories too: a grid's cells are public and only its outer kept cells
#: matter, so it does with twice the noise, and the categories' threshold (which decides how rare a value can be
#: and still be released) gets lower. On Adult (15 columns, 9 categorical) this lowers the threshold by 16%.
CELL_WEIGHT = 0.25
#: Share of the fit's delta spent on ``delta_keys`` (the chance that a category held by one record is released).
DEFAULT_DELTA_SHARE = 0.1
#: The public search range of numeric bounds: [-SEARCH_LIMIT, SEARCH_LIMIT].
SEARCH_LIMIT = 1e12
#: The public search range of date bounds.
DATE_RANGE = (_dt.date(1800, 1, 1), _dt.date(2200, 12, 31))
#: The chance, over all columns, that a cell of the public grid holding no record is kept (and so stretches the
#: bounds): the cells' threshold is set from it (the cells are public, so this is no privacy cost).
SPURIOUS_CELLS = 1e-6
#: A run of this many adjacent cells of a public grid (a decade of the 1-2-5 grid) is kept, all its cells, when
#: their noisy counts add up to the plan's ``tau_window``, so bounds also cover values spread thinly over cells
#: that each fall short of ``tau_cells``.
WINDOW = 3
#: The category of a categorical column where no value passed the threshold (schemas and models of before
#: :data:`OTHER`; a discovery now gives such a column only :data:`OTHER`).
SUPPRESSED = "*"
#: The category a discovered categorical column's unkept values become, written as this text in the release: not a
#: real value, but "one of the values too rare to be released". A schema column's own public ``other`` label
#: (where the schema states one) replaces it.
OTHER = "(other)"
#: The most distinct values of a categorical column that a discovery on a cluster brings to the client (every
#: observed value is a key of its noisy histogram, so all travel, with their counts): past it the fit is refused
#: before anything is charged. A column with that many values is nearly a key (an identifier, a free-text
#: field): state its categories (with an ``other`` label), mark it an identifier, or trust its domain.
MAX_KEYS = 1_000_000
_EPOCH = _dt.date(1970, 1, 1)
_MISSING_KEY = "\x00missing"  # never a value read from a table's text cell
_SAFETY = 1.0 + 1e-12


def check_mode(mode: Any) -> str:
    if mode not in DOMAIN_MODES:
        raise UsageError(f"domains must be one of {', '.join(DOMAIN_MODES)} (got {mode!r})")
    return str(mode)


def _days(d: _dt.date) -> int:
    return (d - _EPOCH).days


def number_grid(integer: bool) -> np.ndarray:
    """The public cell edges for numeric bounds: a symmetric 1-2-5 log grid up to ``SEARCH_LIMIT`` (integers from
    1, floats from 1e-6), with 0 an edge and an open cell beyond each end (edges -inf and +inf)."""
    k0 = 0 if integer else -6
    pos = [m * 10.0**k for k in range(k0, 12) for m in (1, 2, 5)] + [SEARCH_LIMIT]
    pos = np.asarray(pos, dtype=float)
    return np.concatenate([[-np.inf], -pos[::-1], [0.0], pos, [np.inf]])


def date_grid() -> np.ndarray:
    """The public cell edges for date bounds (days since 1970-01-01): 5-year cells over :data:`DATE_RANGE`, and an
    open cell beyond each end."""
    years = range(DATE_RANGE[0].year, DATE_RANGE[1].year + 2, 5)
    inner = [_days(_dt.date(y, 1, 1)) for y in years]
    if inner[-1] <= _days(DATE_RANGE[1]):
        inner.append(_days(DATE_RANGE[1]) + 1)
    return np.concatenate([[-np.inf], np.asarray(inner, dtype=float), [np.inf]])


def discrete_gaussian_tail(t: float, sigma: float) -> float:
    """``P[Z >= t]`` for ``Z`` the discrete Gaussian on the integers with scale ``sigma`` (``P(z) ~ exp(-z**2 / (2
    sigma**2))``), computed exactly (by summation; beyond 40 sigma the terms are below 1e-340). For a very large
    sigma it falls back to the sub-Gaussian bound ``exp(-t**2 / (2 sigma**2))`` (Canonne, Kamath, Steinke 2020),
    which is conservative."""
    t = math.ceil(t)
    if t <= 0:
        return 1.0
    if sigma > 1e5:
        return math.exp(-(t**2) / (2 * sigma**2))
    k = int(math.ceil(40 * sigma)) + 2
    z = np.arange(0, k + 1, dtype=float)
    w = np.exp(-(z**2) / (2 * sigma**2))
    total = w[0] + 2 * w[1:].sum()
    return float(w[t:].sum() / total) if t <= k else 0.0


def threshold_for(sigma: float, delta: float) -> int:
    """The smallest integer threshold ``tau >= 2`` with ``P[1 + Z >= tau] <= delta`` (``Z`` discrete Gaussian of
    scale ``sigma``): a key held by one record passes it with probability at most ``delta``."""
    if not 0 < delta < 1:
        raise UsageError(f"delta for the key threshold must be in (0, 1) (got {delta!r})")
    lo, hi = 2, 3
    while discrete_gaussian_tail(hi - 1, sigma) > delta:
        lo, hi = hi, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if discrete_gaussian_tail(mid - 1, sigma) <= delta:
            hi = mid
        else:
            lo = mid + 1
    return lo


def other_label(col: Column) -> str:
    """The category standing for a discovered categorical column's unkept values: the schema column's public
    ``other`` label where it states one, else :data:`OTHER`."""
    label = getattr(col, "other", None)
    return str(label) if label else OTHER


def discovered_columns(schema: Schema) -> list[str]:
    """The columns a DP fit would discover: domain (or missingness) read from the data, synthesised (not an
    identifier or free text)."""
    return [c.name for c in schema if c.from_data and c.role != "identifier" and c.type != "text"]


@dataclass(frozen=True)
class DomainPlan:
    """How a fit discovers its data-read domains; public (decided before the data are read).

    columns : (name, kind) per discovered column, kind ``"keys"`` (categories: keys read from the data) or
        ``"cells"`` (bounds: a public grid).
    sigma : the discrete Gaussian's scale of the categories' histograms; sigma_cells : that of the public grids'
        (bounds, precision: :data:`CELL_WEIGHT`); tau : the keep threshold of categories (a
        key held by one record passes it with probability at most ``delta_keys`` over all key columns);
        tau_cells : the keep threshold of the public grid's cells (no delta: an empty cell passes it with
        probability at most :data:`SPURIOUS_CELLS` over all cells of all columns).
    sensitivity : L2 sensitivity of one column's histogram (1 add/remove, sqrt(2) replace-one).
    rho : the discovery's zCDP cost; delta_keys : its extra delta (categories only; 0 without key columns).
    share, delta_share : the shares of the fit's budget.
    total_rho : the whole fit's rho (discovery included), charged with ``delta_extra = delta_keys`` (zCDP
        methods); ``None`` for methods accounted in (epsilon, delta).
    remainder : the :class:`~anonlab.synth.base.Budget` left for the synthesis (binning, densities, model).
    provisional : the schema the fit builds its first encoding from (for its resource estimate and plans): the
        discovered columns with wide public placeholder bounds and their data-read categories, never published.
    public : the schema as far as it is public before discovery (discovered columns without a domain): its
        fingerprint names the release.
    """

    columns: tuple[tuple[str, str], ...]
    sigma: float
    tau: int
    tau_cells: int
    sensitivity: float
    rho: float
    delta_keys: float
    share: float
    delta_share: float
    total_rho: float | None
    remainder: Any
    provisional: Any
    public: Any
    decimals_of: tuple[str, ...] = ()
    sigma_cells: float | None = None
    tau_window: float | None = None

    @property
    def grid_sigma(self) -> float:
        """The noise of the public grids' histograms (bounds, precision): :attr:`sigma_cells`, else ``sigma``."""
        return self.sigma if self.sigma_cells is None else self.sigma_cells

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": "discover",
            "columns": [c for c, _ in self.columns],
            "categories_of": [c for c, k in self.columns if k == "keys"],
            "bounds_of": [c for c, k in self.columns if k == "cells"],
            "decimals_of": list(self.decimals_of),
            "mechanism": "thresholded noisy histogram (discrete Gaussian; stable keys for categories, a public "
            "1-2-5 grid for bounds)",
            "share": self.share,
            "delta_share": self.delta_share,
            "sigma": self.sigma,
            "sigma_cells": self.grid_sigma,
            "threshold": self.tau,
            "threshold_cells": self.tau_cells,
            "threshold_window": self.tau_window,
            "window_cells": WINDOW,
            "l2_sensitivity": self.sensitivity,
            "rho": self.rho,
            "delta_keys": self.delta_keys,
        }


def _placeholder(col: Column) -> Column:
    """A discovered column with public placeholder bounds (the search range) and missing values allowed."""
    if col.is_categorical:
        label = other_label(col)
        cats = tuple(col.categories or ())
        return replace(
            col, categories=cats + (() if label in cats else (label,)), from_data=False, missing=None
        )
    if col.type == "date":
        return replace(col, lower=DATE_RANGE[0], upper=DATE_RANGE[1], from_data=False, missing=None)
    lim = int(SEARCH_LIMIT) if col.type == "integer" else SEARCH_LIMIT
    # a float's decimals and a number's values were read from the data too: never carried into a DP fit
    return replace(col, lower=-lim, upper=lim, from_data=False, missing=None, decimals=None, values=None)


def plan_domains(
    schema: Schema,
    budget,
    *,
    zcdp: bool,
    relation: str = "add/remove",
    share: float = DEFAULT_DOMAIN_SHARE,
    delta_share: float = DEFAULT_DELTA_SHARE,
) -> DomainPlan | None:
    """Split ``budget`` (the fit's whole :class:`~anonlab.synth.base.Budget`) between discovering the data-read
    domains of ``schema`` and the synthesis; ``None`` when no column needs it. Needs delta > 0."""
    from anonlab.privacy.accounting import rho_for, zcdp_epsilon
    from anonlab.schema import Schema as _Schema
    from anonlab.synth.base import Budget
    from anonlab.synth.binning import check_share

    names = discovered_columns(schema)
    if not names:
        return None
    share, delta_share = check_share(share), check_share(delta_share)
    if not budget.delta > 0:
        raise PrivacyError(
            "domain discovery releases categories read from the data, which needs delta > 0 (the chance a value "
            "held by one record is released); give --delta, state the domains as public, or pass --trust-domains"
        )
    cols = tuple((c.name, "keys" if c.is_categorical else "cells") for c in schema if c.name in names)
    n_keys = sum(1 for _, k in cols if k == "keys")
    sens = 1.0 if relation == "add/remove" else math.sqrt(2.0)
    if zcdp:
        dk = delta_share * budget.delta if n_keys else 0.0
        total = rho_for(budget.epsilon, budget.delta - dk)
        rho_d = share * total
        remainder = Budget(budget.epsilon, budget.delta, zcdp_rho=total - rho_d)
    else:
        eps_d, del_d = share * budget.epsilon, delta_share * budget.delta
        dk = delta_share * del_d if n_keys else 0.0
        total = None
        rho_d = rho_for(eps_d, del_d - dk)
        remainder = Budget(budget.epsilon - eps_d, budget.delta - del_d)
        if zcdp_epsilon(rho_d, del_d - dk) > eps_d * (1 + 1e-9):
            raise PrivacyError("internal error: the domain discovery does not fit in its share")
    # one Gaussian histogram per column, and a second (its precision) per float column, each of L2 sensitivity
    # `sens`: the categories' at `sigma`, the grids' at `sigma_cells`, and the sum of sens**2 / (2 sigma**2) over
    # them all is rho_d
    n_floats = sum(1 for c, k in cols if k == "cells" and schema[c].type == "float")
    n_grids = len(cols) - n_keys + n_floats
    weight = CELL_WEIGHT if n_keys else 1.0
    sigma = math.sqrt((n_keys + weight * n_grids) * sens**2 / (2 * rho_d)) * _SAFETY
    sigma_cells = sigma / math.sqrt(weight)
    per_col = dk / n_keys if n_keys else 0.5
    tau = threshold_for(sigma, per_col if n_keys else 1e-9)
    n_cells = sum(
        len(date_grid() if schema[c].type == "date" else number_grid(True)) for c, k in cols if k == "cells"
    ) + n_floats * (MAX_DECIMALS + 2)
    # an empty cell is kept when its noise alone passes: 0 + Z >= tau_cells (threshold_for counts 1 + Z); half the
    # chance of a spurious cell goes to single cells, half to runs of WINDOW cells (the sum of WINDOW discrete
    # Gaussians is sqrt(WINDOW) sigma-sub-Gaussian: P[S >= t] <= exp(-t**2 / (2 WINDOW sigma**2)))
    tau_cells = threshold_for(sigma_cells, SPURIOUS_CELLS / 2 / max(n_cells, 1)) - 1
    tau_window = sigma_cells * math.sqrt(2 * WINDOW * math.log(2 * max(n_cells, 1) / SPURIOUS_CELLS))
    if n_keys:
        # the delta actually used, never more than planned
        dk_used = n_keys * discrete_gaussian_tail(tau - 1, sigma)
        if dk_used > dk * (1 + 1e-9):
            raise PrivacyError("internal error: the key threshold passes its delta")
    provisional = _Schema(tuple(_placeholder(c) if c.name in names else c for c in schema))
    public = _Schema(
        tuple(
            replace(c, categories=None, lower=None, upper=None, missing=None, from_data=False, values=None)
            if c.name in names
            else c
            for c in schema
        )
    )
    return DomainPlan(
        cols,
        sigma,
        tau,
        tau_cells,
        sens,
        rho_d,
        dk,
        share,
        delta_share,
        total,
        remainder,
        provisional,
        public,
        tuple(c for c, k in cols if k == "cells" and schema[c].type == "float"),
        sigma_cells,
        tau_window,
    )


def _kept_windows(
    noisy: np.ndarray, tau_window: float | None, single: np.ndarray | None = None
) -> np.ndarray:
    """The cells of every run of :data:`WINDOW` adjacent grid cells whose noisy counts add up to ``tau_window``:
    a column whose values spread thinly over several cells (Fair's affairs: a third of 3,183 rows over six cells
    from 0.1 to 20, none alone at the threshold) keeps them, where single cells left only ``[0, 1e-06)`` and
    clamped a third of the column there. A run holding a cell kept on its own (``single``) is not counted: its
    sum may pass by that cell alone, and would stretch the bounds over its empty neighbours. Post-processing of
    the noisy counts of public cells."""
    kept = np.zeros(len(noisy), dtype=bool)
    if tau_window is None or len(noisy) < WINDOW:
        return kept
    sums = np.convolve(noisy.astype(float), np.ones(WINDOW), mode="valid")
    ones = (
        np.zeros(len(sums)) if single is None else np.convolve(single.astype(float), np.ones(WINDOW), "valid")
    )
    for i in np.flatnonzero((sums >= tau_window) & (ones == 0)):
        kept[i : i + WINDOW] = True
    return kept


def _kept_cells(edges: np.ndarray, kept: np.ndarray) -> tuple[float, float] | None:
    idx = np.flatnonzero(kept)
    if not len(idx):
        return None
    return float(edges[idx[0]]), float(edges[idx[-1] + 1])


def _histogram(counts: np.ndarray, plan: DomainPlan, noise, sigma: float | None = None) -> np.ndarray:
    from anonlab.privacy.mechanisms import gaussian

    rel = gaussian(
        counts.astype(np.int64),
        plan.sigma if sigma is None else sigma,
        l2_sensitivity=plan.sensitivity,
        integer=True,
        noise=noise,
    )
    return np.asarray(rel.value, dtype=np.int64).reshape(-1)


def _released_decimals(counts: np.ndarray, plan: DomainPlan, noise) -> int | None:
    """The precision histogram of a float column (exact counts on the public keys 0 .. MAX_DECIMALS, "more"),
    released with the plan's noise; the largest kept key, ``None`` ("any precision") when "more" or no key is
    kept."""
    kept = np.flatnonzero(_histogram(counts, plan, noise, plan.grid_sigma) >= plan.tau_cells)
    if not len(kept) or kept[-1] > MAX_DECIMALS:
        return None
    return int(kept[-1])


# -- the exact aggregates (a kernel per part of the table; the parts add up) ----------------------------------


class TooManyKeys(UsageError):
    """A categorical column to discover holds more distinct values than :data:`MAX_KEYS` (counted on a cluster)."""

    def __init__(self, columns: tuple[str, ...]):
        self.columns = columns
        super().__init__(", ".join(columns))


@dataclass
class DomainCounts:
    """The exact aggregates a discovery reads, per discovered column: for categories the observed values (as text,
    sorted), their counts and the count of missing values; for bounds the counts in the public grid's cells, the
    missing count and (floats) the precision histogram. Sums over the rows: the counts of a table are the sum
    (:func:`add_domain_counts`) of its parts' (:func:`domain_counts`). Exact statistics of private data: released
    only through :func:`release_domains` (noise, thresholds)."""

    columns: dict[str, dict[str, Any]]


def _date_days(s: pd.Series) -> np.ndarray:
    import pandas as pd

    return (pd.to_datetime(s) - pd.Timestamp(_EPOCH)).dt.days.to_numpy(dtype=float, na_value=np.nan)


def domain_counts(frame: pd.DataFrame, schema: Schema, plan: DomainPlan) -> DomainCounts:
    """The exact aggregates of ``plan.columns`` in ``frame`` (coerced to ``schema``, the plan's provisional one): one
    part of a table, or all of it."""
    import pandas as pd

    out: dict[str, dict[str, Any]] = {}
    for name, kind in plan.columns:
        s = frame[name]
        missing = s.isna().to_numpy()
        if kind == "keys":
            counts = s[~missing].astype(str).value_counts(sort=False)
            keys = np.asarray(sorted(counts.index), dtype=object)
            observed = counts.reindex(keys).to_numpy(dtype=np.int64) if len(keys) else np.zeros(0, np.int64)
            out[name] = {"keys": keys, "counts": observed, "missing": int(missing.sum())}
            continue
        date = schema[name].type == "date"
        edges = date_grid() if date else number_grid(schema[name].type == "integer")
        x = _date_days(s) if date else pd.to_numeric(s).to_numpy(dtype=float, na_value=np.nan)
        x = x[~missing]
        cell = np.searchsorted(edges, x, side="right") - 1
        out[name] = {
            "cells": np.bincount(cell, minlength=len(edges) - 1).astype(np.int64),
            "missing": int(missing.sum()),
        }
        if name in plan.decimals_of:
            out[name]["decimals"] = np.bincount(decimal_places(x), minlength=MAX_DECIMALS + 2).astype(
                np.int64
            )
    return DomainCounts(out)


def add_domain_counts(a: DomainCounts, b: DomainCounts, max_keys: int | None = None) -> DomainCounts:
    """The aggregates of two parts of a table, added exactly (a value's counts summed, the values kept sorted as
    :func:`domain_counts` sorts them). ``max_keys``: raise :class:`TooManyKeys` (naming the columns) when a
    column's distinct values pass it."""
    out: dict[str, dict[str, Any]] = {}
    many = []
    for name, x in a.columns.items():
        y = b.columns[name]
        if "keys" in x:
            keys, inv = np.unique(np.concatenate([x["keys"], y["keys"]]), return_inverse=True)
            counts = np.zeros(len(keys), dtype=np.int64)
            np.add.at(counts, inv, np.concatenate([x["counts"], y["counts"]]))
            out[name] = {
                "keys": keys.astype(object),
                "counts": counts,
                "missing": x["missing"] + y["missing"],
            }
            if max_keys is not None and len(keys) > max_keys:
                many.append(name)
        else:
            out[name] = {k: x[k] + y[k] for k in x}
    if many:
        raise TooManyKeys(tuple(many))
    return DomainCounts(out)


def check_keys(counts: DomainCounts, max_keys: int) -> DomainCounts:
    """``counts``, or :class:`TooManyKeys` naming the categorical columns with more than ``max_keys`` values."""
    many = tuple(n for n, c in counts.columns.items() if "keys" in c and len(c["keys"]) > max_keys)
    if many:
        raise TooManyKeys(many)
    return counts


# -- the release (once, from the whole table's aggregates) ----------------------------------------------------


def release_domains(
    counts: DomainCounts,
    schema: Schema,
    plan: DomainPlan,
    noise,
    *,
    missing_codes: bool = True,
    counts_out: dict[str, Any] | None = None,
) -> tuple[Schema, dict[str, Any]]:
    """Release the domains of ``plan.columns`` from the table's exact aggregates (:func:`domain_counts`, summed over
    its parts). Call only after the ledger was charged for the whole fit; ``noise`` is the fit's stream forked for
    the discovery. Returns the schema with the discovered domains as public ones and the released domains (a DP
    output), as :func:`discover_domains`.

    counts_out : a dict to fill with each categorical column's noisy counts of its kept keys (and of "missing"
        where kept): the stable-keys release publishes a kept key with its noisy count, so they are part of the
        same DP output, and a fit uses them as a measurement of the column's one-way marginal
        (:func:`domain_measurement`)."""
    from anonlab.schema import Schema as _Schema

    released: dict[str, Any] = {}
    new_cols = []
    kinds = dict(plan.columns)
    for col in schema:
        if col.name not in kinds:
            new_cols.append(col)
            continue
        fork = noise.fork(f"domain {col.name}")
        c = counts.columns[col.name]
        if kinds[col.name] == "keys":
            keys = c["keys"]
            noisy = _histogram(np.append(c["counts"], c["missing"]), plan, fork)
            kept = noisy >= plan.tau
            label = other_label(col)
            cats = tuple(str(k) for k in keys[kept[:-1]])
            # values not kept are "other" (a category of every discovered column: whether any was dropped is not
            # released); the missing code follows the released "missing" key, as for numbers
            cats = cats + (() if label in cats else (label,))
            has_missing = bool(kept[-1])
            new = replace(col, categories=cats, from_data=False, missing=has_missing)
            released[col.name] = {"categories": list(cats), "other": label, "missing": has_missing}
            if counts_out is not None:
                counts_out[col.name] = {
                    "categories": cats,
                    "counts": noisy[:-1][kept[:-1]].astype(float),
                    "missing": float(noisy[-1]) if has_missing else None,
                    "other": label,
                    "sigma": plan.sigma,
                }
        else:
            date = col.type == "date"
            edges = date_grid() if date else number_grid(col.type == "integer")
            noisy = _histogram(np.append(c["cells"], c["missing"]), plan, fork, plan.grid_sigma)
            kept = noisy >= plan.tau_cells
            kept[:-1] |= _kept_windows(noisy[:-1], plan.tau_window, kept[:-1])
            has_missing = bool(kept[-1])
            span = _kept_cells(edges, kept[:-1])
            if date:
                lo_d, hi_d = _days(DATE_RANGE[0]), _days(DATE_RANGE[1])
                lo, hi = (lo_d, hi_d) if span is None else (max(span[0], lo_d), min(span[1] - 1, hi_d))
                lower = _EPOCH + _dt.timedelta(days=int(lo))
                upper = _EPOCH + _dt.timedelta(days=int(hi))
                shown = [lower.isoformat(), upper.isoformat()]
            elif col.type == "integer":
                lim = int(SEARCH_LIMIT)
                lower, upper = (
                    (-lim, lim) if span is None else (max(int(span[0]), -lim), min(int(span[1]) - 1, lim))
                )
                shown = [lower, upper]
            else:
                lower, upper = (
                    (-SEARCH_LIMIT, SEARCH_LIMIT)
                    if span is None
                    else (max(span[0], -SEARCH_LIMIT), min(span[1], SEARCH_LIMIT))
                )
                shown = [lower, upper]
            # decimals read from the data are dropped: a float's precision is discovered (its own histogram)
            decimals = None
            if col.name in plan.decimals_of:
                decimals = _released_decimals(c["decimals"], plan, noise.fork(f"decimals {col.name}"))
            new = replace(
                col,
                lower=lower,
                upper=upper,
                from_data=False,
                missing=has_missing,
                decimals=decimals,
                values=None,  # read from the data: never released
            )
            released[col.name] = {"bounds": shown, "missing": has_missing}
            if col.name in plan.decimals_of:
                released[col.name]["decimals"] = decimals
        new_cols.append(new)
    return _Schema(tuple(new_cols)), released


def dropped_missing(released: dict[str, Any], missing_codes: bool = True) -> tuple[str, ...]:
    """The discovered columns whose missing values leave their record out of the fit: those without a missing code
    (the "missing" key not kept, or ``missing_codes=False``). Uses released information only."""
    return tuple(n for n, r in released.items() if not (r["missing"] and missing_codes))


def kept_rows(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """The records of ``frame`` to fit on: those with a value in each of ``columns`` (:func:`dropped_missing`)."""
    keep = np.ones(len(frame), dtype=bool)
    for name in columns:
        keep &= ~frame[name].isna().to_numpy()
    return keep


def discover_domains(
    frame: pd.DataFrame | DomainCounts,
    schema: Schema,
    plan: DomainPlan,
    noise,
    *,
    missing_codes: bool = True,
    counts_out: dict[str, Any] | None = None,
) -> tuple[Schema, dict[str, Any], np.ndarray]:
    """Release the domains of ``plan.columns`` from ``frame`` (coerced to ``schema``'s types). Call only after the
    ledger was charged for the whole fit; ``noise`` is the fit's stream forked for the discovery.

    Returns the schema with the discovered domains as public ones (``from_data = false``; a column gets
    ``missing = false`` where the "missing" key was not kept; a categorical column's last category is its "other"
    label, ``released[name]["other"]``, which the encoding must use for unlisted values), the released domains (a
    DP output), and a boolean mask of the records to keep: a record is left out where a discovered column without
    a missing code holds a missing (or, for a number, unkept) value (a per-record filter that uses only released
    information).
    ``missing_codes=False`` (the fit's public statement that no value is missing) gives no column a missing
    code. ``counts_out``: as in :func:`release_domains`.

    The steps: :func:`domain_counts` (the exact aggregates), :func:`release_domains` (the noise, once, on the
    whole table's aggregates), :func:`kept_rows` of :func:`dropped_missing`. A table on a cluster passes its
    :class:`DomainCounts` (its parts' counts, added) in place of the frame: no rows, so the mask is empty and the
    caller leaves out the records of :func:`dropped_missing` where it reads them
    (:mod:`anonlab.distributed.marginals`)."""
    counts = frame if isinstance(frame, DomainCounts) else domain_counts(frame, schema, plan)
    found, released = release_domains(
        counts, schema, plan, noise, missing_codes=missing_codes, counts_out=counts_out
    )
    if isinstance(frame, DomainCounts):
        return found, released, np.ones(0, dtype=bool)
    return found, released, kept_rows(frame, dropped_missing(released, missing_codes))


#: The variance multiple of a cell a discovery did not measure (the "other" category: its values were not
#: released): so large that the cell's weight in a fit is nil.
UNMEASURED = 1e12


def domain_measurement(coding, found: dict[str, Any], index: int):
    """A discovered categorical column's released noisy counts as a measurement of its one-way marginal on the
    fit's codes (:class:`~anonlab.synth.estimation.Measurement` of clique ``(index,)``): each kept category's noisy
    count, the missing code's where "missing" was kept; the "other" category (its count sums the unreleased values)
    and a missing code without a released count are not measured (variance :data:`UNMEASURED` times sigma**2).
    ``found``: the column's entry of :func:`release_domains`' ``counts_out``; ``coding``: its
    :class:`~anonlab.synth.encoding.ColumnCoding` on the discovered domain. Post-processing: it re-expresses a DP
    output, and a fit combines it with its own one-way measurement (:func:`anonlab.synth.estimation.combine`), so
    the discovery's budget also sharpens the categories' shares. ``None`` where the coding is not the discovered
    category list."""
    from anonlab.synth.estimation import Measurement

    labels = tuple(getattr(coding, "labels", None) or ())
    if coding.type != "categorical" or labels != tuple(found["categories"]):
        return None
    y = np.zeros(coding.size)
    scale = np.full(coding.size, UNMEASURED)
    kept = np.asarray(found["counts"], dtype=float)  # the kept keys, the first categories in the same order
    measured = np.asarray([c != found["other"] for c in labels[: len(kept)]], dtype=bool)
    y[: len(kept)] = np.where(measured, kept, 0.0)
    scale[: len(kept)] = np.where(measured, 1.0, UNMEASURED)
    if coding.missing and found["missing"] is not None:
        y[-1], scale[-1] = found["missing"], 1.0
    return Measurement((index,), y, float(found["sigma"]), var_scale=scale)
