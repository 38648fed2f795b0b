"""Bad input files through the CLI: one line naming the file and what is wrong, exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

BAD_FILES = {
    "empty.csv": (b"", "empty file"),
    "ragged.csv": (b"age,sex\n30,F\n41,M,extra\n", "line 3: expected 2 fields, saw 3"),
    "latin1.csv": ("age,sex\n30,Fé\n".encode("latin-1"), "not valid UTF-8"),
    "header.csv": (b"age,sex\n", "header only"),
    "bad.parquet": (b"PAR1 but not really", "not a readable Parquet file"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize(
    "command",
    [
        ["assess", "{src}", "--quasi", "age"],
        ["schema", "infer", "{src}", "-o", "{tmp}/s.toml"],
        ["pseudonymize", "{src}", "-o", "{tmp}/o.csv", "--key-file", "{key}", "--id", "age"],
    ],
    ids=["assess", "schema-infer", "pseudonymize"],
)
def test_bad_file(tmp_path, cli, key_file, name, command):
    content, message = BAD_FILES[name]
    src = tmp_path / name
    src.write_bytes(content)
    args = [a.format(src=src, tmp=tmp_path, key=key_file) for a in command]
    code, out, err = cli(*args)
    assert code == 2
    assert message in err and str(src) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "s.toml").exists()


def test_wrong_types_named_by_column_and_row(tmp_path, cli):
    src = tmp_path / "t.csv"
    src.write_text("age,sex\n30,F\n4l,M\n")
    schema = tmp_path / "s.toml"
    schema.write_text('[columns.age]\nrole = "quasi"\ntype = "integer"\n[columns.sex]\nrole = "quasi"\n')
    code, _, err = cli("schema", "check", schema, src)
    assert code == 2 and "column 'age', row 2: '4l' is not an integer" in err


def test_schema_check_reports_values_outside_domain(tmp_path, cli):
    src = tmp_path / "t.csv"
    src.write_text("age,sex\n30,F\n140,X\n")
    schema = tmp_path / "s.toml"
    schema.write_text(
        '[columns.age]\ntype = "integer"\nlower = 0\nupper = 120\n[columns.sex]\ncategories = ["F", "M"]\n'
    )
    code, out, _ = cli("schema", "check", schema, src)
    assert code == 1 and "outside [0, 120]" in out and "outside the schema's categories" in out


def test_existing_output_needs_force(tmp_path, cli):
    src = tmp_path / "t.csv"
    src.write_text("age,sex\n30,F\n")
    out = tmp_path / "s.toml"
    out.write_text("keep me")
    code, _, err = cli("schema", "infer", src, "-o", out)
    assert code == 2 and "--force" in err and out.read_text() == "keep me"
    assert cli("schema", "infer", src, "-o", out, "--force")[0] == 0
    assert "[columns.age]" in out.read_text()


def test_console_script_error_has_no_traceback(tmp_path):
    src = tmp_path / "ragged.csv"
    src.write_bytes(BAD_FILES["ragged.csv"][0])
    run = subprocess.run(
        [f"{sys.prefix}/bin/anonlab", "assess", str(src), "--quasi", "age"], capture_output=True, text=True
    )
    assert run.returncode == 2
    assert run.stderr.strip() == f"anonlab assess: error: {src}: line 3: expected 2 fields, saw 3"
