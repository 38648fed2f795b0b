"""privacy.stats.grid: a column's public bounds as numbers, and the fixed-point grid."""

import datetime as dt

import numpy as np
import pytest

from anonlab.errors import PrivacyError
from anonlab.privacy.stats.grid import (
    GRID_BITS,
    bounds_units,
    exact_sum,
    grid_exponent,
    grid_name,
    numeric_bounds,
)
from anonlab.schema import Column


def test_bounds_must_be_stated_and_numeric():
    with pytest.raises(PrivacyError, match="no public bounds"):
        numeric_bounds(Column("x", type="float"))
    with pytest.raises(PrivacyError, match="date bounds"):
        numeric_bounds(Column("d", type="date", lower=dt.date(2000, 1, 1), upper=dt.date(2001, 1, 1)))


def test_integer_columns_sum_whole_numbers_and_float_columns_a_fine_grid():
    assert grid_exponent(Column("n", type="integer", lower=0, upper=100)) == 0
    k = grid_exponent(Column("v", type="float", lower=0.0, upper=1.0))
    assert k == -GRID_BITS and grid_name("discrete_gaussian", k).endswith(f"2^{k}")
    assert bounds_units(Column("v", type="float", lower=-1.0, upper=1.0))[1:] == (
        -(2**GRID_BITS),
        2**GRID_BITS,
    )


def test_exact_sum_is_exact_beyond_float_precision():
    values = np.array([2**53, 1, 1], dtype=np.int64)
    assert exact_sum(values) == 2**53 + 2
