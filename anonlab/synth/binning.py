"""Quantile binning: cut points of wide numeric columns learned from the data with differential privacy.

The public-domain encoding (:mod:`anonlab.synth.encoding`) cuts a numeric or date column whose public range is wide
into equal-width bins. On a skewed column (Adult's capital-gain: 92% zeros over [0, 99999]) most of the mass then
piles into one bin and the other bins are nearly empty. *Quantile binning* keeps the schema's public bounds but
places the cut points near the column's quantiles, chosen privately, so the mass spreads over the bins.

What is released and what it costs
----------------------------------
For each binned column with ``k`` bins, the cut points aim at the levels 1/k, ..., (k-1)/k, and are chosen by the
recursive algorithm of Kaplan, Schnapp and Stemmer (2022, "Differentially private approximate quantiles"):

1. the middle level is chosen first, among a public grid of candidate cut points strictly inside the public bounds
   (every integer when there are at most 2,048 of them, else 2,048 evenly spaced ones), by the exponential
   mechanism (report-noisy-max with exponential noise: :func:`anonlab.privacy.mechanisms.exponential`, OpenDP's
   ``make_noisy_max`` or the seeded exact sampler) with the exact integer score
   ``-|(b - a) #{x < e} - a #{x >= e}|`` for level ``a / b``, whose sensitivity to adding or removing one record is
   ``max(a, b - a)``;
2. the records are split at the released cut point, and the lower and upper levels are solved the same way on
   each side (levels rescaled to the side, candidates restricted to the side's range).

Each tree level's selections run on disjoint sets of records (given the cut points already released), so one record
affects one selection per tree level: with ``e`` the epsilon of each selection, a column costs ``depth * e`` of pure
DP, with ``depth = ceil(log2(k))`` (5 for 32 bins), against ``(k - 1) * e`` for independent quantiles. Columns are
composed sequentially. Which selections run depends only on public information (the grid and the levels), never
on the data. Missing values are left out; values outside the public bounds are clamped to them, as in encoding.

The binning's share of the budget is charged together with the synthesis, in the same ledger entry (itemised in its
details) before any noise is drawn, and the synthesizer gets only the remainder:

- zCDP methods (AIM, MST, NAPSU-MQ): rho_binning = share x rho, each selection at ``e = sqrt(2 rho_binning / L)``
  (L = the tree levels of all binned columns), entering zCDP as ``e**2 / 2``; the synthesizer gets the rest of rho.
- methods with (epsilon, delta) accounting (DPVI): epsilon_binning = share x epsilon of pure DP (``e =
  epsilon_binning / L``) and the synthesizer gets ((1 - share) epsilon, delta); basic composition adds them back to
  (epsilon, delta).

Under "replace one record" neighbours (NAPSU-MQ and DPVI on a replace-one ledger; every other fit is add/remove) a
replaced record can move between two selections of a level (group privacy of 2), so ``e`` is halved there. The released cut points are stored in the encoding, the saved model
and the sidecar: they are part of the DP release.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from anonlab.errors import PrivacyError, SchemaError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.schema import Schema
    from anonlab.synth.encoding import ColumnCoding, Encoding

__all__ = [
    "BINNING_MODES",
    "DEFAULT_BINNING_SHARE",
    "MAX_CANDIDATES",
    "BinningPlan",
    "check_columns",
    "density_edges",
    "check_share",
    "plan_quantile_binning",
    "quantile_ranks",
    "readable_edges",
    "release_quantile_edges",
    "tree_depth",
]

#: ``"density"``: the cut points are post-processed from the DP densities (:func:`density_edges`), nothing spent
#: on them (see :class:`~anonlab.synth.base.Synthesizer`'s ``binning``).
BINNING_MODES = ("public", "quantile", "density")
#: Default share of the budget spent on learning quantile cut points.
DEFAULT_BINNING_SHARE = 0.1
#: At most this many public candidate cut points per column.
MAX_CANDIDATES = 2048
_SAFETY = 1.0 + 1e-12  # selection epsilons are rounded down so float rounding never overspends


def check_share(share: Any) -> float:
    """The binning share as a float strictly between 0 and 1, or :class:`UsageError`."""
    try:
        f = float(share)
    except (TypeError, ValueError):
        raise UsageError(f"binning share must be a number strictly between 0 and 1, got {share!r}") from None
    if not (math.isfinite(f) and 0.0 < f < 1.0):
        raise UsageError(f"binning share must be strictly between 0 and 1, got {share!r}")
    return f


def tree_depth(bins: int) -> int:
    """Tree levels of the recursive quantile algorithm for ``bins`` bins (``bins - 1`` cut points)."""
    return int(bins - 1).bit_length()


@dataclass(frozen=True)
class BinningPlan:
    """How quantile binning spends its share, decided from public information only, before any data is read.

    columns : the columns whose cut points are learned.
    bins : the target number of bins per column (cut points at levels j / bins).
    share : the fraction of the fit's budget spent on the cut points.
    zcdp : whether the budget is split in zCDP (rho) or in (epsilon, delta) by basic composition.
    group : 1 for add/remove-one-record neighbours, 2 for replace-one-record (group privacy of two).
    levels : tree levels over all columns (each record takes part in one selection per level).
    selection_epsilon : the pure epsilon of each selection (add/remove one record within its subset).
    epsilon, delta, rho : the binning's own cost, a valid statement for the binning alone (rho in zCDP only).
    remainder : the :class:`~anonlab.synth.base.Budget` left for the synthesizer.
    """

    columns: tuple[str, ...]
    bins: int
    share: float
    zcdp: bool
    group: int
    levels: int
    selection_epsilon: float
    epsilon: float
    delta: float
    rho: float | None
    remainder: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": "quantile",
            "columns": list(self.columns),
            "bins": self.bins,
            "share": self.share,
            "accounting": "zcdp" if self.zcdp else "basic (pure DP)",
            "neighbours_group": self.group,
            "tree_levels": self.levels,
            "selection_epsilon": self.selection_epsilon,
            "mechanism": "exponential (permute-and-flip), recursive quantiles (Kaplan-Schnapp-Stemmer 2022)",
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
        }


def _wide(c: ColumnCoding) -> bool:
    return c.type in ("integer", "float", "date") and not c.exact


def wide_columns(encoding: Encoding) -> list[str]:
    """The numeric and date columns whose public range is wider than their bins: the ones quantile binning cuts.
    A function of the public encoding only."""
    return [c.name for c in encoding.columns if _wide(c)]


def check_columns(schema: Schema, columns) -> list[str]:
    """The named columns, checked against the schema before anything else: each must exist, be numeric or a
    date, and have public bounds (the bounds stay public; only the cut points inside them are learned)."""
    chosen: list[str] = []
    for name in columns:
        if name in chosen:
            raise UsageError(f"quantile binning: column {name!r} is named twice")
        if name not in schema:
            raise SchemaError(f"quantile binning: the schema has no column {name!r}")
        col = schema[name]
        if col.type not in ("integer", "float", "date"):
            raise UsageError(
                f"quantile binning: column {name!r} is {col.type}; only numeric and date columns are binned"
            )
        if col.lower is None or col.upper is None:
            raise SchemaError(
                f"quantile binning: column {name!r} has no public bounds; state lower and upper in the schema "
                "(the bounds stay public, only the cut points inside them are learned)"
            )
        chosen.append(name)
    if not chosen:
        raise UsageError("quantile binning: the list of columns is empty")
    return chosen


def plan_quantile_binning(
    encoding: Encoding,
    schema: Schema,
    columns,
    budget,
    share: float,
    *,
    bins: int,
    zcdp: bool,
    group: int,
) -> BinningPlan:
    """Check the columns and split ``budget`` between the cut points and the synthesizer.

    columns : names to bin on quantiles, or ``None`` for every numeric or date column whose public range is wide
        (the ones that would get equal-width bins). A named column must be numeric or a date, with public bounds,
        and wide; anything else is a :class:`UsageError` / :class:`SchemaError`.
    budget : the fit's whole :class:`~anonlab.synth.base.Budget` (epsilon, delta).
    zcdp : split in zCDP (the synthesizer accounts in rho) or by basic composition (it has only (epsilon, delta)).
    group : 2 when the synthesizer's neighbours replace one record, else 1.
    """
    from anonlab.privacy.accounting import zcdp_epsilon
    from anonlab.synth.base import Budget

    share = check_share(share)
    by_name = {c.name: c for c in encoding.columns}
    if columns is None:
        chosen = [c.name for c in encoding.columns if _wide(c)]
        if not chosen:
            raise UsageError(
                "quantile binning: no numeric or date column has a wide public range (each already has one code "
                f"per value at {bins} bins); use the default public binning"
            )
    else:
        chosen = check_columns(schema, columns)
        for name in chosen:
            if name not in by_name:
                raise UsageError(f"quantile binning: column {name!r} is not synthesised (identifier or text)")
            if not _wide(by_name[name]):
                raise UsageError(
                    f"quantile binning: column {name!r} already has one code per value at {bins} bins; "
                    "there are no cut points to learn"
                )
    levels = len(chosen) * tree_depth(bins)
    if zcdp:
        rho = budget.rho
        rho_b = share * rho
        rho_s = rho - rho_b
        e = math.sqrt(2.0 * rho_b / levels) / group / _SAFETY
        eps_b = zcdp_epsilon(rho_b, budget.delta)
        remainder = Budget(zcdp_epsilon(rho_s, budget.delta), budget.delta, zcdp_rho=rho_s)
        return BinningPlan(
            tuple(chosen), bins, share, True, group, levels, e, eps_b, budget.delta, rho_b, remainder
        )
    eps_b = share * budget.epsilon
    e = eps_b / (group * levels) / _SAFETY
    remainder = Budget(budget.epsilon - eps_b, budget.delta)
    return BinningPlan(tuple(chosen), bins, share, False, group, levels, e, eps_b, 0.0, None, remainder)


def _candidates(c: ColumnCoding) -> np.ndarray:
    """Public candidate cut points strictly inside the column's public bounds."""
    lo, hi = float(c.edges[0]), float(c.edges[-1])  # integer/date: hi is upper + 1
    if c.type in ("integer", "date"):
        inner = int(hi) - int(lo) - 1  # the cut points lo+1 .. upper
        if inner <= MAX_CANDIDATES:
            return np.arange(int(lo) + 1, int(hi), dtype=float)
        return np.unique(np.round(np.linspace(lo + 1, hi - 1, MAX_CANDIDATES)))
    return np.linspace(lo, hi, MAX_CANDIDATES + 2)[1:-1]


