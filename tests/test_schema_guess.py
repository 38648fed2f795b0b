"""Type guessing judges each distinct value once, weighted by its count: the same verdict as row by row."""

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from anonlab.schema import _DATE_RE, _guess_type, _is_free_text

POOL = [
    "2020-01-02",
    "1999-12-31",
    "01234",
    "7",
    "word",
    "two words here",
    "x" * 45,
    "a long sentence with many spaces inside it, long enough to be free text",
    None,
]


def _row_by_row(s: pd.Series) -> str:
    """The rule as first written: every row matched."""
    text = s.dropna().astype(str)
    if len(text) == 0:
        return "categorical"
    if text.str.match(_DATE_RE).mean() > 0.95:
        return "date"
    if text.str.fullmatch(r"[0-9]+").all():
        return "code"
    if _is_free_text(text):
        return "text"
    return "categorical"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(POOL) | st.text(max_size=60), max_size=40))
def test_distinct_values_give_the_row_by_row_verdict(values):
    s = pd.Series(values, dtype=object)
    assert _guess_type(s) == _row_by_row(s)


def test_shares_count_rows_not_distinct_values():
    # one date value held by 96 rows beside 4 distinct words: a date column by rows, not by distinct values
    s = pd.Series(["2020-01-02"] * 96 + ["a", "b", "c", "d"], dtype=object)
    assert _guess_type(s) == "date"
