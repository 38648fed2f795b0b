"""Small tables for the NAPSU-MQ and DPVI tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anonlab.schema import Column, Schema


def binary_table(n: int = 300, seed: int = 0, same: float = 0.8) -> tuple[pd.DataFrame, Schema]:
    """Three binary columns; b equals a with probability ``same``."""
    rng = np.random.default_rng(seed)
    a = rng.choice(["p", "q"], n)
    b = np.where(rng.random(n) < same, a, np.where(a == "p", "q", "p"))
    c = rng.choice(["u", "v"], n)
    schema = Schema(
        tuple(
            Column(k, type="categorical", categories=v)
            for k, v in (("a", ("p", "q")), ("b", ("p", "q")), ("c", ("u", "v")))
        )
    )
    return pd.DataFrame({"a": a, "b": b, "c": c}), schema


def two_columns(n: int = 200) -> tuple[pd.DataFrame, Schema]:
    df, schema = binary_table(n)
    return df[["a", "b"]], Schema(tuple(c for c in schema if c.name in ("a", "b")))


def pair_tv(real: pd.DataFrame, syn: pd.DataFrame, cols: tuple[str, str]) -> float:
    a = real.groupby(list(cols)).size() / len(real)
    b = syn.groupby(list(cols)).size() / len(syn)
    return 0.5 * float(a.sub(b, fill_value=0).abs().sum())


@pytest.fixture
def cache(tmp_path_factory):
    return str(tmp_path_factory.getbasetemp() / "jax-cache")


@pytest.fixture
def tables():
    """The helpers above (conftest is not importable under --import-mode=importlib)."""
    from types import SimpleNamespace

    return SimpleNamespace(binary=binary_table, two=two_columns, pair_tv=pair_tv)
