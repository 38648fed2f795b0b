"""The table fingerprint the ledger keeps (anonlab.privacy.fingerprint): its CSV text is byte for byte what pandas'
to_csv writes (so its definition, and every fingerprint already in a ledger, is unchanged by the faster builder),
for every column type, value and shape hypothesis finds."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonlab.privacy.fingerprint import csv_text, dataset_fingerprint
from anonlab.privacy.ledger import dataset_fingerprint as from_ledger

_TEXT = st.text(alphabet=st.sampled_from(list('ab ,"\n\r\t;é€x0-.') + ["\u2028", "'"]), max_size=6)


def _pandas(df: pd.DataFrame, header: bool = True) -> bytes:
    frame = df.copy()
    frame.columns = [str(c) for c in frame.columns]
    cols = sorted(frame.columns)
    return frame[cols].to_csv(index=False, header=header, lineterminator="\n").encode("utf-8")


def _column(kind: str, n: int, data) -> pd.Series:
    if kind == "int":
        return pd.Series(
            data.draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)), dtype="int64"
        )
    if kind == "uint8":
        return pd.Series(data.draw(st.lists(st.integers(0, 255), min_size=n, max_size=n)), dtype="uint8")
    if kind == "bool":
        return pd.Series(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if kind in ("float", "float32"):
        vals = data.draw(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32 if kind == "float32" else 64),
                                  min_size=n, max_size=n))  # fmt: skip
        return pd.Series(vals, dtype="float32" if kind == "float32" else "float64")
    if kind in ("text", "string"):
        vals = data.draw(st.lists(st.one_of(_TEXT, st.none(), st.just(float("nan"))), min_size=n, max_size=n))
        s = pd.Series(vals, dtype=object)
        return s.astype("string") if kind == "string" else s
    if kind == "mixed":  # numbers among text: to_csv's own path
        vals = data.draw(
            st.lists(st.one_of(_TEXT, st.integers(-5, 5), st.floats(-2, 2)), min_size=n, max_size=n)
        )
        return pd.Series(vals, dtype=object)
    if kind == "date":
        days = data.draw(st.lists(st.integers(0, 40_000), min_size=n, max_size=n))
        return pd.Series(pd.to_datetime(days, unit="D"))
    vals = data.draw(st.lists(st.sampled_from(["x", "y,z", None]), min_size=n, max_size=n))
    return pd.Series(vals, dtype="category")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_text_is_what_to_csv_writes(data):
    n = data.draw(st.integers(0, 12))
    kinds = ["int", "uint8", "bool", "float", "float32", "text", "string", "mixed", "date", "category"]
    names = data.draw(st.lists(st.one_of(_TEXT, st.integers(0, 3)), min_size=1, max_size=4, unique_by=str))
    df = pd.DataFrame({name: _column(data.draw(st.sampled_from(kinds)), n, data) for name in names})
    header = data.draw(st.booleans())
    assert csv_text(df, header=header) == _pandas(df, header)


def test_special_values_and_shapes():
    df = pd.DataFrame(
        {
            "b": ["", None, 'say "hi"', "a,b", "line\nbreak", "cr\r"],
            "a": [-0.0, 0.0, np.nan, 1e16, 1e-7, -np.inf],
            "c": [0, -1, 2**62, 3, 4, 5],
            "d,e": [True, False, True, True, False, False],
            "f": [np.nan] * 6,  # all missing: an object column of nothing
        }
    ).astype({"f": object})
    assert csv_text(df) == _pandas(df)
    assert csv_text(df.iloc[:0]) == _pandas(df.iloc[:0]) and csv_text(df.iloc[:0], header=False) == b""
    assert csv_text(df[["b"]]) == _pandas(df[["b"]])  # one column: to_csv (it quotes an empty row)
    dup = pd.concat([df[["c"]], df[["c"]]], axis=1)
    assert csv_text(dup) == _pandas(dup)


def test_the_definition_is_unchanged():
    """A fingerprint recorded by an earlier anonlab (a ledger's entries, the noise of seeded releases it keys)
    is still the one computed now: SHA-256 of the tag and pandas' CSV text."""
    df = pd.DataFrame({"zip": ["00123", None, "9,9"], "age": [30, 41, 52], "w": [0.5, np.nan, 2.0]})
    want = hashlib.sha256(b"anonlab-dataset-v1\n" + _pandas(df)).hexdigest()
    assert dataset_fingerprint(df) == from_ledger(df) == want
    assert want == "7753befaadc4255ff891741a51f7b344b8455b5963eec8b216bc040b5425df42"


@pytest.mark.parametrize("rows", [1, 3])
def test_the_fingerprint_follows_the_rows(rows):
    df = pd.DataFrame({"a": range(rows), "b": ["x"] * rows})
    assert dataset_fingerprint(df) != dataset_fingerprint(df.assign(b="y"))