@dataclass
class _Node:
    c0: int  # candidate slice [c0, c1)
    c1: int
    d0: int  # data slice [d0, d1) of the sorted values
    d1: int
    levels: tuple[Fraction, ...] = field(default_factory=tuple)


def quantile_ranks(values: np.ndarray, coding: ColumnCoding) -> np.ndarray:
    """The exact statistic quantile binning reads from a column: ``[n, #{x < e_1}, #{x < e_2}, ...]`` over its
    public candidate cut points ``e_j``, for ``values`` (floats, NaN missing; missing values left out, the others
    clamped to the public bounds). Additive over rows: the ranks of a table are the sum of its parts' ranks."""
    lo, hi = float(coding.edges[0]), float(coding.edges[-1])
    top = hi - (1.0 if coding.type in ("integer", "date") else 0.0)
    x = np.sort(np.clip(values[~np.isnan(values)], lo, top))
    below = np.searchsorted(x, _candidates(coding), side="left").astype(np.int64)
    return np.concatenate([np.array([len(x)], dtype=np.int64), below])


def _column_edges(
    ranks: np.ndarray, cand: np.ndarray, bins: int, eps: float, noise
) -> tuple[list[float], list]:
    """Cut points from a column's :func:`quantile_ranks`; and per tree level the largest selection cost (PureDP).

    A node holds the values between its neighbouring released cut points, so its own count below a candidate is
    the column's count below it less the count below the node (``d0``)."""
    from anonlab.privacy.mechanisms import exponential

    nodes = [_Node(0, len(cand), 0, int(ranks[0]), tuple(Fraction(j, bins) for j in range(1, bins)))]
    cuts: list[float] = []
    level_costs = []
    while nodes:
        nxt, worst = [], None
        for node in nodes:
            # only public facts decide whether a node runs: its levels and its candidates, never its records
            if not node.levels or node.c1 <= node.c0:
                continue
            i = len(node.levels) // 2
            p = node.levels[i]
            a, b = p.numerator, p.denominator
            cands = cand[node.c0 : node.c1]
            below = ranks[1 + node.c0 : 1 + node.c1] - node.d0  # #{x < e} among the node's values
            at_or_above = (node.d1 - node.d0) - below
            scores = -np.abs((b - a) * below - a * at_or_above)
            idx, cost = exponential(scores.astype(float), eps, sensitivity=float(max(a, b - a)), noise=noise)
            worst = cost if worst is None or cost.epsilon > worst.epsilon else worst
            cuts.append(float(cands[idx]))
            split = node.d0 + int(below[idx])
            nxt.append(_Node(node.c0, node.c0 + idx, node.d0, split, tuple(q / p for q in node.levels[:i])))
            nxt.append(
                _Node(
                    node.c0 + idx + 1,
                    node.c1,
                    split,
                    node.d1,
                    tuple((q - p) / (1 - p) for q in node.levels[i + 1 :]),
                )
            )
        if worst is not None:
            level_costs.append(worst)
        nodes = nxt
    return sorted(cuts), level_costs


