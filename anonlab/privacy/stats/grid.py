"""Exact sums on a public fixed-point grid, and a column's public bounds as numbers.

A floating-point sum of n values can be off by about n * 2**-53 * max|x|, and n is private, so the sensitivity of a
float sum is not the stated max(|L|, |U|). ``dp stats`` instead rounds each clamped value to a public grid of step
``2**k`` (k from the schema's bounds alone: at most ``2**-GRID_BITS`` of the larger bound; whole numbers for integer
columns with bounds below ``2**GRID_BITS``), adds the grid units exactly in integer arithmetic and calibrates the
discrete noise to the sensitivity in grid units. Rounding is monotone, so every rounded value stays inside the
rounded bounds and the sensitivity holds exactly, whatever the number of rows.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import TYPE_CHECKING

import numpy as np

from anonlab.errors import PrivacyError

if TYPE_CHECKING:
    from anonlab.schema import Column

__all__ = [
    "GRID_BITS",
    "numeric_bounds",
    "integer_bounds",
    "grid_exponent",
    "units",
    "bounds_units",
    "exact_sum",
    "grid_name",
]

GRID_BITS = 32  # sums: a value at the larger bound is at most 2**33 grid steps


def numeric_bounds(col: Column) -> tuple[float, float]:
    """The column's public bounds as floats. :class:`PrivacyError` when the schema states none (a DP statistic
    never reads its bounds from the data) or when they are dates (DP sums and quantiles take numbers)."""
    lo, hi = col.lower, col.upper
    if lo is None or hi is None:
        raise PrivacyError(f"column {col.name!r} has no public bounds in the schema; state lower and upper")
    if isinstance(lo, _dt.date) or isinstance(hi, _dt.date):
        raise PrivacyError(f"column {col.name!r} has date bounds; DP statistics need numeric bounds")
    return float(lo), float(hi)


def integer_bounds(col: Column) -> tuple[int, int]:
    """The column's public bounds as whole numbers (for the values of an integer column)."""
    lo, hi = numeric_bounds(col)
    return int(lo), int(hi)


def grid_exponent(col: Column) -> int:
    """k of the public grid 2**k a column's values are rounded to before summing: at most 2**-GRID_BITS of the
    larger bound (whole numbers for an integer column whose bounds are below 2**GRID_BITS). From the schema only."""
    lo, hi = numeric_bounds(col)
    m = max(abs(lo), abs(hi))
    if m == 0:
        return 0
    k = math.floor(math.log2(m)) - GRID_BITS
    return max(0, k) if col.type == "integer" else k


def units(x, k: int) -> np.ndarray:
    """Values in grid units (round half to even; monotone, so a clamped value stays between the rounded bounds)."""
    return np.rint(np.ldexp(np.asarray(x, dtype=float), -k)).astype(np.int64)


def bounds_units(col: Column) -> tuple[int, int, int]:
    """(k, L, U): the grid exponent and the public bounds in grid units."""
    k = grid_exponent(col)
    lo, hi = units(list(numeric_bounds(col)), k)
    return k, int(lo), int(hi)


def exact_sum(values: np.ndarray) -> int:
    """The exact integer sum (int64 chunks of 2**28 values, each at most 2**34 in size, added as Python ints)."""
    step = 1 << 28
    return sum((int(values[i : i + step].sum()) for i in range(0, values.size, step)), 0)


def grid_name(mechanism: str, k: int) -> str:
    """The mechanism's name with its grid (``discrete_gaussian on the fixed-point grid 2^-16``)."""
    return mechanism if k == 0 else f"{mechanism} on the fixed-point grid 2^{k}"
