"""What a fit will cost in memory and time, estimated from the public domain alone, before any data is read.

A synthesizer's work grows with its encoded domain, not with the number of rows: MST scores every two-way
marginal, AIM holds every workload marginal, NAPSU-MQ enumerates the joint domain and runs NUTS over one parameter
per cell of its two-way queries. A categorical column with a million public values, or a finely binned numeric
column inside NAPSU-MQ, can turn a fit of seconds into hours and gigabytes. This module estimates the cost from the
column sizes (the public encoding), so a fit that would pass a limit is refused before anything is charged to a
ledger or read from the data, with the columns that drive the cost named and what to do about them.

The estimates are deliberately simple upper-bound-style models (tables held at once times bytes per cell; a time
model fitted to this project's benchmarks on 2 cores). They read nothing but the sizes, so they are public.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from anonlab.errors import UsageError

__all__ = ["FitEstimate", "FitLimits", "estimate_fit", "check_fit", "DEFAULT_LIMITS"]

_BYTES = 8  # one float64 or int64 per cell
#: The rounds an AIM fit is expected to run, per column (at most its planned T = 16 per column): its annealing
#: spends the budget in about 1-2 rounds per column on the real tables of benchmarks/default_path.py; 4 keeps the
#: estimate on the safe side.
AIM_ROUNDS_PER_COLUMN = 4


@dataclass(frozen=True)
class FitLimits:
    """The largest fit anonlab starts without being told to go further.

    max_memory_gb : estimated peak memory of the fit's tables, in GiB.
    max_minutes : estimated fit time on 2 cores, in minutes.
    """

    max_memory_gb: float = 4.0
    max_minutes: float = 5.0

    def __post_init__(self) -> None:
        for name in ("max_memory_gb", "max_minutes"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise UsageError(f"{name} must be a number above 0 (got {v!r})")


DEFAULT_LIMITS = FitLimits()


@dataclass(frozen=True)
class FitEstimate:
    """A fit's estimated cost, from the public domain.

    largest_table : cells of the largest table the fit builds at once.
    cells : cells of all the tables it computes (marginals scored or measured, the joint domain).
    memory_bytes : estimated peak memory of those tables.
    seconds : estimated fit time on 2 cores (a rough model: expect a factor of two either way).
    drivers : the columns whose domain size drives the cost, largest first.
    """

    method: str
    largest_table: int
    cells: int
    memory_bytes: int
    seconds: float
    drivers: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "largest_table": self.largest_table,
            "cells": self.cells,
            "memory_gb": round(self.memory_bytes / 2**30, 3),
            "minutes": round(self.seconds / 60, 2),
            "drivers": list(self.drivers),
        }


def _prod(sizes: Sequence[int], cols: Sequence[int]) -> int:
    return int(math.prod(int(sizes[c]) for c in cols))


def _graphical(
    method: str, sizes: Sequence[int], params: Mapping[str, Any], seeded: bool
) -> tuple[int, int, float]:
    """(largest table, all cells, seconds) for MST and AIM."""
    d = len(sizes)
    noise_rate = 2e-5 if seeded else 1e-6  # seconds per noisy cell: exact sampler in Python vs OpenDP's
    if method == "mst":
        pairs = [_prod(sizes, p) for p in itertools.combinations(range(d), 2)]
        largest = max(pairs + list(sizes))
        cells = sum(sizes) + sum(pairs)
        noised = sum(sizes) + max(d - 1, 0) * (max(pairs) if pairs else 0)
        iters = int(params.get("iters", 1000))
        seconds = 2 + 3e-8 * cells * 10 + noise_rate * noised + 2e-8 * iters * noised
        return largest, cells, seconds
    k = max(1, min(int(params.get("workload_k", 3)), d))
    subsets = {
        tuple(sorted(s))
        for w in itertools.combinations(range(d), k)
        for r in range(1, k + 1)
        for s in itertools.combinations(w, r)
    }
    tables = [_prod(sizes, s) for s in subsets]
    cap = float(params.get("max_cells", 200_000))
    largest = max(tables)
    cells = sum(tables)
    rounds = int(params.get("rounds") or 16 * d)
    # AIM never selects a clique larger than its model-size cap: only the candidates under it are scored each
    # round; the others cost their real marginal once. And AIM's annealing spends its budget in far fewer rounds
    # than the T it plans: measured here (2 cores, seeded) COMPAS, 18 columns, ran 14 rounds in 26 s of CPU and
    # GeoNames, 6 columns with three of 221-323 codes, 8 rounds in 6 s, where the former model (every one of T
    # rounds measuring a table as large as the cap) said 22 and 10 minutes.
    eligible = [t for t in tables if t <= cap] or [min(tables)]
    expected_rounds = min(rounds, AIM_ROUNDS_PER_COLUMN * d)
    per_round = 2e-8 * sum(eligible) + 1e-3 * len(eligible) + noise_rate * sum(eligible) / len(eligible)
    seconds = 5 + 2e-8 * cells + expected_rounds * per_round
    return max(largest, int(min(cap, largest))), cells, seconds


def estimate_fit(
    method: str,
    sizes: Sequence[int],
    params: Mapping[str, Any],
    *,
    names: Sequence[str] | None = None,
    seeded: bool = False,
) -> FitEstimate:
    """Estimate the cost of fitting ``method`` on an encoded domain with column ``sizes`` (codes per column).

    params : the method's parameters (``workload_k``, ``max_cells``, ``rounds``, ``iters``, ``mixture_k`` ...).
    names : the column names, for the ``drivers`` of the estimate.
    seeded : whether the noise is seeded (anonlab's exact samplers in Python are slower than OpenDP's).
    Methods without a model here (the non-DP baselines) get a linear estimate in the total number of codes.
    """
    sizes = [int(s) for s in sizes]
    names = list(names) if names is not None else [str(i) for i in range(len(sizes))]
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    drivers = tuple(names[i] for i in order[:3] if sizes[i] > 1)
    if not sizes:
        return FitEstimate(method, 0, 0, 0, 0.0, ())
    if method in ("mst", "aim"):
        largest, cells, seconds = _graphical(method, sizes, params, seeded)
        # the largest table held several times over (counts, noisy counts, model marginal, difference), and the
        # scored tables of one round side by side
        memory = _BYTES * (6 * largest + (cells if method == "aim" else 0))
    elif method == "napsu":
        joint = _prod(sizes, range(len(sizes)))
        dim = sum(_prod(sizes, p) for p in itertools.combinations(range(len(sizes)), 2)) or sum(sizes)
        largest, cells = joint, joint + dim
        memory = _BYTES * (joint * (len(sizes) + 4) + dim * dim)
        # fitted to this project's runs: about 20 s of set-up and compiling, then NUTS work that grows with the
        # number of query parameters times the joint cells (2,000 x 4 Adult columns: 24 s; age in 33 codes
        # beside sex, race and income: 8.5 minutes)
        seconds = 20 + 6e-4 * dim * joint
    elif method == "dpvi":
        k = int(params.get("mixture_k", params.get("k", 5)))
        largest = cells = k * sum(sizes)
        memory = _BYTES * 64 * cells
        seconds = 20 + 1e-5 * cells * int(params.get("steps", 500) or 500)
    else:
        largest = cells = sum(sizes)
        memory = _BYTES * 64 * cells
        seconds = 1e-5 * cells
    return FitEstimate(method, int(largest), int(cells), int(memory), float(seconds), drivers)


def check_fit(estimate: FitEstimate, limits: FitLimits = DEFAULT_LIMITS) -> None:
    """Raise :class:`UsageError` if ``estimate`` passes ``limits``, naming the columns that drive the cost and
    what to do: coarsen them (fewer bins, a coarser category list), drop them, or mark them as identifiers (which
    are never synthesised); or raise the limit (``max_memory_gb`` / ``max_minutes``, ``--max-memory`` /
    ``--max-minutes``) knowingly."""
    gb = estimate.memory_bytes / 2**30
    minutes = estimate.seconds / 60
    over = []
    if gb > limits.max_memory_gb:
        over.append(f"about {gb:.3g} GB of memory (limit {limits.max_memory_gb:g} GB, --max-memory)")
    if minutes > limits.max_minutes:
        over.append(f"about {minutes:.3g} minutes (limit {limits.max_minutes:g}, --max-minutes)")
    if not over:
        return
    cols = ", ".join(repr(c) for c in estimate.drivers) or "the columns"
    raise UsageError(
        f"{estimate.method}: refused before fitting: the public domain needs {' and '.join(over)}, with tables "
        f"of up to {estimate.largest_table:,} cells; the largest domains are {cols}. Coarsen them (fewer --bins, "
        'a coarser category list in the schema), drop them, or mark them role = "identifier"; or raise the '
        "limit knowingly"
    )