def readable_edges(type_: str, edges) -> list:
    """Bin edges as reports show them: numbers, or ISO dates for a date column (edges are days since 1970)."""
    if type_ != "date":
        return [float(e) for e in edges]
    import datetime as dt

    return [(dt.date(1970, 1, 1) + dt.timedelta(days=int(e))).isoformat() for e in edges]


def release_quantile_edges(
    frame: pd.DataFrame | None,
    encoding: Encoding,
    plan: BinningPlan,
    noise,
    ranks: dict[str, np.ndarray] | None = None,
) -> tuple[Encoding, dict[str, Any]]:
    """Release the cut points of ``plan.columns`` from ``frame`` (coerced to the schema) with DP noise from
    ``noise`` (a :class:`~anonlab.privacy.noise.NoiseSource` forked for this release). Call only after the ledger
    was charged for the whole fit. Returns the encoding with the learned edges and what was spent (the mechanisms'
    own costs composed, checked against the plan). ``ranks``: each column's :func:`quantile_ranks`, computed
    elsewhere (on a cluster), in place of ``frame``."""
    from anonlab.privacy.accounting import PureDP

    new_cols = []
    out_edges: dict[str, list[float]] = {}
    all_levels: list[PureDP] = []
    for c in encoding.columns:
        if c.name not in plan.columns:
            new_cols.append(c)
            continue
        lo, hi = float(c.edges[0]), float(c.edges[-1])
        r = ranks[c.name] if ranks is not None else quantile_ranks(c.values(frame[c.name]), c)
        cuts, levels = _column_edges(r, _candidates(c), plan.bins, plan.selection_epsilon, noise)
        if len(levels) > tree_depth(plan.bins):
            raise PrivacyError(f"internal error: column {c.name!r} used more tree levels than planned")
        all_levels.extend(levels)
        edges = (lo, *cuts, hi)
        out_edges[c.name] = readable_edges(c.type, edges)
        new_cols.append(replace(c, edges=edges, exact=False, learned=True))
    g = plan.group
    if plan.zcdp:
        spent = sum((g * c.epsilon) ** 2 / 2.0 for c in all_levels)
        if spent > plan.rho * (1 + 1e-9):
            raise PrivacyError(
                f"internal error: quantile binning cost rho {spent} but {plan.rho} was planned"
            )
        measured = {"measure": "zcdp", "rho": spent, "charged_rho": plan.rho}
    else:
        spent = sum(g * c.epsilon for c in all_levels)
        if spent > plan.epsilon * (1 + 1e-9):
            raise PrivacyError(
                f"internal error: quantile binning cost epsilon {spent} but {plan.epsilon} was planned"
            )
        measured = {"measure": "pure", "epsilon": spent, "charged_epsilon": plan.epsilon}
    from anonlab.synth.encoding import Encoding as _Encoding

    details = {**plan.to_dict(), "measured": measured, "edges": out_edges}
    return _Encoding(tuple(new_cols), encoding.skipped), details


