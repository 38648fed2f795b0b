"""anonlab.synth.registry: names -> "module:Class", loaded on use; registering never leaves a method behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anonlab.cli import main
from anonlab.errors import UsageError
from anonlab.synth import EncodedSynthesizer, registry

from .conftest import planted_frame, planted_schema


class Uniform(EncodedSynthesizer):
    """Independent uniform codes: a non-private toy method with one parameter of its own."""

    name = "uniform-test"
    private = False
    strength: float = 1.0

    def _fit_codes(self, codes, sizes, budget, noise):
        self.sizes_ = sizes
        self.n_estimate_ = float(len(codes))

    def _sample_codes(self, n, rng):
        return np.column_stack([rng.integers(0, s, n) for s in self.sizes_])


def test_the_registry_is_a_leaf_and_lists_without_importing():
    code = (
        "import sys, anonlab.synth.registry as r; names = r.names(); "
        "print(names[0], sorted(m for m in sys.modules if m.startswith('anonlab.synth')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == "aim"
    assert "anonlab.synth.aim" not in out and "anonlab.synth.base" not in out and "numpy" not in out


def test_no_import_circle_between_the_base_and_the_methods():
    src = Path(__file__).parents[2] / "anonlab" / "synth"
    assert _imports(src / "registry.py") == {
        "__future__",
        "importlib",
        "collections.abc",
        "contextlib",
        "typing",
        "anonlab.errors",
    }
    methods = {"anonlab.synth.aim", "anonlab.synth.mst", "anonlab.synth.sdv_methods", "anonlab.synth.twinify"}
    assert not {m for m in _imports(src / "base.py") if m.startswith(tuple(methods))}
    code = "import anonlab.synth.base, sys; print('anonlab.synth.mst' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )


def _imports(path: Path) -> set[str]:
    import ast

    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add(node.module or "")
    return out


def test_get_loads_the_class_and_refuses_unknown_names():
    from anonlab.synth.mst import MST

    assert registry.get("mst") is MST
    with pytest.raises(UsageError, match="unknown synthesis method 'nope' .*known: aim, mst"):
        registry.get("nope")


def test_registered_class_string_target_and_decorator_forms():
    with registry.registered("uniform-test", Uniform):
        assert registry.get("uniform-test") is Uniform and "uniform-test" in registry.names()
        with pytest.raises(UsageError, match="already registered"):
            registry.register("uniform-test", Uniform)
    assert "uniform-test" not in registry.names()
    with registry.registered("uniform-test", f"{__name__}:Uniform"):
        assert registry.get("uniform-test") is Uniform
    assert "uniform-test" not in registry.names()

    @registry.register("decorated-test")
    class Decorated(Uniform):
        name = ""

    try:
        assert Decorated.name == "decorated-test" and registry.get("decorated-test") is Decorated
    finally:
        registry.unregister("decorated-test")
    assert "decorated-test" not in registry.names()


def test_bad_registrations_are_refused():
    with pytest.raises(UsageError, match="already registered"):
        registry.register("aim", Uniform)
    with pytest.raises(UsageError, match="cannot be unregistered"):
        registry.unregister("aim")
    with pytest.raises(UsageError, match="not registered"):
        registry.unregister("never-was")
    with pytest.raises(UsageError, match="module:Class"):
        registry.register("bad-target", "no_colon_here")
    with pytest.raises(UsageError, match="named 'uniform-test'"):
        registry.register("other-name", Uniform)
    with registry.registered("broken-test", "anonlab.synth.nowhere:Gone"):
        with pytest.raises(UsageError, match="cannot load"):
            registry.get("broken-test")
    assert "broken-test" not in registry.names() and "other-name" not in registry.names()


def test_a_registered_method_is_usable_from_the_cli_then_gone(tmp_path, capsys):
    data, schema = tmp_path / "d.csv", tmp_path / "s.toml"
    planted_frame(300).to_csv(data, index=False)
    planted_schema().write(schema)
    args = [
        "synth",
        str(data),
        "-o",
        str(tmp_path / "u.csv"),
        "--schema",
        str(schema),
        "--method",
        "uniform-test",
    ]
    with registry.registered("uniform-test", Uniform):
        assert main([*args, "--param", "strength=2.5", "--rows", "40", "--json"]) == 0
        rec = json.loads(capsys.readouterr().out)
        assert rec["method"] == "uniform-test" and rec["rows"] == 40
        car = json.loads((tmp_path / "u.csv.json").read_text())
        assert car["params"] == {"strength": 2.5}
        assert main([*args, "--param", "nope=1", "--force"]) == 2
        assert "no parameter 'nope'" in capsys.readouterr().err
    assert main([*args, "--force"]) == 2
    assert "unknown synthesis method 'uniform-test'" in capsys.readouterr().err


def test_max_cells_reaches_napsu_from_the_cli(tmp_path, capsys):
    pytest.importorskip("numpyro")

    data, schema = tmp_path / "d.csv", tmp_path / "s.toml"
    planted_frame(100).to_csv(data, index=False)
    planted_schema().write(schema)
    args = ["synth", str(data), "-o", str(tmp_path / "n.csv"), "--schema", str(schema), "--method", "napsu"]
    limits = ["--max-minutes", "1e9", "--max-memory", "1e9"]  # past the time estimate, to the cells check
    assert main([*args, "--epsilon", "1", "--no-ledger", *limits, "--max-cells", "10"]) == 2
    err = capsys.readouterr().err
    assert "more than --max-cells 10" in err and err.count("\n") == 1
    assert main([*args[:-2], "--method", "mst", "--epsilon", "1", "--no-ledger", "--max-cells", "10"]) == 2
    assert "--max-cells applies to aim and napsu, not to --method mst" in capsys.readouterr().err
