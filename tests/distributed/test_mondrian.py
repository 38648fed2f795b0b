"""anonlab.distributed.anonymize: Mondrian on a cluster keeps k, l and t on the whole output (checked here
independently, class by class), releases every row once, and equals the in-process Mondrian when no top cut is
needed."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from anonlab.deid import anonymize as anonymize_in_process  # noqa: E402
from anonlab.distributed import anonymize  # noqa: E402
from anonlab.errors import OutputExistsError, UsageError  # noqa: E402

QUASI = ["age", "sex", "race", "marital-status", "education"]


def _split(df, parts=4):
    import dask.dataframe as dd

    return dd.from_pandas(df, npartitions=parts, sort=False)


def _emd_equal(p, q):
    return 0.5 * float(np.abs(p - q).sum())


def _emd_ordered(p, q):
    m = len(p)
    return float(np.abs(np.cumsum(p - q)).sum()) / max(m - 1, 1)


def _codes(values, code):
    return values.map(lambda v: len(code) if pd.isna(v) else code[v]).to_numpy(dtype=np.int64)


def _text(df):
    return df.apply(lambda c: c.map(lambda v: "NA" if pd.isna(v) else str(v)))


def _independent(out: pd.DataFrame, src: pd.DataFrame, quasi, sensitive, k, l=None, t=None):  # noqa: E741
    """k, distinct l and t of ``out``, counted here from its rows (classes: equal released quasi-identifiers),
    without anonlab's code; and every input row released once (the other columns as a multiset)."""
    assert list(out.columns) == list(src.columns)
    assert len(out) == len(src)
    rest = [c for c in src.columns if c not in quasi]
    a = _text(src[rest]).sort_values(rest, ignore_index=True)
    b = _text(out[rest]).sort_values(rest, ignore_index=True)
    assert a.equals(b)
    groups = out.groupby(quasi, dropna=False, sort=False)
    assert groups.size().min() >= k
    for s in sensitive:
        numeric = pd.api.types.is_numeric_dtype(src[s])
        # a missing value is one more value (the last), as anonlab counts it
        code = {v: i for i, v in enumerate(sorted(src[s].dropna().unique()))}
        m = len(code) + int(src[s].isna().any())
        whole = np.bincount(_codes(src[s], code), minlength=m) / len(src)
        for _, g in out.groupby(quasi, dropna=False, sort=False)[s]:
            if l is not None:
                assert g.nunique() >= l
            if t is not None:
                p = np.bincount(_codes(g, code), minlength=m) / len(g)
                dist = _emd_ordered(p, whole) if numeric else _emd_equal(p, whole)
                assert dist <= t + 1e-9


@pytest.mark.parametrize(
    "params",
    [
        {"k": 10},
        {"k": 5, "l": 2, "sensitive": ["income-per-year"]},
        {"k": 5, "t": 0.3, "sensitive": ["occupation"]},
        pytest.param(
            {"k": 8, "l": 1.5, "l_kind": "entropy", "sensitive": ["income-per-year", "hours-per-week"]},
            marks=pytest.mark.slow,
        ),
        pytest.param({"k": 10, "strict": True}, marks=pytest.mark.slow),
    ],
)
def test_guarantees_hold_on_the_whole_output(cluster, adult, tmp_path, params):
    src = adult.head(12_000)
    report = anonymize(_split(src), tmp_path / "out.parquet", quasi=QUASI, partition_rows=2500,
                       scheduler=cluster, **params)  # fmt: skip
    out = pd.read_parquet(tmp_path / "out.parquet")
    sens = params.get("sensitive", [])
    l_distinct = params.get("l") if params.get("l_kind", "distinct") == "distinct" else None
    _independent(out, src, QUASI, sens, params["k"], l_distinct, params.get("t"))
    assert report.search["regions"] > 4
    if "sensitive" not in params:  # l and t may forbid a cut: then a region stays larger
        assert report.search["largest_region"] <= 2500
    assert report.k >= params["k"] and report.n_released == len(src) == report.n_input
    checked = report.search["checked"]
    assert checked["k"] >= params["k"] and checked["rows"] == len(src)
    if "l" in params and params.get("l_kind") == "entropy":
        assert all(report.sensitive[s]["l_entropy"] >= params["l"] for s in sens)
    if "t" in params:
        assert report.sensitive["occupation"]["t"] <= params["t"] + 1e-9
    parts = sorted(os.listdir(tmp_path / "out.parquet"))  # one part per input partition, rows in input order
    assert parts == [f"part.{i:05d}.parquet" for i in range(4)]
    rest = [c for c in src.columns if c not in QUASI]
    pd.testing.assert_frame_equal(out[rest], src[rest].reset_index(drop=True), check_dtype=False)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no staging left


@pytest.mark.parametrize("strict", [False, True])
def test_one_region_is_the_in_process_mondrian(cluster, adult, tmp_path, strict):
    df = adult.head(6000)
    want, report = anonymize_in_process(
        df, quasi=QUASI, k=7, l=2, sensitive=["income-per-year"], strict=strict
    )
    got = anonymize(_split(df, 3), tmp_path / "o.parquet", quasi=QUASI, k=7, l=2, sensitive=["income-per-year"],
                    strict=strict, scheduler=cluster)  # fmt: skip
    out = pd.read_parquet(tmp_path / "o.parquet")
    assert got.search["regions"] == 1
    pd.testing.assert_frame_equal(out, want, check_dtype=False)
    assert (got.k, got.n_classes, got.sensitive) == (report.k, report.n_classes, report.sensitive)
    assert got.loss.gcp == pytest.approx(report.loss.gcp, rel=1e-12)
    assert got.generalisation == report.generalisation


