"""Issue 11, audited from outside: what a DP release still leaked, each with the fix's test.

Every test here runs the real CLI in-process (``anonlab.cli.main``) or the public Python API on small real tables,
as a user or an attacker would, and would fail if the leak came back.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from anonlab.cli import main
from anonlab.schema import Column, Schema

SECRET_VALUE = "secret77x"


def _schema() -> Schema:
    return Schema(
        (
            Column("age", "quasi", "integer", lower=17, upper=90),
            Column("sex", "quasi", "categorical", categories=("Female", "Male")),
        )
    )


def _bad_table(tmp_path):
    """A table whose 6th row holds a private value that does not fit the integer column."""
    df = pd.DataFrame({"age": [str(20 + i % 50) for i in range(40)], "sex": ["Female", "Male"] * 20})
    df.loc[5, "age"] = SECRET_VALUE
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    schema = tmp_path / "s.toml"
    _schema().write(schema)
    return path, schema


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_dp_synth_refuses_bad_content_naming_the_column_only(tmp_path, capsys, method):
    # point 12: a refusal on content before the charge names the column only, never the value or its row
    path, schema = _bad_table(tmp_path)
    code = main(
        [
            "synth",
            str(path),
            "-o",
            str(tmp_path / "out.csv"),
            "--method",
            method,
            "--schema",
            str(schema),
            "--epsilon",
            "1",
            "--no-ledger",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "'age'" in err
    assert SECRET_VALUE not in err and not re.search(r"row \d", err)
    assert not (tmp_path / "out.csv").exists()


def test_dp_synth_api_refusal_names_the_column_only(tmp_path):
    from anonlab.errors import InputError
    from anonlab.synth import Budget, get_method

    df = pd.DataFrame({"age": ["30", "41", SECRET_VALUE, "50"], "sex": ["Female", "Male", "Male", "Female"]})
    with pytest.raises(InputError) as err:
        get_method("mst")(seed=None).fit(df, _schema(), Budget(1.0, 1e-9), source="t.csv")
    msg = str(err.value)
    assert "'age'" in msg and SECRET_VALUE not in msg and not re.search(r"row \d", msg)
