"""Synthetic tables for the k-anonymity benchmarks: Adult-like columns at any size, from a seeded generator.

Benchmark input only (no privacy meaning): eight quasi-identifiers mixing numbers with many values (age, hours,
a 5-digit ZIP-like code) and categories of 2 to 40 values, plus a sensitive column with 6 values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

QUASI = ["age", "zip", "hours", "sex", "race", "marital", "education", "country"]
SENSITIVE = ["diagnosis"]


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows with the columns of :data:`QUASI` and :data:`SENSITIVE`."""
    rng = np.random.default_rng(seed)

    def cat(prefix, m, skew=1.2):
        p = 1.0 / np.arange(1, m + 1) ** skew
        return np.array([f"{prefix}{i}" for i in range(m)], dtype=object)[rng.choice(m, n, p=p / p.sum())]

    return pd.DataFrame(
        {
            "age": np.clip(rng.normal(40, 14, n).round(), 17, 90).astype(np.int64),
            "zip": rng.integers(10000, 10000 + 2000, n).astype(np.int64),
            "hours": np.clip(rng.normal(40, 12, n).round(), 1, 99).astype(np.int64),
            "sex": cat("s", 2, 0.3),
            "race": cat("r", 5),
            "marital": cat("m", 7),
            "education": cat("e", 16, 0.8),
            "country": cat("c", 40),
            "diagnosis": cat("d", 6, 0.7),
        }
    )
