"""privacy.stats.plan: the budget split, and the columns' public domains checked before any data is read."""

import math

import pytest

from anonlab.errors import PrivacyError, SchemaError, UsageError
from anonlab.privacy.accounting import rho_for
from anonlab.privacy.stats.plan import check_columns, noise_plan, plan_stats
from anonlab.privacy.stats.queries import parse_query
from anonlab.schema import Column, Schema


def _schema() -> Schema:
    return Schema(
        (
            Column("age", "quasi", "integer", lower=0, upper=100),
            Column("sex", "quasi", "categorical", categories=("F", "M")),
            Column("zip", "quasi", "code", categories=("0150",), from_data=True),
            Column("wide", "other", "integer", lower=0, upper=10**7, from_data=True),
            Column("note", "other", "text"),
            Column("bare", "other", "float"),
        )
    )


def test_the_budget_is_split_equally_between_measurements():
    qs = [parse_query(q) for q in ("count", "mean:age", "quantile:age:0.1,0.9")]
    pure = plan_stats(qs, 1.0, 0.0)
    assert pure.mode == "pure" and pure.measurements == 5 and pure.per_measurement == pytest.approx(0.2)
    z = plan_stats(qs, 1.0, 1e-6)
    assert (
        z.mode == "zcdp" and math.isclose(z.total_rho, rho_for(1.0, 1e-6)) and z.per_measurement == z.rho / 5
    )
    with pytest.raises(PrivacyError):
        _ = pure.total_rho


@pytest.mark.parametrize(
    "eps, delta, says", [(0, 0, "epsilon="), (-1, 0, "epsilon="), ("x", 0, "epsilon="), (1, 1, "delta=")]
)
def test_bad_budgets_name_the_parameter(eps, delta, says):
    with pytest.raises(UsageError, match=says):
        plan_stats(["count"], eps, delta)


def test_no_query_is_refused_naming_the_parameter():
    with pytest.raises(UsageError, match="queries="):
        plan_stats([], 1.0, 0.0)


@pytest.mark.parametrize(
    "query, error, says",
    [
        ("counts:nope", SchemaError, "no column 'nope'"),
        ("sum:note", UsageError, "free text"),
        ("mean:sex", UsageError, "not a number"),
        ("mean:bare", PrivacyError, "no public bounds"),
        ("counts:zip", PrivacyError, "trust_domains=True"),
    ],
)
def test_columns_are_checked_against_the_schema(query, error, says):
    with pytest.raises(error, match=says):
        check_columns([parse_query(query)], _schema(), False)


def test_a_data_read_domain_is_refused_before_its_size_is_judged():
    # the size of a domain read from the data is a fact about the data: the refusal must not depend on it
    with pytest.raises(PrivacyError, match="read from the data"):
        check_columns([parse_query("counts:wide")], _schema(), False)
    with pytest.raises(UsageError, match="too many categories"):
        check_columns([parse_query("counts:wide")], _schema(), True)


def test_trusted_columns_are_listed_once():
    qs = [parse_query("counts:zip"), parse_query("counts:zip,sex")]
    assert check_columns(qs, _schema(), True) == ["zip"]


def test_the_noise_plan_is_public():
    plan = plan_stats(["count", "sum:age", "mean:age", "median:age"], 1.0, 0.0)
    out = [
        noise_plan(parse_query(q), _schema(), plan) for q in ("count", "sum:age", "mean:age", "median:age")
    ]
    assert [o["mechanism"] for o in out[:2]] == ["discrete_laplace", "discrete_laplace"]
    assert out[1]["scale"] == pytest.approx(100 * out[0]["scale"])
    assert "count_scale" in out[2] and "epsilon_per_level" in out[3]
