"""Reading and writing tables: clear errors for bad files, atomic writes, no silent overwrite."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from anonlab.errors import InputError, OutputExistsError, UsageError
from anonlab.io import atomic_path, read_table, refuse_inside, write_table


def test_round_trip_csv_and_parquet(tmp_path):
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})
    for name in ("t.csv", "t.csv.gz", "t.tsv", "t.parquet"):
        write_table(df, tmp_path / name)
        back = read_table(tmp_path / name)
        assert list(back.columns) == ["a", "b"]
        assert back["a"].tolist() == [1, 2, 3]
        assert back["b"].isna().tolist() == [False, False, True]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"a,b\n", "header only"),
        (b"a,b\n1,2\n3,4,5\n", "line 3: expected 2 fields, saw 3"),
        (b"a,b\n1,\xff\xfe\n", "not valid UTF-8"),
        (b"a,a\n1,2\n", "duplicate column"),
    ],
)
def test_bad_csv_gives_one_line_naming_file(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_table(path)
    text = str(err.value)
    assert message in text and str(path) in text and "\n" not in text


def test_missing_column_and_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("age,sex\n1,F\n")
    with pytest.raises(InputError, match="no column named 'zip'"):
        read_table(path, columns=["age", "zip"])
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(UsageError, match="unknown table format"):
        read_table(tmp_path / "t.xlsx")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="not a readable Parquet"):
        read_table(tmp_path / "bad.parquet")


def test_existing_output_refused_without_force(tmp_path):
    df = pd.DataFrame({"a": [1]})
    out = tmp_path / "o.csv"
    out.write_text("precious\n")
    with pytest.raises(OutputExistsError, match="--force"):
        write_table(df, out)
    assert out.read_text() == "precious\n"
    write_table(df, out, force=True)
    assert out.read_text() == "a\n1\n"


def test_failed_write_leaves_nothing(tmp_path):
    out = tmp_path / "o.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert not out.exists()
    assert os.listdir(tmp_path) == []


def test_refuse_inside(tmp_path):
    with pytest.raises(UsageError, match="mapping"):
        refuse_inside(tmp_path / "rel" / "map.csv", tmp_path / "rel", "mapping", "the release folder")
    refuse_inside(tmp_path / "private" / "map.csv", tmp_path / "rel", "mapping", "the release folder")