def density_edges(cells, bins: int, lower: float, upper: float) -> tuple[float, ...] | None:
    """Cut points at the ``1/bins .. (bins-1)/bins`` quantiles of a released DP density (``cells``: rows of
    ``(left, right, mass)`` covering ``[lower, upper)``, :mod:`anonlab.synth.density`), each at the cell edge
    nearest its level: a cell of more mass than a bin (an atom: Adult's capital-gain == 0) gets a bin of its own,
    and no bin splits a cell. Post-processing of the density: costs nothing. Returns the edges ``(lower, ...,
    upper)``, or ``None`` when the density holds no positive mass."""
    c = np.asarray(cells, dtype=float).reshape(-1, 3)
    c = c[np.argsort(c[:, 0], kind="stable")]
    mass = np.maximum(c[:, 2], 0.0)
    if mass.sum() <= 0:
        return None
    cum = np.cumsum(mass) / mass.sum()
    cuts = set()
    for j in range(1, bins):
        t = j / bins
        i = min(int(np.searchsorted(cum, t)), len(c) - 1)
        before = cum[i - 1] if i > 0 else 0.0
        cut = float(c[i, 1] if cum[i] - t < t - before else c[i, 0])
        if lower < cut < upper:
            cuts.add(cut)
    return (float(lower), *sorted(cuts), float(upper))


def apply_density_edges(encoding, bins: int):
    """``encoding`` with every column that carries a DP density re-cut at :func:`density_edges` (marked
    ``learned``: the edges are a DP output, post-processed); the density stays attached. Returns (encoding,
    {column: readable edges})."""
    from dataclasses import replace

    out_edges: dict[str, list] = {}
    cols = []
    for c in encoding.columns:
        if getattr(c, "density", None) is not None and not c.exact and c.edges is not None:
            from anonlab.synth.density import cells_in_values

            edges = density_edges(cells_in_values(c), bins, float(c.edges[0]), float(c.edges[-1]))
            if edges is not None and len(edges) > 2:
                c = replace(c, edges=edges, learned=True)
                out_edges[c.name] = readable_edges(c.type, edges)
        cols.append(c)
    return replace(encoding, columns=tuple(cols)), out_edges