def test_hierarchy_orders_and_missing_values(cluster, adult, tmp_path):
    h = tmp_path / "marital.csv"
    h.write_text(
        "Married-civ-spouse;Married;*\nMarried-AF-spouse;Married;*\nMarried-spouse-absent;Married;*\n"
        "Never-married;Single;*\nDivorced;Single;*\nSeparated;Single;*\nWidowed;Single;*\n"
    )
    df = adult.head(12_000).copy()
    df.loc[::17, "age"] = None  # a numeric quasi-identifier with missing values
    df.loc[::13, "race"] = None
    order = sorted(adult["education"].unique(), reverse=True)
    quasi = ["age", "marital-status", "race", "education"]
    report = anonymize(_split(df), tmp_path / "o.parquet", quasi=quasi, k=20, l=2, sensitive=["income-per-year"],
                       hierarchies={"marital-status": h}, orders={"education": order}, partition_rows=2000,
                       scheduler=cluster)  # fmt: skip
    out = pd.read_parquet(tmp_path / "o.parquet")
    assert report.search["regions"] > 4
    _independent(out, df, quasi, ["income-per-year"], 20, 2)
    assert set(out["marital-status"]) <= set(adult["marital-status"]) | {"Married", "Single", "*"}


def test_refusals_name_the_parameter(cluster, adult, tmp_path):
    ddf = _split(adult)
    with pytest.raises(UsageError, match="method='global' does not run on a cluster.*method='mondrian'"):
        anonymize(ddf, tmp_path / "o.parquet", quasi=QUASI, k=5, method="global", scheduler=cluster)
    with pytest.raises(UsageError, match="max_suppression="):
        anonymize(ddf, tmp_path / "o.parquet", quasi=QUASI, k=5, max_suppression=0.1, scheduler=cluster)
    with pytest.raises(UsageError, match="takes no parameter loss="):
        anonymize(ddf, tmp_path / "o.parquet", quasi=QUASI, k=5, loss="gcp", scheduler=cluster)
    with pytest.raises(UsageError, match="k=40000 is larger than the table"):
        anonymize(ddf, tmp_path / "o.parquet", quasi=QUASI, k=40_000, scheduler=cluster)
    with pytest.raises(UsageError, match="do not, all together, meet"):
        anonymize(ddf, tmp_path / "o.parquet", quasi=QUASI, k=5, l=3, sensitive=["income-per-year"],
                  scheduler=cluster)  # fmt: skip
    assert not os.path.exists(tmp_path / "o.parquet")
    (tmp_path / "o.parquet").mkdir()
    with pytest.raises(OutputExistsError):
        anonymize(ddf, tmp_path / "o.parquet", quasi=QUASI, k=5, scheduler=cluster)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_cli(cluster, cli, adult, tmp_path):
    from anonlab.io import write_table

    write_table(adult, tmp_path / "a.csv")
    args = ["anonymize", tmp_path / "a.csv", "--quasi", "age,sex,race", "--sensitive", "income-per-year",
            "--k", "10", "--l", "2"]  # fmt: skip
    code, out, err = cli(*args, "-o", tmp_path / "o.parquet", "--scheduler", cluster.scheduler.address,
                         "--param", "partition_rows=9000", "--json")  # fmt: skip
    assert code == 0, err
    import json

    report = json.loads(out)
    assert report["achieved"]["k"] >= 10 and report["records"]["input"] == len(adult)
    released = pd.read_parquet(tmp_path / "o.parquet")
    assert released.groupby(["age", "sex", "race"]).size().min() >= 10
    code, _, err = cli(*args, "-o", tmp_path / "g.parquet", "--method", "global", "--scheduler", "local:2")
    assert code == 2 and "--scheduler supports --method mondrian" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("mixed", [False, True])
def test_codes_of_every_kind_of_column_are_the_in_process_ones(cluster, tmp_path, mixed):
    """The values are encoded once per partition (each distinct value looked up once): numbers with missing values,
    categories, dates with missing values and text give the in-process release, row for row; so does a partition
    with an object column mixing numbers and text (encoded value by value)."""
    rng = np.random.default_rng(3)
    n = 3000
    df = pd.DataFrame(
        {
            "age": pd.array(rng.integers(20, 70, n), dtype="Int64"),
            "sex": pd.Categorical(rng.choice(["F", "M"], n)),
            "visit": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
            "code": rng.choice(
                np.array([1, "1", 2.5, "b", None] if mixed else ["a", "b", None], dtype=object), n
            ),
            "income": rng.choice(["<=50K", ">50K"], n),
        }
    )
    df.loc[::11, "age"] = pd.NA
    df.loc[::7, "visit"] = pd.NaT
    quasi = ["age", "sex", "visit", "code"]
    want, report = anonymize_in_process(df, quasi=quasi, k=4, l=2, sensitive=["income"])
    got = anonymize(_split(df, 3), tmp_path / "o.parquet", quasi=quasi, k=4, l=2, sensitive=["income"],
                    scheduler=cluster)  # fmt: skip
    out = pd.read_parquet(tmp_path / "o.parquet")
    assert got.search["regions"] == 1
    pd.testing.assert_frame_equal(out[quasi], want[quasi].astype(object), check_dtype=False)
    assert (got.n_classes, got.loss.gcp) == (report.n_classes, pytest.approx(report.loss.gcp, rel=1e-12))
