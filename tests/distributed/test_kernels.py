"""The per-partition pseudonymisation kernel (vectorised HMAC) gives exactly the per-value pseudonyms and offsets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonlab.deid import generate_key
from anonlab.deid.pseudonym import Pseudonymizer

KEY = generate_key()


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=40), st.integers(0, 10**12).map(str)), max_size=60),
    span=st.integers(1, 100_000),
)
def test_column_equals_value_by_value(values, span):
    pz = Pseudonymizer(KEY, max_shift_days=span)
    s = pd.Series(values, dtype=object)
    assert list(pz.pseudonymize_series(s)) == [None if v is None else pz.pseudonym(v) for v in values]
    want = np.array([np.nan if v is None else pz.offset_days(v) for v in values], dtype=float)
    assert np.array_equal(pz.offsets_for(s).to_numpy(), want, equal_nan=True)


@pytest.mark.parametrize("dtype", ["int64", "Int64"])
def test_integers_by_their_decimal_form(dtype):
    pz = Pseudonymizer(KEY)
    s = pd.Series([123, 7, 123, None] if dtype == "Int64" else [123, 7, 123], dtype=dtype)
    want = [None if pd.isna(v) else pz.pseudonym(str(v)) for v in s]
    assert list(pz.pseudonymize_series(s)) == want
