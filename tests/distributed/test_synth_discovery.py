"""DP domain discovery on a cluster (issue 18): the workers count each discovered column's exact aggregates (the
observed values and their counts, the public grid's cells, the precision histogram, the missing values), the
parts are added exactly in a tree, and the client runs the in-process discovery on the sums. With the same seed
and ledger state, the discovered domains, the release and the ledger entry equal the in-process ones."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonlab.errors import UsageError
from anonlab.privacy.ledger import Ledger
from anonlab.privacy.noise import NoiseSource
from anonlab.schema import infer_schema
from anonlab.synth import AIM, MST, Budget
from anonlab.synth.domains import (
    DomainCounts,
    TooManyKeys,
    add_domain_counts,
    discover_domains,
    domain_counts,
    dropped_missing,
    kept_rows,
    plan_domains,
    release_domains,
)

warnings.filterwarnings("ignore", category=Warning, module="anonlab")

_COLS = ["age", "workclass", "education", "sex", "hours-per-week", "native-country", "income-per-year"]


@pytest.fixture(scope="module")
def table(adult):
    """3,000 Adult rows, a float column with 2 decimals and a date column (both with missing values), missing
    categories: every kind of discovered column."""
    rng = np.random.default_rng(0)
    df = adult.iloc[:3000][_COLS].copy().reset_index(drop=True)
    df["w"] = np.round(rng.normal(3, 1, len(df)), 2)
    df.loc[::17, "w"] = np.nan
    df["seen"] = pd.Timestamp("2001-01-01") + pd.to_timedelta(rng.integers(0, 3000, len(df)), unit="D")
    df.loc[[5, 1234], "seen"] = pd.NaT  # too few for the "missing" key to be kept: their records are left out
    df.loc[::23, "workclass"] = np.nan
    return df


@pytest.fixture(scope="module")
def schema(table):
    sch = infer_schema(table)
    assert all(c.from_data for c in sch) and {c.type for c in sch} >= {
        "categorical",
        "integer",
        "float",
        "date",
    }
    return sch


def _split(df, parts):
    import dask.dataframe as dd

    return dd.from_pandas(df, npartitions=parts, sort=False)


def _same_counts(a: DomainCounts, b: DomainCounts) -> None:
    assert a.columns.keys() == b.columns.keys()
    for name, x in a.columns.items():
        y = b.columns[name]
        assert x.keys() == y.keys()
        for k in x:
            assert np.array_equal(np.asarray(x[k]), np.asarray(y[k])), (name, k)


@pytest.fixture(scope="module")
def coerced(table, schema):
    """The discovery's plan, the table coerced to its provisional schema, and the whole table's aggregates."""
    from anonlab.privacy.stats import coerce_private

    plan = plan_domains(schema, Budget(1.0, 1e-6), zcdp=True)
    frame = coerce_private(table, plan.provisional, "t")
    return plan, frame, domain_counts(frame, plan.provisional, plan)


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(0, 3000), max_size=5))
def test_the_parts_add_up_to_the_whole(coerced, cuts):
    """The aggregates of any split of the rows, added, are the whole table's."""
    plan, frame, whole = coerced
    edges = [0, *sorted(cuts), len(frame)]
    parts = [
        domain_counts(frame.iloc[a:b], plan.provisional, plan) for a, b in zip(edges, edges[1:], strict=False)
    ]
    total = parts[0]
    for p in parts[1:]:
        total = add_domain_counts(total, p)
    _same_counts(total, whole)


def test_one_release_from_rows_or_aggregates(coerced):
    """discover_domains on the rows is release_domains on their aggregates (the same noise, the same domains),
    and leaves out the records of the columns whose "missing" key was not kept."""
    plan, frame, whole = coerced
    noise = NoiseSource(5).fork("domains")
    found, released, keep = discover_domains(frame, plan.provisional, plan, noise)
    assert release_domains(whole, plan.provisional, plan, noise) == (found, released)
    assert discover_domains(whole, plan.provisional, plan, noise)[:2] == (found, released)
    assert not released["seen"]["missing"] and "seen" in dropped_missing(released)
    assert np.array_equal(keep, kept_rows(frame, dropped_missing(released)))
    assert (~keep).sum() >= 2


def test_too_many_values_are_named(coerced):
    plan, frame, _ = coerced
    a, b = (domain_counts(f, plan.provisional, plan) for f in (frame.iloc[:1500], frame.iloc[1500:]))
    with pytest.raises(TooManyKeys) as err:
        add_domain_counts(a, b, max_keys=10)
    assert err.value.columns == ("education", "native-country")


