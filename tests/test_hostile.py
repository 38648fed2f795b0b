"""Every data command over a shared set of hostile files.

Each case must end with exit code 2, exactly one line on stderr naming the file (no traceback), nothing left in
the output folder, and the input unchanged (hash before and after).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = "age,sex,zip\n" + "".join(f"{30 + i % 7},{'FM'[i % 2]},0214{i % 3}\n" for i in range(40))
SCHEMA = (
    '[columns.age]\ntype = "integer"\nlower = 0\nupper = 120\n'
    '[columns.sex]\ncategories = ["F", "M"]\n'
    '[columns.zip]\ncategories = ["02140", "02141", "02142"]\n'
)

# name -> (file name, content, or None for "not a file"); content is bytes, "DIR" or None (missing)
BAD = {
    "empty": ("t.csv", b""),
    "header-only": ("t.csv", b"age,sex,zip\n"),
    "short-row": ("t.csv", b"age,sex,zip\n30,F,02140\n41,M\n"),
    "long-row": ("t.csv", b"age,sex,zip\n30,F,02140\n41,M,02141,extra\n"),
    "bad-utf8": ("t.csv", b"age,sex,zip\n30,F,02140\n41,M,0214\xff\n"),
    "nul-byte": ("t.csv", b"age,sex,zip\n30,F,02140\n41,M\x00X,02141\n"),
    "folder": ("t.csv", "DIR"),
    "missing": ("t.csv", None),
    "binary-garbage": ("t.csv", bytes(range(256)) * 8),
    "not-parquet": ("t.parquet", b"PAR1 this is not a parquet file at all PAR1"),
    # a download cut short: the gzip stream ends early (was an EOFError traceback, exit 1)
    "truncated-gzip": ("t.csv.gz", gzip.compress(GOOD.encode())[:60]),
    # one field more than the header on every row: pandas took the first column as an index and shifted the
    # rest (an --id column silently became the next column's values)
    "every-row-long": ("t.csv", b"age,sex,zip\n30,F,02140,x\n41,M,02141,y\n"),
    "trailing-delimiter": ("t.csv", b"age,sex,zip\n30,F,02140,\n41,M,02141,\n"),
    "not-gzip": ("t.csv.gz", b"age,sex,zip\n30,F,02140\n"),
}

# each command with {bad} the hostile input, {o} the output folder, {good}/{schema}/{key} good companions
COMMANDS = {
    "schema-infer": ["schema", "infer", "{bad}", "-o", "{o}/s.toml"],
    "pseudonymize": ["pseudonymize", "{bad}", "-o", "{o}/p.csv", "--key-file", "{key}", "--id", "zip"],
    "assess": ["assess", "{bad}", "--quasi", "age,sex"],
    "anonymize": ["anonymize", "{bad}", "-o", "{o}/a.csv", "--quasi", "age,sex", "--k", "2"],
    "dp-stats": ["dp", "stats", "{bad}", "--schema", "{schema}", "--epsilon", "1", "--no-ledger"]
    + ["--query", "count", "-o", "{o}/d.json"],
    "synth": ["synth", "{bad}", "-o", "{o}/y.csv", "--method", "mst", "--epsilon", "1", "--no-ledger"]
    + ["--schema", "{schema}"],
    "evaluate-real": ["evaluate", "{bad}", "{good}", "--json-out", "{o}/m.json"],
    "evaluate-release": ["evaluate", "{good}", "{bad}", "--json-out", "{o}/m.json"],
    "budget-init": ["budget", "init", "{o}/l.jsonl", "--epsilon", "1", "--dataset", "{bad}"],
}

# what the one line must say, beyond naming the file (cases fixed by the reading change included)
CAUSE = {
    "empty": "empty",
    "header-only": "header only",
    "short-row": "line 3",
    "long-row": "line 3",
    "bad-utf8": "UTF-8",
    "nul-byte": "line 3",
    "folder": "folder",
    "missing": "no such file",
    "binary-garbage": "",
    "not-parquet": "Parquet",
    "truncated-gzip": "gzip",
    "every-row-long": "line 2: expected 3 fields, saw 4",
    "trailing-delimiter": "line 2: expected 3 fields, saw 4",
    "not-gzip": "gzip",
}


def _digest(path: Path) -> str | None:
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return "DIR" if path.is_dir() else None


def _make(tmp_path: Path, case: str, key_file) -> tuple[dict, Path, Path]:
    name, content = BAD[case]
    d = tmp_path / "inputs"
    d.mkdir()
    bad = d / name
    if content == "DIR":
        bad.mkdir()
    elif content is not None:
        bad.write_bytes(content)
    (d / "good.csv").write_text(GOOD)
    (d / "schema.toml").write_text(SCHEMA)
    out = tmp_path / "out"
    out.mkdir()
    fmt = {"bad": bad, "o": out, "good": d / "good.csv", "schema": d / "schema.toml", "key": key_file}
    return fmt, bad, out


def _check(code: int, err: str, bad: Path, cause: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert str(bad) in err, err
    assert cause in err, (cause, err)


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_hostile_input(command, case, tmp_path, cli, key_file):
    fmt, bad, out = _make(tmp_path, case, key_file)
    before = {p: _digest(p) for p in [bad, *bad.parent.iterdir()]}
    code, _, err = cli(*[a.format(**fmt) for a in COMMANDS[command]])
    _check(code, err, bad, CAUSE[case])
    assert os.listdir(out) == [], "a file was left behind"
    assert {p: _digest(p) for p in before} == before, "an input changed"


# Runs many `anonlab ...` command lines in one Python process; prints [code, stderr] for each.
RUNNER = r"""
import contextlib, io, json, sys, traceback
from anonlab.cli import main
out = []
for argv in json.load(sys.stdin):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except BaseException:
            traceback.print_exc()
            code = -1
    out.append([code, err.getvalue()])
