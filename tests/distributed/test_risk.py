"""anonlab.distributed.assess gives the in-process report exactly (tests/deid/test_risk.py covers the figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from anonlab.deid.risk import assess  # noqa: E402
from anonlab.distributed import assess as assess_on_cluster  # noqa: E402
from anonlab.distributed import read_table  # noqa: E402


def _split(df, parts=5):
    import dask.dataframe as dd

    return dd.from_pandas(df, npartitions=parts, sort=False)


@pytest.mark.parametrize(
    "quasi,sensitive,pi",
    [
        (["age", "sex", "race"], ["income-per-year", "hours-per-week"], None),
        (
            ["age", "sex", "race", "marital-status", "education", "native-country"],
            ["occupation", "capital-gain"],
            0.1,
        ),
        (["workclass", "sex"], ["education-num"], 0.5),
    ],
)
def test_equal_to_in_process_on_adult(cluster, adult, quasi, sensitive, pi):
    want = assess(adult, quasi, sensitive, sampling_fraction=pi).to_dict()
    got = assess_on_cluster(
        _split(adult), quasi, sensitive, sampling_fraction=pi, scheduler=cluster
    ).to_dict()
    assert got == want


def _awkward(rows=3000, seed=1):
    """Missing values, codes with leading zeros, mixed objects, NULs, categories, floats written two ways."""
    rng = np.random.default_rng(seed)
    zips = np.array(["02140", "2140", "10001", None], dtype=object)[rng.integers(0, 4, rows)]
    mixed = np.array([1, "1", "a", None, 2.5], dtype=object)[rng.integers(0, 5, rows)]
    nul = np.array(["a\0b", "a\0c", "a\\0b", "ab"], dtype=object)[rng.integers(0, 4, rows)]
    cat = pd.Categorical(rng.choice(["x", "y", "z"], rows), categories=["z", "y", "x", "w"])
    score = rng.choice([1.0, 2.5, np.nan, -0.0, 0.0], rows)
    sens = np.array(["s\0t", "s\0u", "v", None], dtype=object)[rng.integers(0, 4, rows)]
    return pd.DataFrame({"zip": zips, "mixed": mixed, "nul": nul, "cat": cat, "score": score, "sens": sens,
                         "age": rng.integers(20, 30, rows)})  # fmt: skip


@pytest.mark.parametrize("quasi", [["zip", "mixed"], ["nul", "cat"], ["score", "zip", "age"], ["nul"]])
def test_equal_on_awkward_values(cluster, quasi):
    df = _awkward()
    for sensitive in ([], ["sens"], ["age"] if "age" not in quasi else ["zip"] if "zip" not in quasi else []):
        want = assess(df, quasi, sensitive, sampling_fraction=0.3).to_dict()
        got = assess_on_cluster(_split(df, 4), quasi, sensitive, sampling_fraction=0.3, scheduler=cluster)
        assert got.to_dict() == want, (quasi, sensitive)


def test_nul_values_are_not_merged(cluster):
    df = pd.DataFrame({"q": ["a\0b", "a\0c"] * 3})
    assert assess_on_cluster(_split(df, 2), ["q"], scheduler=cluster).classes == 2


def test_from_csv_and_parquet_files(cluster, tmp_path, adult):
    from anonlab.io import read_table as read_in_process
    from anonlab.io import write_table

    df = adult.copy()
    df["zip"] = [f"{i % 997:05d}" for i in range(len(df))]  # codes that must stay text
    df.loc[::11, "hours-per-week"] = None
    write_table(df, tmp_path / "t.csv")
    quasi, sensitive = ["age", "zip", "sex"], ["hours-per-week", "income-per-year"]
    want = assess(read_in_process(tmp_path / "t.csv"), quasi, sensitive, sampling_fraction=0.2).to_dict()
    ddf = read_table(tmp_path / "t.csv", blocksize=200_000)
    assert ddf.npartitions > 3
    got = assess_on_cluster(ddf, quasi, sensitive, sampling_fraction=0.2, scheduler=cluster).to_dict()
    assert got == want
    ddf.to_parquet(tmp_path / "t.parquet", write_index=False)  # a folder of parts
    got = assess_on_cluster(
        str(tmp_path / "t.parquet"), quasi, sensitive, sampling_fraction=0.2, scheduler=cluster
    )
    assert got.to_dict() == want


def test_parquet_text_read_as_categories_and_uneven_partitions(cluster, tmp_path):
    """Parquet text columns come to the counting as categories (decoded once per distinct value): NULs and
    backslashes, missing values, a column missing throughout one part, empty parts, and categories of one part
    that the others lack all count as in-process."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = _awkward(2400).drop(columns=["mixed", "cat"])
    df.loc[:599, "zip"] = None  # all missing in the first part
    folder = tmp_path / "t.parquet"
    folder.mkdir()
    for i, lo in enumerate([0, 600, 600, 1500, 2400]):  # the second and last parts are empty
        hi = [600, 600, 1500, 2400, 2400][i]
        part = pa.Table.from_pandas(
            df.iloc[lo:hi], preserve_index=False, schema=pa.Schema.from_pandas(df, preserve_index=False)
        )
        pq.write_table(part, folder / f"part.{i}.parquet")
    for quasi, sensitive in ((["zip", "nul"], ["sens", "score"]), (["nul", "age"], ["zip"]), (["score"], [])):
        want = assess(df, quasi, sensitive, sampling_fraction=0.4).to_dict()
        got = assess_on_cluster(str(folder), quasi, sensitive, sampling_fraction=0.4, scheduler=cluster)
        assert got.to_dict() == want, (quasi, sensitive)


def test_bad_arguments_name_the_parameter(cluster, adult):
    from anonlab.errors import InputError, UsageError

    with pytest.raises(InputError, match="quasi= names column 'nope'"):
        assess_on_cluster(_split(adult), ["nope"], scheduler=cluster)
    with pytest.raises(UsageError, match="sampling_fraction=2"):
        assess_on_cluster(_split(adult), ["age"], sampling_fraction=2, scheduler=cluster)
    with pytest.raises(UsageError, match="in both quasi= and sensitive="):
        assess_on_cluster(_split(adult), ["age"], ["age"], scheduler=cluster)


def test_cli_joins_a_cluster_by_address(cluster, cli, tmp_path, adult, monkeypatch):
    from anonlab.io import write_table

    write_table(adult, tmp_path / "a.csv")
    args = [
        "assess",
        tmp_path / "a.csv",
        "--quasi",
        "age,sex,race",
        "--sensitive",
        "income-per-year",
        "--json",
    ]
    code, want, _ = cli(*args)
    assert code == 0
    code, got, err = cli(*args, "--scheduler", cluster.scheduler.address)
    assert code == 0, err
    assert got == want
    monkeypatch.setenv("ANONLAB_SCHEDULER", cluster.scheduler.address)  # read when the parser is built
    code, got, err = cli(*args)
    assert (code, got) == (0, want), err
    code, _, err = cli(*args, "--scheduler", "banana")
    assert code == 2 and "--scheduler banana" in err and "Traceback" not in err
