"""Where values sit inside a bin: a DP density on an adaptive grid, so decoding keeps point masses.

A binned numeric column is decoded by drawing a value inside each synthetic row's bin. Drawn uniformly, the
atoms of real data vanish: 47% of Adult works exactly 40 hours a week and 92% has a capital gain of exactly 0,
but a uniform draw inside the bins [38, 41) or [0, 3125) puts almost nobody there. This module measures, with
differential privacy, how the column's values spread *inside* the public range, finely where the data are dense and
coarsely where they are not, and decoding then draws inside each bin from that density (post-processing).

The measurement is a noisy tree descent over the public range [lower, upper] on the column's value grid: integers
and dates down to single values, floats with a known number of decimals (the schema's ``decimals``) down to single
values of that precision, other floats down to 2**-20 of the range. The root covers the range; each level splits every node that was
*expanded* into ``branching`` children and releases their counts with discrete Gaussian noise. A node is expanded
when its noisy count passes a threshold (``threshold_sigmas`` noise standard deviations), so the work follows the
data's mass while every level costs the same. Each record lies in exactly one node per level, so one level's
vector of counts has L2 sensitivity 1 under add/remove neighbours (sqrt(2) under replace-one) whichever nodes were
chosen; choosing them from earlier noisy counts is adaptive composition. The cost is therefore ``levels`` Gaussian
releases per column, fixed by the public range alone: ``rho = columns * levels * sensitivity**2 / (2 sigma**2)``,
paid from the fit's budget before any noise is drawn.

The release per column is a list of disjoint cells ``(left, right, mass)`` covering the range (the finest measured
node around each point). Masses are allocated top down, consistently with each parent (:func:`_allocate`): a child
whose noisy count passes the threshold keeps it, the rest of the parent's mass goes to its other children by an
empirical Bayes shrinkage of their noisy counts toward even shares by width, so smooth regions keep their mass
evenly, regions with a pattern (times written as HHMM) keep the pattern, and an atom's empty siblings do not drain
it (post-processing). It is a DP output: it is stored in the model and may be published with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DensityPlan", "plan_density", "density_units", "measure_density", "sample_within"]

#: Children per expanded node: 16 keeps the tree shallow (6 levels cover 1.5 million integers).
BRANCHING = 16
#: A node is expanded when its noisy count passes this many noise standard deviations.
THRESHOLD_SIGMAS = 3.0
#: Floats are refined down to this fraction of their public range.
FLOAT_RESOLUTION = 2.0**-20


@dataclass(frozen=True)
class DensityPlan:
    """Which columns get a density, how deep their trees go, and the noise: all from public facts.

    columns : (name, lower, upper, step) per column, the bounds as floats (dates: days since 1970-01-01); ``step``
        is the spacing of the column's values (1 for integers and dates, 10**-decimals for floats written with a
        known precision, 0 for floats of any precision).
    levels : tree levels per column (the root's children are level 1).
    sigma : the discrete Gaussian noise's standard deviation, the same for every level of every column.
    rho : the zCDP cost of the whole measurement.
    """

    columns: tuple[tuple[str, float, float, float], ...]
    levels: tuple[int, ...]
    sigma: float
    rho: float
    sensitivity: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [c[0] for c in self.columns],
            "levels": list(self.levels),
            "sigma": self.sigma,
            "rho": self.rho,
            "branching": BRANCHING,
            "threshold_sigmas": THRESHOLD_SIGMAS,
        }


def _units(lower: float, upper: float, step: float) -> int:
    """Grid points of a column in [lower, upper] (its values are ``lower + k * step``); for a float of any
    precision, the 2**20 cells the tree refines down to."""
    return int(round((upper - lower) / step)) + 1 if step > 0 else int(1 / FLOAT_RESOLUTION)


def _levels(lower: float, upper: float, step: float) -> int:
    return max(1, math.ceil(math.log(max(_units(lower, upper, step), 2), BRANCHING)))


def plan_density(
    columns: Sequence[tuple[str, float, float, float]], rho: float, *, sensitivity: float = 1.0
) -> DensityPlan | None:
    """Spend ``rho`` (zCDP) on the densities of ``columns`` ((name, lower, upper, step), public facts).

    sensitivity : the L2 sensitivity of one level's counts: 1 for add/remove neighbours, sqrt(2) for replace-one.
    Returns ``None`` when there is no column (nothing is spent).
    """
    cols = tuple((str(n), float(lo), float(hi), float(st)) for n, lo, hi, st in columns if hi > lo)
    if not cols:
        return None
    levels = tuple(_levels(lo, hi, i) for _, lo, hi, i in cols)
    sigma = math.sqrt(sum(levels) * sensitivity**2 / (2 * rho))
    return DensityPlan(cols, levels, sigma, float(rho), float(sensitivity))


def _children(
    left: np.ndarray, right: np.ndarray, integer: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split each node [left, right) into BRANCHING children; returns (left, right, parent index)."""
    width = (right - left) / BRANCHING
    if integer:
        width = np.maximum(np.ceil(width), 1.0)
    steps = np.arange(BRANCHING)
    lefts = left[:, None] + width[:, None] * steps[None, :]
    rights = np.minimum(lefts + width[:, None], right[:, None])
    keep = lefts < right[:, None]
    parent = np.broadcast_to(np.arange(len(left))[:, None], lefts.shape)
    return lefts[keep], rights[keep], parent[keep]


def density_units(values: np.ndarray, plan: DensityPlan, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The exact statistic the density of column ``name`` reads: its values on the grid of units (sorted distinct
    units, and how many values each holds). Additive over rows: the units of a table are its parts' units merged.

    values : the column's values as floats (dates in days), NaN for missing (not counted); values outside the
        public bounds are clamped to them, as the encoding does.
    """
    j = [c[0] for c in plan.columns].index(name)
    _, lo, hi, step = plan.columns[j]
    x = np.clip(values[~np.isnan(values)], lo, hi)
    units = float(_units(lo, hi, step))
    if step > 0:  # work in grid units: value lo + k * step is unit k, the range is [0, units)
        xs = np.rint((x - lo) / step)
    else:  # a float of any precision: 2**20 units over the range, so node edges are exact (10.0 is an edge of
        # [0, 20) in units as in the bins; in floats it came out as 10.0000000001 and split an atom from its bin)
        xs = np.minimum(np.floor((x - lo) / (hi - lo) * units), units - 1)
    u, k = np.unique(xs, return_counts=True)
    return u, k.astype(np.int64)


def measure_density(
    values: np.ndarray | None,
    plan: DensityPlan,
    name: str,
    noise,
    units: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The released cells ``(left, right, mass)`` of column ``name`` (an ``(k, 3)`` float array).

    values : the column's values as floats (dates in days), NaN for missing (not counted); values outside the
        public bounds are clamped to them, as the encoding does.
    noise : the fit's :class:`~anonlab.privacy.noise.NoiseSource` (its fork for this column).
    units : the column's :func:`density_units`, computed elsewhere (a cluster), in place of ``values``.
    """
    from anonlab.privacy.mechanisms import gaussian

    j = [c[0] for c in plan.columns].index(name)
    _, lo, hi, step = plan.columns[j]
    grid = step > 0
    units_n = float(_units(lo, hi, step))
    u, k = units if units is not None else density_units(values, plan, name)
    # below[i]: how many values lie under the i-th distinct unit (so under any edge, by binary search)
    below = np.concatenate([[0], np.cumsum(k)]).astype(np.int64)
    left, right = np.array([0.0]), np.array([units_n])
    out: list[np.ndarray] = []
    mass_of = None  # the mass allocated to each expanded node; the root's is the sum of its children's counts
    for level in range(plan.levels[j]):
        # children of disjoint, sorted parents come out sorted: count each by binary search on the sorted values
        cl, cr, parent = _children(left, right, True)
        counts = below[np.searchsorted(u, cr, side="left")] - below[np.searchsorted(u, cl, side="left")]
        noisy = np.asarray(
            gaussian(
                counts.astype(np.int64),
                plan.sigma,
                l2_sensitivity=plan.sensitivity,
                integer=True,
                noise=noise,
            ).value,
            dtype=float,
        ).reshape(-1)
        mass = _allocate(noisy, cr - cl, parent, mass_of, THRESHOLD_SIGMAS * plan.sigma, plan.sigma)
        leaf = cr - cl <= 1.0
        expand = (noisy > THRESHOLD_SIGMAS * plan.sigma) & ~leaf & (level + 1 < plan.levels[j])
        out.append(np.column_stack([cl[~expand], cr[~expand], mass[~expand]]))
        left, right, mass_of = cl[expand], cr[expand], mass[expand]
        if not len(left):
            break
    cells = np.concatenate(out) if out else np.empty((0, 3))
    if grid:  # back to values: a cell [a, b) in units holds the values lo + a * step ... lo + (b - 1) * step
        cells[:, :2] = _on_grid(lo + cells[:, :2] * step, step)
    else:
        cells[:, :2] = lo + cells[:, :2] * ((hi - lo) / units_n)
    return cells[np.argsort(cells[:, 0], kind="stable")]


def _on_grid(x: np.ndarray, step: float) -> np.ndarray:
    """Edges ``lo + k * step`` as the values they stand for: with ``step = 10**-d`` rounded to ``d`` decimals.

    In binary floating point ``43 + 164 * 0.1`` is 59.400000000000006, above the value 59.4 read from a file. A bin
    edge cut there (:func:`anonlab.synth.binning.density_edges` cuts at cell edges) put the atom 59.4 in the bin
    below its own cell, so its rows were coded in one bin and decoded from the cells of another."""
    decimals = round(-math.log10(step))
    if decimals > 0 and math.isclose(step, 10.0**-decimals):
        return np.round(x, decimals)
    return x


def _allocate(
    noisy: np.ndarray,
    width: np.ndarray,
    parent: np.ndarray,
    parent_mass: np.ndarray | None,
    threshold: float,
    sigma: float,
) -> np.ndarray:
    """Each child's mass, consistent with its parent's (post-processing of the noisy counts).

    noisy : the children's noisy counts as released (not clipped: the shrinkage below reads their spread).
    sigma : the noise's standard deviation.

    A child whose noisy count passes ``threshold`` keeps it (scaled down if such children add up to more than the
    parent). What is left of the parent's mass goes to its other children by an empirical Bayes estimate of their
    counts: each starts from an even share by width and moves toward its own noisy count by the factor
    ``lam = tau2 / (tau2 + sigma**2)``, where ``tau2`` is how far this level's counts spread from even shares
    beyond what the noise explains (pooled over the level; the estimate minimises the expected squared error when
    the true counts scatter around the even shares with variance ``tau2``). Where the column is smooth inside
    a node, ``tau2`` is about 0 and the mass is spread evenly, not in random noise spikes; where it is not (flight
    times written as HHMM leave 1160-1199 empty in every hour), the counts show it and the mass follows them. A
    parent's mass is never lost nor invented.
    """
    groups = int(parent.max()) + 1 if len(parent) else 0
    sig = noisy > threshold
    if parent_mass is None:  # the root: its mass is what its children counted
        parent_mass = np.array([np.maximum(noisy, 0.0).sum()])
    sum_sig = np.bincount(parent, weights=noisy * sig, minlength=groups)
    scale = np.where(sum_sig > parent_mass, parent_mass / np.maximum(sum_sig, 1e-300), 1.0)
    rest = np.maximum(parent_mass - sum_sig * scale, 0.0)
    other = ~sig
    rest_width = np.bincount(parent, weights=width * other, minlength=groups)
    share = np.where(other, width / np.maximum(rest_width[parent], 1e-300), 0.0)
    total = np.bincount(parent, weights=noisy * other, minlength=groups)
    dev = np.where(other, noisy - total[parent] * share, 0.0)
    # E[dev**2] from noise alone is about sigma**2 * (1 - share); the excess is the counts' own spread
    excess = float((dev**2).sum() - sigma**2 * (other * (1.0 - share)).sum())
    tau2 = max(excess, 0.0) / max(int(other.sum()), 1)
    lam = tau2 / (tau2 + sigma**2) if sigma > 0 else 1.0
    est = np.where(other, np.maximum(total[parent] * share + lam * dev, 0.0), 0.0)
    est_sum = np.bincount(parent, weights=est, minlength=groups)
    even = rest[parent] * share
    spread = np.where(est_sum[parent] > 0, rest[parent] * est / np.maximum(est_sum[parent], 1e-300), even)
    return np.where(sig, noisy * scale[parent], spread)


def sample_within(
    cells: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    step: float,
    origin: float,
    top: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """One value per row inside its bin ``[left, right)`` (the bin that reaches ``top``, the largest value, includes
    it), drawn from the released density restricted to the bin; rows whose bin holds no released mass are drawn
    uniformly in the bin. With ``step > 0`` values lie on the grid ``origin + k * step`` (integers: step 1). With
    ``step == 0`` (a float of any precision) a value drawn within the tree's finest resolution of a bound is that
    bound, so a point mass at a bound (a share of exactly 0 or 1) comes back exact, not as 1e-06 or 0.999999.

    Post-processing of the DP cells: reads no data.
    """
    n = len(left)
    out = np.empty(n, dtype=float)
    cl, cr, mass = cells[:, 0], cells[:, 1], cells[:, 2]
    beyond = top + step if step > 0 else float(np.nextafter(top, np.inf))
    right = np.where(right >= top, np.maximum(right, beyond), right)  # the top bin holds ``top`` itself
    if step > 0:  # a grid value v stands for the cell span [v, v + step): a bin holds the spans of its values
        # whole, so a bin cut at 62.5022 gives the value 62.5 its cell's mass, not the sliver [62.5, 62.5022)
        left = _on_grid(origin + np.ceil((left - origin) / step - 1e-9) * step, step)
        right = _on_grid(origin + np.ceil((right - origin) / step - 1e-9) * step, step)
        right = np.maximum(right, left)
    bins = np.unique(np.column_stack([left, right]), axis=0)
    for a, b in bins:  # one pass per distinct bin (at most the number of bins), vectorised inside
        rows = np.flatnonzero((left == a) & (right == b))
        lo_c, hi_c = np.maximum(cl, a), np.minimum(cr, b)
        overlap = np.clip(hi_c - lo_c, 0, None)
        width = np.maximum(cr - cl, 1e-300)
        w = mass * overlap / width
        if w.sum() <= 0:
            vals = a + rng.random(len(rows)) * (b - a)
        else:
            pick = rng.choice(len(w), size=len(rows), p=w / w.sum())
            vals = lo_c[pick] + rng.random(len(rows)) * (hi_c[pick] - lo_c[pick])
            if step == 0:  # a finest cell of a float of any precision holds an atom: its simplest decimal
                fine = (cr - cl)[pick] <= (top - origin) * FLOAT_RESOLUTION * (1 + 1e-9)
                vals = np.where(fine, _simplest(lo_c[pick], hi_c[pick], vals), vals)
        out[rows] = vals
    if step > 0:  # snap to the grid, inside the bin
        k = np.floor((out - origin) / step + 1e-9)
        kmin = np.ceil((left - origin) / step - 1e-9)
        kmax = np.ceil((right - origin) / step - 1e-9) - 1
        out = origin + np.clip(k, kmin, np.maximum(kmin, kmax)) * step
    else:  # a float of any precision: a draw in the finest cell at a bound is that bound (0, 1, a cap)
        res = (top - origin) * FLOAT_RESOLUTION
        out = np.where(out - origin < res, origin, np.where(top - out < res, top, out))
    return np.minimum(out, top)


def _simplest(a: np.ndarray, b: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """The number with the fewest decimals (up to 12) in each ``[a, b)``, else ``fallback``: the finest cell of a
    float of unknown precision around a point mass (visibility 10.0, precipitation 0.0) decodes to that round
    value rather than to 10.000013. Post-processing of the public cell edges."""
    out = np.array(fallback, dtype=float)
    done = np.zeros(len(out), dtype=bool)
    for d in range(13):
        v = np.ceil(a * 10.0**d - 1e-9) / 10.0**d
        hit = ~done & (v >= a - 1e-12) & (v < b)
        out[hit], done = v[hit], done | hit
    return out


def density_columns(encoding) -> list[tuple[str, float, float, float]]:
    """The columns of ``encoding`` that are cut into bins (not one code per value), with their public bounds and
    value grid: (name, lower, upper, step). Dates count as integers (days); floats of unknown precision get step
    0."""
    out = []
    for c in encoding.columns:
        if c.type in ("integer", "float", "date") and not c.exact and c.edges is not None:
            lo, hi, step = value_grid(c)
            if hi > lo:
                out.append((c.name, lo, hi, step))
    return out


def value_grid(coding) -> tuple[float, float, float]:
    """(lowest value, highest value, step) of a numeric coding: integers and dates step 1; floats
    10**-decimals when the schema states their precision (and the grid is not absurdly fine), else 0. A coding with
    listed values (its ``grid``) has the grid of their positions: 0 .. len - 1, step 1."""
    if getattr(coding, "grid", None) is not None:  # listed values: their positions 0 .. len - 1
        return 0.0, float(len(coding.grid) - 1), 1.0
    lo, hi = float(coding.edges[0]), float(coding.edges[-1])
    if coding.type in ("integer", "date"):
        return lo, hi - 1.0, 1.0
    decimals = getattr(coding, "decimals", None)
    if decimals is not None and (hi - lo) * 10.0**decimals <= 1e12:
        return lo, hi, 10.0**-decimals
    return lo, hi, 0.0


def cells_in_values(coding) -> np.ndarray:
    """The density of ``coding`` as cells ``(left, right, mass)`` in the column's values: with listed values
    (``grid``) the cells' positions are taken back to the values (a cell ``[i, j)`` is ``[grid[i], grid[j])``, the
    last reaching the upper edge); otherwise the cells as stored."""
    cells = np.array(coding.density, dtype=float).reshape(-1, 3)
    if getattr(coding, "grid", None) is None:
        return cells
    grid = np.asarray(coding.grid, dtype=float)
    end = max(float(coding.edges[-1]), float(np.nextafter(grid[-1], np.inf)))
    at = np.append(grid, end)
    cells[:, :2] = at[np.clip(np.rint(cells[:, :2]).astype(np.int64), 0, len(grid))]
    return cells


def attach_densities(encoding, frame, plan: DensityPlan, noise, units=None):
    """``encoding`` with the DP density of every planned column attached (each measured from its own fork of
    ``noise``); ``frame`` is the table coerced to the schema's types. ``units``: each planned column's
    :func:`density_units`, computed elsewhere (a cluster), in place of ``frame``."""
    from dataclasses import replace

    planned = {c[0] for c in plan.columns}
    cols = []
    for c in encoding.columns:
        if c.name in planned:
            fork = noise.fork(f"density {c.name}")
            if units is not None:
                cells = measure_density(None, plan, c.name, fork, units=units[c.name])
            else:
                cells = measure_density(c.density_values(frame[c.name]), plan, c.name, fork)
            c = replace(c, density=tuple(tuple(float(v) for v in row) for row in cells))
        cols.append(c)
    return replace(encoding, columns=tuple(cols))