def _fit_both(cluster, table, schema, tmp_path, cls, parts=3, **kw):
    from anonlab.distributed.marginals import fit_synthesizer

    leds = [Ledger.create(tmp_path / f"{cls.__name__}{s}.jsonl", epsilon=5, delta=1e-5) for s in "ab"]
    a = cls(**kw).fit(table, schema, ledger=leds[0])
    b = fit_synthesizer(cls(**kw), _split(table, parts), schema, ledger=leds[1], scheduler=cluster)
    assert a.domain_plan_ is not None and a.domain_plan_ == b.domain_plan_
    assert a.discovered_domains_ == b.discovered_domains_
    assert a.encoding_ == b.encoding_
    assert a.summary() == b.summary() and a.privacy_ == b.privacy_
    assert a.outside_domain_ == b.outside_domain_
    assert a.sample(300, seed=1).equals(b.sample(300, seed=1))
    ea, eb = (Ledger.open(x.path).entries for x in leds)
    assert len(ea) == len(eb) == 1 and ea[0].dataset == eb[0].dataset
    assert ea[0].details == eb[0].details and ea[0].charged_cost == eb[0].charged_cost
    return a, b


def test_mst_discovers_on_a_cluster_as_in_process(cluster, table, schema, tmp_path):
    a, _ = _fit_both(cluster, table, schema, tmp_path, MST, epsilon=1.0, delta=1e-6, seed=4, iters=20)
    found = a.discovered_domains_
    assert found["w"]["decimals"] == 2 and "bounds" in found["seen"] and "categories" in found["workclass"]
    # a column whose "missing" key is not kept leaves its records with a missing value out, on the cluster too
    assert not found["seen"]["missing"]


@pytest.mark.slow
def test_aim_discovers_on_a_cluster_as_in_process(cluster, table, tmp_path):
    df = table.drop(columns=["seen"])
    _fit_both(cluster, df, infer_schema(df), tmp_path, AIM, parts=4, epsilon=2.0, delta=1e-6, seed=5, rounds=10,
              iters=20, round_iters=10)  # fmt: skip


def _refused_alike(cluster, df, sch, tmp_path, match: str) -> str:
    """An MST fit of ``df`` refused by the encoding in-process and on the cluster (its first pass), with the same
    message matching ``match`` and nothing charged to either ledger; returns the message."""
    from anonlab.distributed.marginals import fit_synthesizer
    from anonlab.errors import InputError

    leds = [Ledger.create(tmp_path / f"{s}.jsonl", epsilon=5, delta=1e-5) for s in "ab"]
    kw = dict(epsilon=1.0, delta=1e-6, missing=False)
    with pytest.raises(InputError, match=match) as a:
        MST(**kw).fit(df, sch, ledger=leds[0])
    with pytest.raises(InputError) as b:
        fit_synthesizer(MST(**kw), _split(df, 3), sch, ledger=leds[1], scheduler=cluster)
    assert str(a.value) == str(b.value)
    assert all(Ledger.open(x.path).entries == [] for x in leds)
    return str(b.value)


@pytest.mark.parametrize("discover", [True, False])
def test_the_encodings_refusals_come_before_the_charge(cluster, table, schema, tmp_path, discover):
    """missing=False (no value is missing) on a table with missing values: refused by the encoding before the
    charge in-process, and so on a cluster (the first pass runs the same checks), naming the same column."""
    import dataclasses

    from anonlab.schema import Schema

    sch = schema if discover else Schema(tuple(dataclasses.replace(c, from_data=False) for c in schema))
    _refused_alike(cluster, table, sch, tmp_path, "column 'workclass' holds a missing value")


def test_too_many_values_are_refused_before_the_charge(cluster, table, schema, tmp_path, monkeypatch):
    """Every observed value of a discovered category travels to the client: past MAX_KEYS the cluster fit is
    refused naming the column, before anything is charged (in-process, which holds the column already, has no
    such bound)."""
    import anonlab.synth.domains as domains
    from anonlab.distributed.marginals import fit_synthesizer

    monkeypatch.setattr(domains, "MAX_KEYS", 20)
    led = Ledger.create(tmp_path / "l.jsonl", epsilon=5, delta=1e-5)
    with pytest.raises(
        UsageError, match=r"column 'native-country' holds more than 20 distinct values"
    ) as err:
        fit_synthesizer(MST(epsilon=1.0, delta=1e-6), _split(table, 3), schema, ledger=led, scheduler=cluster)
    assert "United-States" not in str(err.value)
    assert Ledger.open(led.path).entries == []


def test_an_uncodable_category_is_refused_before_the_charge(cluster, table, schema, tmp_path):
    """A category the public schema does not list, in a column without a missing code or an `other` label:
    refused by the encoding in-process, and in the cluster's first pass, naming the same column."""
    import dataclasses

    from anonlab.schema import Schema

    sch = Schema(tuple(dataclasses.replace(c, from_data=False) for c in schema))
    df = table.dropna().reset_index(drop=True)
    df.loc[len(df) - 3, "sex"] = "Unlisted"  # in the last partition only
    message = _refused_alike(
        cluster, df, sch, tmp_path, "column 'sex' holds a value outside the schema's categories"
    )
    assert "Unlisted" not in message