print(json.dumps(out))
"""


def _unprivileged() -> list[str]:
    """Root reads mode-000 files: run as root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (setpriv)."""
    if os.geteuid() != 0:
        return []
    import shutil

    prefix = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop CAP_DAC_OVERRIDE")
    if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("setpriv cannot drop capabilities here")
    return prefix


def test_unreadable_input_for_every_command(tmp_path, key_file):
    prefix = _unprivileged()
    cases = []
    for command, template in sorted(COMMANDS.items()):
        base = tmp_path / command
        base.mkdir()
        fmt, bad, out = _make(base, "long-row", key_file)
        bad.write_text(GOOD)
        bad.chmod(0o000)
        cases.append(([a.format(**fmt) for a in template], bad, out))
    key_file.chmod(0o600)
    run = subprocess.run(
        [*prefix, sys.executable, "-c", RUNNER],
        input=json.dumps([argv for argv, _, _ in cases]),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    for (_argv, bad, out), (code, err) in zip(cases, results, strict=True):
        _check(code, err, bad, "ermission denied")
        assert os.listdir(out) == []
        bad.chmod(0o600)
        assert bad.read_text() == GOOD


def test_a_device_or_fifo_as_key_ledger_schema_or_model_is_refused_without_blocking(tmp_path):
    """`budget show /dev/zero` read forever; a FIFO ledger blocked on open; a device key file was called missing
    ("no such key file ... create one with keygen /dev/zero"). Each is refused by name, in one line, at once."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    table = tmp_path / "t.csv"
    table.write_text(GOOD)
    for special in ("/dev/zero", str(fifo)):
        for argv in (
            ["budget", "show", special],
            ["dp", "stats", str(table), "--schema", str(tmp_path / "s.toml"), "--epsilon", "1"]
            + ["--ledger", special, "--query", "count"],
            ["pseudonymize", str(table), "-o", str(tmp_path / "p.csv"), "--key-file", special, "--id", "zip"],
        ):
            (tmp_path / "s.toml").write_text(SCHEMA)
            run = subprocess.run(
                [sys.executable, "-m", "anonlab", *argv], capture_output=True, text=True, timeout=20
            )
            assert run.returncode == 2, (argv, run.stderr)
            assert len(run.stderr.strip().splitlines()) == 1 and special in run.stderr, run.stderr
            assert "not a regular file" in run.stderr, run.stderr


def test_a_column_name_with_a_newline_keeps_errors_on_one_line_and_the_schema_valid(tmp_path, cli):
    """A quoted header `"a<newline>b"` split the error line in two (the message lists the columns), and `schema
    infer` wrote it into a comment, so the line after it broke the TOML."""
    from anonlab.schema import Schema

    src = tmp_path / "t.csv"
    src.write_text('"a\nb",c\n1,2\n3,4\n')
    code, _, err = cli("assess", src, "--quasi", "zz")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "'zz'" in err, err
    code, _, err = cli("schema", "infer", src, "-o", tmp_path / "s.toml")
    assert code == 0, err
    assert Schema.read(tmp_path / "s.toml").names == ["a\nb", "c"]
    code, _, err = cli("schema", "check", tmp_path / "s.toml", src)
    assert code == 0, err


@pytest.mark.parametrize(
    "bounds", ["lower = nan\nupper = inf", "lower = 0\nupper = inf", "lower = -inf\nupper = 1"]
)
@pytest.mark.parametrize("kind", ["integer", "float"])
def test_schema_bounds_that_are_not_finite_numbers_are_one_line(tmp_path, cli, bounds, kind):
    """`lower = nan` in an integer column was a ValueError traceback (exit 1); an infinite bound is no public domain."""
    (tmp_path / "s.toml").write_text(f'[columns.age]\ntype = "{kind}"\n{bounds}\n')
    (tmp_path / "t.csv").write_text(GOOD)
    code, _, err = cli("schema", "check", tmp_path / "s.toml", tmp_path / "t.csv")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "s.toml" in err and "'age'" in err and "finite" in err, err
