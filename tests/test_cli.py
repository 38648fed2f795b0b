"""The `anonlab` command as a whole: help for every subcommand, lazy imports, exit codes."""

from __future__ import annotations

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


def test_seed_only_where_randomness_is_drawn():
    # issue 16: --seed only on commands that draw randomness ("seed for nothing" goes)
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    random = {("synth",), ("dp", "stats"), ("evaluate",), ("compare",)}
    wrong = []
    for path in _subcommand_paths():
        p = sub.choices[path[0]]
        if len(path) == 2:
            p = next(a for a in p._actions if a.dest == "action").choices[path[1]]
        has = "--seed" in p._option_string_actions
        if has != (tuple(path) in random):
            wrong.append(" ".join(path))
        if has:
            assert "nothing" not in p._option_string_actions["--seed"].help
    assert not wrong, f"--seed where no randomness is drawn, or missing where it is: {wrong}"


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
