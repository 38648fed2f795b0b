"""The `anonlab` command as a whole: help for every subcommand, lazy imports, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from anonlab.cli import _modules, build_parser

HEAVY = {
    "jax",
    "torch",
    "sdv",
    "opendp",
    "twinify",
    "numpyro",
    "pydicom",
    "matplotlib",
    "sklearn",
    "scipy",
    "polars",
    "pyarrow",
    "pandas",
    "numpy",
    "PIL",
    "anonymeter",
}


def test_building_the_parser_imports_nothing_heavy():
    # Every subcommand module is imported to build the parser; none may import the heavy stack at load time,
    # or `anonlab --help`, `assess`, `anonymize` and `dicom` would take seconds to start.
    code = "import sys; from anonlab.cli import build_parser; build_parser(); print(sorted(set(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in eval(run.stdout)}
    assert not HEAVY & loaded, f"imported at parser build time: {sorted(HEAVY & loaded)}"


def _subcommand_paths():
    parser = build_parser()
    paths = []
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        nested = [a for a in p._actions if a.dest == "action"]
        if nested:
            paths += [[name, child] for child in nested[0].choices]
        else:
            paths.append([name])
    return paths


@pytest.mark.parametrize("path", _subcommand_paths(), ids=lambda p: " ".join(p))
def test_every_subcommand_has_help(path, cli):
    with pytest.raises(SystemExit) as done:
        cli(*path, "--help")
    assert done.value.code == 0


def test_no_command_is_usage_error(cli):
    code, out, err = cli()
    assert code == 2 and "commands" in err


def test_unknown_option_exits_2(cli):
    with pytest.raises(SystemExit) as done:
        cli("assess", "x.csv", "--no-such-option")
    assert done.value.code == 2


def test_core_commands_are_registered():
    assert {"datasets", "schema", "keygen", "pseudonymize", "assess"} <= set(_modules())


def test_console_script_help_and_version():
    exe = f"{sys.prefix}/bin/anonlab"
    run = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "assess" in run.stdout
    run = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and "anonlab" in run.stdout


# --- issue 16: one progress convention, --json a flag -------------------------------------------------------------


@pytest.fixture
def small_csv(tmp_path, adult):
    path = tmp_path / "adult.csv"
    adult.iloc[:400].to_csv(path, index=False)
    return path


@pytest.fixture
def terminal(monkeypatch):
    """Standard error that says it is a terminal (the captured one is not)."""

    def make():
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

    return make


def test_show_progress_on_a_terminal_unless_quiet(monkeypatch):
    import argparse

    from anonlab.cli._common import show_progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert show_progress(argparse.Namespace(quiet=False))
    assert not show_progress(argparse.Namespace(quiet=True))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert not show_progress(argparse.Namespace(quiet=False))


def _anonymize(small_csv, tmp_path, *extra):
    out = tmp_path / f"o{len(extra)}.csv"
    return ["anonymize", small_csv, "-o", out, "--quasi", "age,sex", "--k", "5", *extra]


def test_progress_shown_on_a_terminal_only(cli, small_csv, tmp_path, terminal):
    code, _, err = cli(*_anonymize(small_csv, tmp_path))  # captured standard error: not a terminal
    assert code == 0 and "mondrian" not in err
    terminal()
    code, _, err = cli(*_anonymize(small_csv, tmp_path, "--force"))
    assert code == 0 and "mondrian" in err  # the bar


def test_quiet_silences_progress_on_a_terminal(cli, small_csv, tmp_path, terminal):
    terminal()
    code, _, err = cli(*_anonymize(small_csv, tmp_path, "--quiet"))
    assert code == 0 and err == ""


@pytest.mark.parametrize(
    "argv, quiet",
    [
        (["synth", "in.csv", "-o", "out.csv", "--no-progress"], True),
        (["dicom", "deidentify", "a", "b", "--key-file", "k", "--no-progress"], True),
        (["dicom", "audit", "a", "--no-progress"], True),
        (["anonymize", "in.csv", "-o", "out.csv", "--progress"], False),
    ],
    ids=["synth", "dicom deidentify", "dicom audit", "anonymize"],
)
def test_old_progress_switches_still_work_for_a_release(argv, quiet, capsys):
    args = build_parser().parse_args(argv)
    assert args.quiet is quiet
    err = capsys.readouterr().err
    assert "is deprecated" in err and "--quiet" in err and err.count("\n") == 1


def test_old_progress_switch_in_a_run(cli, small_csv, tmp_path, terminal):
    terminal()
    code, _, err = cli(*_anonymize(small_csv, tmp_path, "--progress"))
    assert code == 0 and "--progress is deprecated" in err and "mondrian" in err


@pytest.mark.parametrize("command", ["evaluate", "compare"])
def test_json_flag_before_the_positional_arguments(command):
    positionals = ["real.csv", "release.csv"] if command == "evaluate" else ["input.csv"]
    args = build_parser().parse_args([command, "--json", *positionals])
    assert args.json is True and args.json_out is None
    assert (args.real, args.release) == ("real.csv", "release.csv") if command == "evaluate" else args.input
    args = build_parser().parse_args([command, "--json-out", "m.json", *positionals, "--json"])
    assert args.json is True and args.json_out == "m.json"


def test_evaluate_json_flag_then_files(cli, small_csv, tmp_path):
    skip = "associations,tstr,quality,dcr,membership,anonymeter,assess"
    code, out, err = cli("evaluate", "--json", small_csv, small_csv, "--skip", skip, "--quiet", "--seed", "1")
    assert code == 0, err
    data = json.loads(out)  # standard output is the JSON alone
    # --json-out writes the same JSON (the same seed gives the same figures)
    js = tmp_path / "m.json"
    code, out, _ = cli(
        "evaluate", small_csv, small_csv, "--skip", skip, "--quiet", "--seed", "1", "--json-out", js
    )
    assert code == 0 and f"wrote metrics to {js}" in out
    written = json.loads(js.read_text())
    for key in ("utility", "risk", "rows", "seed", "seed_given"):
        assert written.get(key) == data.get(key)


@pytest.fixture
def show_every_search(monkeypatch):
    """Neighbour searches show their bar whatever their size (normally only those that take a while)."""
    from anonlab.evaluation.metrics import neighbours

    monkeypatch.setattr(neighbours, "SHOW_FROM", 0)


def test_evaluate_progress_false_prints_nothing(adult, capsys, show_every_search):
    from anonlab import evaluate

    real, release = adult.iloc[:300], adult.iloc[300:600]
    config = {"skip": ["associations", "tstr", "quality", "membership", "anonymeter", "assess"]}
    capsys.readouterr()
    evaluate(real, release, adult.iloc[600:900], config=config, seed=1, progress=False)
    assert capsys.readouterr().err == ""  # not even the "DCR to train" search
    evaluate(real, release, adult.iloc[600:900], config=config, seed=1, progress=True)
    err = capsys.readouterr().err
    assert "DCR to train" in err and "evaluate release" in err


def test_evaluate_quiet_prints_no_bar_on_a_terminal(cli, small_csv, terminal, show_every_search):
    terminal()
    skip = "associations,tstr,quality,membership,anonymeter,assess"
    code, _, err = cli("evaluate", small_csv, small_csv, "--skip", skip, "--quiet", "--seed", "1")
    assert code == 0 and "DCR" not in err and "evaluate " not in err
