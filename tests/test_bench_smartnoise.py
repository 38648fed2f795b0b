"""The smartnoise side-by-side benchmark: the module imports, its plan parses, its peer pins are commented.

Fast: nothing is fitted and smartnoise's own venv is not needed (the benchmark runs it in a subprocess)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from benchmarks import synth_smartnoise

ROOT = Path(__file__).resolve().parents[1]


def _args(*argv):
    return synth_smartnoise.parser().parse_args(list(argv))


def test_plan_runs_baselines_then_each_epsilon_in_order():
    plan = synth_smartnoise._plan(_args("--epsilons", "1,3", "--smartnoise-aim-degree", "3"))
    assert plan[:2] == [("independent", None, {}), ("resample", None, {})]
    assert [(m, e) for m, e, _ in plan[2:6]] == [(m, 1.0) for m in synth_smartnoise.METHODS]
    assert ("smartnoise-aim", 3.0, {"degree": 3}) in plan
    assert len(synth_smartnoise._plan(_args("--append", "--methods", "mst", "--epsilons", "1"))) == 1


def test_plan_refuses_unknown_method():
    with pytest.raises(SystemExit, match="unknown methods"):
        synth_smartnoise._plan(_args("--methods", "mst,patectgan"))


def test_peer_script_parses_and_every_pin_is_commented():
    ast.parse((ROOT / "benchmarks" / "_smartnoise_peer.py").read_text())
    pins = [
        line
        for line in (ROOT / "benchmarks" / "peers" / "smartnoise.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert any(line.startswith("smartnoise-synth==") for line in pins)
    for line in pins:
        assert "==" in line and "#" in line, line
