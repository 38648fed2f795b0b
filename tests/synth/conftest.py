"""Small real-looking tables and schemas for the synthesis tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anonlab.schema import Column, Schema


def planted_frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A table where b equals a 90% of the time, plus an integer, a float, a date and a column with missing values."""
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y", "z", "w"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    other = rng.choice(["x", "y", "z", "w"], size=n)
    b = np.where(rng.random(n) < 0.9, a, other)
    age = rng.integers(18, 90, size=n)
    score = rng.normal(50, 10, size=n).clip(0, 100)
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, size=n), unit="D")
    city = pd.Series(rng.choice(["north", "south"], size=n), dtype=object)
    city[rng.random(n) < 0.2] = None
    return pd.DataFrame(
        {"a": a, "b": b, "age": age, "score": score, "day": day.strftime("%Y-%m-%d"), "city": city}
    )


def planted_schema() -> Schema:
    cats = ("w", "x", "y", "z")
    return Schema(
        (
            Column("a", "quasi", "categorical", categories=cats),
            Column("b", "sensitive", "categorical", categories=cats),
            Column("age", "quasi", "integer", lower=18, upper=89),
            Column("score", "other", "float", lower=0.0, upper=100.0),
            Column("day", "other", "date", lower="2020-01-01", upper="2020-12-31"),
            Column("city", "quasi", "categorical", categories=("north", "south")),
        )
    )


@pytest.fixture
def planted() -> pd.DataFrame:
    return planted_frame()


@pytest.fixture
def schema() -> Schema:
    return planted_schema()
