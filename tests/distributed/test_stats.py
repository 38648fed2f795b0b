"""anonlab.distributed.dp_stats: the exact aggregates before noise equal the in-process ones exactly; with the same
seed (and ledger state) the DP answers are identical; the ledger is charged once, as in-process, and nothing is
charged when the data is refused. (tests/privacy/stats covers the mechanisms themselves.)"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from anonlab.distributed import dp_stats as dp_stats_on_cluster  # noqa: E402
from anonlab.distributed.stats import exact_inputs, fingerprint, preview_dp_stats  # noqa: E402
from anonlab.errors import InputError, PrivacyError, UsageError  # noqa: E402
from anonlab.privacy.ledger import Ledger, dataset_fingerprint  # noqa: E402
from anonlab.privacy.stats import dp_stats, parse_query  # noqa: E402
from anonlab.privacy.stats.answers import exact  # noqa: E402

QUERIES = [
    "count",
    "counts:sex,race",
    "counts:age",
    "counts:income-per-year,workclass",
    "sum:age",
    "sum:capital-loss",
    "mean:hours-per-week",
    "mean:capital-gain",
    "quantile:age:0.1,0.5,0.9",
    "median:capital-gain",
    "quantile:hours-per-week:0.25",
]


def _split(df, parts=5):
    import dask.dataframe as dd

    return dd.from_pandas(df, npartitions=parts, sort=False)


def _in_process_exact(df, queries, schema):
    from anonlab.privacy.stats.release import coerce_private

    qs = [parse_query(q) for q in queries]
    used = sorted({c for q in qs for c in q.columns})
    data = coerce_private(df, schema.subset(used), "input") if used else df
    return [exact(q, data, schema) for q in qs]


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


@pytest.fixture(scope="module")
def schema():
    from anonlab.datasets import adult_schema

    return adult_schema()


def test_exact_aggregates_equal_in_process_on_adult(cluster, adult, schema):
    want = _in_process_exact(adult, QUERIES, schema)
    got = exact_inputs(_split(adult, 7), QUERIES, schema=schema, scheduler=cluster)
    assert len(got) == len(want)
    for q, g, w in zip(QUERIES, got, want, strict=True):
        assert _same(g, w), q


def _awkward(rows=2000, seed=3):
    """Missing values, values outside the public domain and bounds, integers written as text, floats."""
    rng = np.random.default_rng(seed)
    age = rng.integers(0, 120, rows).astype(
        object
    )  # bounds [17, 90] in the Adult schema: clamped / out of domain
    age[rng.random(rows) < 0.1] = None
    sex = np.array(["Male", "Female", "Other", None], dtype=object)[rng.integers(0, 4, rows)]
    hours = rng.choice([-5.0, 0.5, 40.0, 99.5, 150.0, np.nan], rows)
    gain = rng.choice(["0", "100000", "5", "", "250000"], rows)  # text, as a CSV holds it; '' is missing
    return pd.DataFrame(
        {
            "age": age,
            "sex": sex,
            "hours-per-week": hours,
            "capital-gain": pd.Series(gain).replace("", None),
            "other": rng.integers(0, 3, rows),
        }
    )


@pytest.fixture(scope="module")
def awkward_schema():
    from anonlab.schema import Column, Schema

    return Schema(
        (
            Column("age", type="integer", lower=17, upper=90),
            Column("sex", type="categorical", categories=("Female", "Male")),
            Column("hours-per-week", type="float", lower=0.0, upper=99.5),
            Column("capital-gain", type="integer", lower=0, upper=99999),
        )
    )


@pytest.mark.parametrize("parts", [1, 3, 8])
def test_exact_aggregates_equal_on_awkward_values(cluster, awkward_schema, parts):
    schema = awkward_schema
    df = _awkward()
    queries = ["count", "counts:age,sex", "sum:age", "mean:hours-per-week", "median:capital-gain",
               "quantile:age:0.3,0.7", "sum:hours-per-week", "mean:capital-gain"]  # fmt: skip
    want = _in_process_exact(df, queries, schema)
    got = exact_inputs(_split(df, parts), queries, schema=schema, scheduler=cluster)
    for q, g, w in zip(queries, got, want, strict=True):
        assert _same(g, w), q


def test_empty_partitions_and_an_empty_table(cluster, awkward_schema):
    schema = awkward_schema
    import dask.dataframe as dd

    df = _awkward(rows=50)
    ddf = dd.concat([_split(df.iloc[:0], 1), _split(df, 2), _split(df.iloc[:0], 1)])
    queries = ["count", "counts:sex", "mean:hours-per-week", "median:capital-gain"]
    got = exact_inputs(ddf, queries, schema=schema, scheduler=cluster)
    for g, w in zip(got, _in_process_exact(df, queries, schema), strict=True):
        assert _same(g, w)
    got = exact_inputs(_split(df.iloc[:0], 1), queries, schema=schema, scheduler=cluster)
    for g, w in zip(got, _in_process_exact(df.iloc[:0], queries, schema), strict=True):
        assert _same(g, w)


def _no_path(d: dict) -> dict:
    """A report's section without the ledger's file name (each side charges a ledger of its own)."""
    return {k: v for k, v in d.items() if k not in ("path", "ledger")}


@pytest.mark.parametrize("delta", [0.0, pytest.param(1e-6, marks=pytest.mark.slow)])
def test_same_seed_same_answers_without_a_ledger(cluster, adult, delta):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = dp_stats(adult, QUERIES, epsilon=1.0, delta=delta, schema="adult", seed=11)
        got = dp_stats_on_cluster(
            _split(adult), QUERIES, epsilon=1.0, delta=delta, schema="adult", seed=11, scheduler=cluster
        )
    assert got.to_dict() == want.to_dict()


def test_same_seed_same_answers_and_the_same_charge_with_a_ledger(cluster, adult, tmp_path):
    a = Ledger.create(tmp_path / "a.jsonl", epsilon=5, delta=1e-5, population="adult")
    b = Ledger.create(tmp_path / "b.jsonl", epsilon=5, delta=1e-5, population="adult")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):  # the second release draws from its own stream (ledger entry 2), on both sides
            want = dp_stats(adult, QUERIES[:5], epsilon=1.0, delta=1e-6, schema="adult", seed=5, ledger=a)
            got = dp_stats_on_cluster(
                _split(adult), QUERIES[:5], epsilon=1.0, delta=1e-6, schema="adult", seed=5, ledger=b,
                scheduler=cluster,
            )  # fmt: skip
            w, g = want.to_dict(), got.to_dict()
            assert g["answers"] == w["answers"]
            assert _no_path(g["privacy"]) == _no_path(w["privacy"])
            assert _no_path(g["ledger"]) == _no_path(w["ledger"])
    ea, eb = Ledger.open(a.path).entries, Ledger.open(b.path).entries
    assert len(ea) == len(eb) == 2
    for x, y in zip(ea, eb, strict=True):
        assert x.dataset == y.dataset == dataset_fingerprint(adult)
        assert x.charged_cost == y.charged_cost


def test_fingerprint_of_csv_and_parquet_parts(cluster, tmp_path, adult):
    from anonlab.distributed import read_table
    from anonlab.io import read_table as read_in_process
    from anonlab.io import write_table

    df = adult.head(8000).copy()
    df["zip"] = [f"{i % 997:05d}" for i in range(len(df))]
    df.loc[::13, "hours-per-week"] = None
    write_table(df, tmp_path / "t.csv")
    in_process = read_in_process(tmp_path / "t.csv")
    want = dataset_fingerprint(in_process)
    ddf = read_table(tmp_path / "t.csv", blocksize=200_000)
    assert ddf.npartitions > 3
    assert fingerprint(ddf, scheduler=cluster) == want
    assert fingerprint(str(tmp_path / "t.csv"), scheduler=cluster) == want
    ddf.to_parquet(tmp_path / "t.parquet", write_index=False)  # a folder of parts
    write_table(in_process, tmp_path / "one.parquet")  # one file, read in-process
    assert fingerprint(str(tmp_path / "t.parquet"), scheduler=cluster) == dataset_fingerprint(
        read_in_process(tmp_path / "one.parquet")
    )


def test_a_bad_value_is_refused_naming_the_column_and_charges_nothing(cluster, tmp_path, awkward_schema):
    schema = awkward_schema
    df = _awkward(rows=400)
    df["age"] = df["age"].astype(object)
    df.loc[390, "age"] = "forty"  # in the last partition only
    df.loc[10, "hours-per-week"] = 1.0
    led = Ledger.create(tmp_path / "l.jsonl", epsilon=5)
    with pytest.raises(InputError) as err:
        dp_stats_on_cluster(
            _split(df, 4), ["mean:hours-per-week", "sum:age"], epsilon=1, schema=schema, ledger=led,
            source="t.csv", scheduler=cluster,
        )  # fmt: skip
    msg = str(err.value)
    assert msg.startswith("t.csv: column 'age'") and "forty" not in msg and "390" not in msg
    with pytest.raises(InputError) as inproc:
        dp_stats(df, ["mean:hours-per-week", "sum:age"], epsilon=1, schema=schema, source="t.csv", ledger=led)
    assert str(inproc.value) == msg
    assert Ledger.open(led.path).entries == []


def test_schema_rules_are_the_in_process_ones(cluster, adult):
    with pytest.raises(PrivacyError, match="need a schema"):
        dp_stats_on_cluster(_split(adult), ["count"], epsilon=1, scheduler=cluster)
    with pytest.raises(UsageError, match="needs a schema"):
        dp_stats_on_cluster(_split(adult), ["count"], epsilon=1, trust_domains=True, scheduler=cluster)
    from anonlab.schema import infer_schema

    inferred = infer_schema(adult.head(200))  # domains read from the data: from_data = true
    with pytest.raises(PrivacyError, match="from_data"):
        dp_stats_on_cluster(_split(adult), ["counts:sex"], epsilon=1, schema=inferred, scheduler=cluster)
    with pytest.raises(UsageError, match="bounds \\[0, 0\\]"):
        from anonlab.schema import Column, Schema

        zero = Schema((Column("age", type="integer", lower=0, upper=0),))
        dp_stats_on_cluster(_split(adult), ["sum:age"], epsilon=1, schema=zero, scheduler=cluster)


def test_preview_checks_the_ledger_and_spends_nothing(cluster, adult, tmp_path):
    from anonlab.privacy.stats import preview_dp_stats as preview_in_process

    led = Ledger.create(tmp_path / "l.jsonl", epsilon=2)
    want = preview_in_process(adult, QUERIES, epsilon=1, schema="adult", ledger=led).to_dict()
    got = preview_dp_stats(_split(adult), QUERIES, epsilon=1, schema="adult", ledger=led, scheduler=cluster)
    assert got.to_dict() == want
    assert Ledger.open(led.path).entries == []


def test_cli_joins_a_cluster_by_address(cluster, cli, tmp_path, adult):
    from anonlab.io import write_table

    write_table(adult, tmp_path / "a.csv")
    Ledger.create(tmp_path / "a.jsonl", epsilon=5, delta=1e-5)
    Ledger.create(tmp_path / "b.jsonl", epsilon=5, delta=1e-5)
    args = ["dp", "stats", tmp_path / "a.csv", "--schema", "adult", "--epsilon", "1", "--delta", "1e-6",
            "--seed", "3", "--json", *[a for q in QUERIES[:6] for a in ("-q", q)]]  # fmt: skip
    code, want, err = cli(*args, "--ledger", tmp_path / "a.jsonl")
    assert code == 0, err
    code, got, err = cli(*args, "--ledger", tmp_path / "b.jsonl", "--scheduler", cluster.scheduler.address)
    assert code == 0, err
    got, want = json.loads(got), json.loads(want)
    assert got["answers"] == want["answers"]
    assert _no_path(got["privacy"]) == _no_path(want["privacy"])
    code, _, err = cli(*args, "--no-ledger", "--scheduler", "banana")
    assert code == 2 and "--scheduler banana" in err and "Traceback" not in err
