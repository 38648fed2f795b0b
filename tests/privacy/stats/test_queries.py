"""privacy.stats.queries: a Query validates itself; text and objects are accepted alike."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anonlab.errors import UsageError
from anonlab.privacy.stats.queries import Query, as_queries, parse_query


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"kind": "median", "columns": ("x",)}, "is not one of"),
        ({"kind": "count", "columns": ("x",)}, "takes no columns"),
        ({"kind": "counts"}, "at least one column"),
        ({"kind": "sum", "columns": ("a", "b")}, "exactly one column"),
        ({"kind": "counts", "columns": ("a", "a")}, "repeated"),
        ({"kind": "counts", "columns": ("a", "")}, "non-empty"),
        ({"kind": "mean", "columns": ("x",), "levels": (0.5,)}, "quantile queries only"),
        ({"kind": "quantile", "columns": ("x",)}, "at least one level"),
        ({"kind": "quantile", "columns": ("x",), "levels": (True,)}, "strictly between 0 and 1"),
        ({"kind": "quantile", "columns": ("x",), "levels": (0.5, 0.5)}, "level is repeated"),
        ({"kind": "quantile", "columns": ("x",), "levels": 0.5}, "sequence of numbers"),
        ({"kind": "sum", "columns": 3}, "sequence of column names"),
    ],
)
def test_a_bad_query_says_what_is_wrong(kwargs, says):
    with pytest.raises(UsageError, match=says):
        Query(**kwargs)


def test_one_column_may_be_given_as_text_and_the_text_defaults_to_the_canonical_form():
    q = Query("quantile", "age", [0.5])
    assert q.columns == ("age",) and q.levels == (0.5,) and q.text == "quantile:age:0.5"
    assert parse_query("median:age").canonical == q.canonical
    assert Query("mean", ("x",)).measurements == 2 and q.measurements == 1


@given(st.lists(st.floats(min_value=0.001, max_value=0.999), min_size=1, max_size=5, unique=True))
def test_quantile_text_round_trips(levels):
    q = parse_query("quantile:x:" + ",".join(repr(v) for v in levels))
    assert q.levels == tuple(levels) and parse_query(q.canonical) == Query(
        "quantile", ("x",), q.levels, q.canonical
    )


def test_as_queries_takes_one_query_text_or_objects_and_names_the_parameter():
    assert [q.kind for q in as_queries("count")] == ["count"]
    assert [q.kind for q in as_queries(["count", Query("sum", ("x",))])] == ["count", "sum"]
    with pytest.raises(UsageError, match="queries="):
        as_queries(5)
    with pytest.raises(UsageError, match="queries="):
        as_queries(["count", 5])
