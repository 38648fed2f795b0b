"""anonlab.distributed.pseudonymize writes the in-process release exactly, as a staged folder of Parquet parts."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from anonlab.deid import generate_key, pseudonym_mapping, pseudonymize  # noqa: E402
from anonlab.distributed import pseudonymize as pseudonymize_on_cluster  # noqa: E402
from anonlab.distributed import read_table  # noqa: E402
from anonlab.io import read_table as read_in_process  # noqa: E402
from anonlab.io import write_table  # noqa: E402

TEXT = ["pid", "visit", "name"]


def _table(rows=4000, seed=0):
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")
    visit = np.where(rng.random(rows) < 0.5, day.strftime("%Y-%m-%d"), day.strftime("%Y-%m-%dT%H:%M"))
    df = pd.DataFrame(
        {
            "pid": [f"{i:06d}" for i in rng.integers(0, 1500, rows)],  # leading zeros: text
            "visit": visit,
            "name": rng.choice(["Ann", "Bo"], rows),
            "age": rng.integers(18, 90, rows),
            "score": rng.choice(["1.5", "2", ""], rows),
        }
    )
    df.loc[::9, "visit"] = ""
    return df


def _in_process(path, key, tmp_path, **kw):
    df = read_in_process(path, text_columns=TEXT)
    out, report = pseudonymize(df, key=key, ids=["pid"], drop=["name"], dates=["visit"], by="pid", **kw)
    write_table(out, tmp_path / "want.parquet")
    return pd.read_parquet(tmp_path / "want.parquet"), report, df


def test_rows_report_and_mapping_equal_in_process(cluster, tmp_path):
    key = generate_key()
    _table().to_csv(tmp_path / "in.csv", index=False)
    want, report, df = _in_process(tmp_path / "in.csv", key, tmp_path)
    ddf = read_table(tmp_path / "in.csv", text_columns=[*TEXT], blocksize=20_000)
    assert ddf.npartitions >= 2
    got = pseudonymize_on_cluster(
        ddf, tmp_path / "out.parquet", key=key, ids=["pid"], drop=["name"], dates=["visit"], by="pid",
        mapping=tmp_path / "secret" / "map.csv", scheduler=cluster,
    )  # fmt: skip
    parts = sorted(os.listdir(tmp_path / "out.parquet"))
    assert len(parts) == ddf.npartitions and all(p.startswith("part.") for p in parts)
    assert pd.read_parquet(tmp_path / "out.parquet").equals(want)
    assert got.to_dict() == report.to_dict()
    mapping = read_in_process(tmp_path / "secret" / "map.csv", text_columns=["original", "pseudonym"])
    expected = pseudonym_mapping(df, key=key, ids=["pid"])
    key_cols = ["column", "original"]
    assert mapping.sort_values(key_cols, ignore_index=True).equals(
        expected.astype(object).sort_values(key_cols, ignore_index=True)
    )
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no staging left


def test_date_format_guessed_over_the_whole_column(cluster, tmp_path):
    key = generate_key()
    df = _table(600)
    df["visit"] = pd.to_datetime(df["visit"].replace("", None), format="ISO8601").dt.strftime("%d %b %Y")
    df.to_csv(tmp_path / "in.csv", index=False)
    want, _, _ = _in_process(tmp_path / "in.csv", key, tmp_path)
    pseudonymize_on_cluster(
        read_table(tmp_path / "in.csv", text_columns=TEXT, blocksize=8_000), tmp_path / "out.parquet",
        key=key, ids=["pid"], drop=["name"], dates=["visit"], by="pid", scheduler=cluster,
    )  # fmt: skip
    assert pd.read_parquet(tmp_path / "out.parquet").equals(want)


def test_ambiguous_dates_refused_as_in_process(cluster, tmp_path):
    from anonlab.errors import InputError

    df = _table(300)
    df.loc[250, "visit"] = "01/02/2020"  # in a late partition only
    df.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(InputError, match="ambiguous"):
        pseudonymize_on_cluster(
            read_table(tmp_path / "in.csv", text_columns=TEXT, blocksize=4_000), tmp_path / "out.parquet",
            key=generate_key(), ids=["pid"], dates=["visit"], by="pid", scheduler=cluster,
        )  # fmt: skip
    assert not os.path.exists(tmp_path / "out.parquet")


def test_a_failing_partition_leaves_no_output_and_never_the_key(cluster, tmp_path, capfd, caplog):
    from anonlab.errors import InputError

    key = generate_key()
    df = _table(2000)
    df.loc[1900, "pid"] = ""  # no subject to shift the dates of, in the last partition
    df.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(InputError, match="partition .*no subject identifier"):
        pseudonymize_on_cluster(
            read_table(tmp_path / "in.csv", text_columns=TEXT, blocksize=20_000), tmp_path / "out.parquet",
            key=key, ids=["pid"], dates=["visit"], by="pid", scheduler=cluster,
        )  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]  # no output folder, no staging folder
    logged = capfd.readouterr()
    text = logged.out + logged.err + caplog.text
    for secret in (key.material, key.derive("pseudonym"), key.derive("date-shift")):
        assert secret.hex() not in text and repr(secret) not in text


def test_outputs_never_overwritten_without_force(cluster, tmp_path):
    from anonlab.errors import OutputError, OutputExistsError, UsageError

    key = generate_key()
    ddf = read_table(_write(tmp_path), text_columns=TEXT)
    run = lambda out, **kw: pseudonymize_on_cluster(ddf, out, key=key, ids=["pid"], scheduler=cluster, **kw)  # noqa: E731
    run(tmp_path / "out.parquet")
    with pytest.raises(OutputExistsError):
        run(tmp_path / "out.parquet")
    run(tmp_path / "out.parquet", force=True)  # a folder of parts is replaced whole
    (tmp_path / "mine.parquet").mkdir()
    (tmp_path / "mine.parquet" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a folder of Parquet parts"):
        run(tmp_path / "mine.parquet", force=True)
    assert (tmp_path / "mine.parquet" / "notes.txt").read_text() == "mine"
    with pytest.raises(UsageError, match="ending .parquet"):
        run(tmp_path / "out.csv")


def _write(tmp_path):
    _table(500).to_csv(tmp_path / "in.csv", index=False)
    return tmp_path / "in.csv"


def test_stale_staging_of_a_killed_run_is_removed(cluster, tmp_path):
    stale = tmp_path / ".out.parquet.999999999.abcd1234.tmp"
    stale.mkdir()
    (stale / "part.00000.parquet").write_bytes(b"half")
    pseudonymize_on_cluster(
        read_table(_write(tmp_path), text_columns=TEXT), tmp_path / "out.parquet", key=generate_key(),
        ids=["pid"], scheduler=cluster,
    )  # fmt: skip
    assert not stale.exists()


def test_cli_writes_the_same_rows(cluster, cli, tmp_path, key_file):
    src = _write(tmp_path)
    args = [
        "pseudonymize",
        src,
        "--key-file",
        key_file,
        "--id",
        "pid",
        "--drop",
        "name",
        "--shift-dates",
        "visit",
    ]
    args += ["--by", "pid", "--json"]
    code, _, err = cli(*args, "-o", tmp_path / "want.parquet")
    assert code == 0, err
    code, out, err = cli(*args, "-o", tmp_path / "got.parquet", "--scheduler", cluster.scheduler.address)
    assert code == 0, err
    assert '"rows": 500' in out
    assert pd.read_parquet(tmp_path / "got.parquet").equals(pd.read_parquet(tmp_path / "want.parquet"))
    code, _, err = cli(*args, "-o", tmp_path / "got.csv", "--scheduler", cluster.scheduler.address)
    assert code == 2 and "ending .parquet" in err


def test_parquet_input_nul_identifiers_and_distinct_count(cluster, tmp_path):
    """From a Parquet file (the date formats read from the date column alone), identifiers that differ only
    after a NUL keep their own pseudonyms, and the distinct identifiers (counted in the writing pass, per
    partition then united) equal the in-process count."""
    import dask.dataframe as dd

    key = generate_key()
    df = _table(3000).drop(columns=["score"]).replace({"visit": {"": None}})
    df.loc[::7, "pid"] = np.where(np.arange(len(df))[::7] % 2, "x\0a", "x\0b")
    df.loc[::13, "name"] = None
    (tmp_path / "in.parquet").mkdir()
    for i, lo in enumerate(range(0, len(df), 1000)):  # a folder of three parts
        df.iloc[lo : lo + 1000].to_parquet(tmp_path / "in.parquet" / f"part.{i}.parquet", index=False)
    want, report = pseudonymize(df, key=key, ids=["pid", "name"], dates=["visit"], by="pid")
    got = pseudonymize_on_cluster(
        str(tmp_path / "in.parquet"), tmp_path / "out.parquet", key=key, ids=["pid", "name"], dates=["visit"],
        by="pid", scheduler=cluster,
    )  # fmt: skip
    assert dd.read_parquet(tmp_path / "out.parquet").npartitions == 3
    assert got.to_dict() == report.to_dict()
    write_table(want, tmp_path / "want.parquet")
    assert pd.read_parquet(tmp_path / "out.parquet").equals(pd.read_parquet(tmp_path / "want.parquet"))
