"""The public surface of anonlab.evaluation, and that importing it stays light."""

import subprocess
import sys


def test_public_names():
    import anonlab.evaluation as E

    assert callable(E.evaluate) and E.evaluate.__module__ == "anonlab.evaluation.evaluate"
    for name in E.__all__:
        assert getattr(E, name) is not None
    from anonlab.evaluation.evaluate import EvaluationConfig, evaluate  # the old import path still works

    assert evaluate is E.evaluate and EvaluationConfig is E.EvaluationConfig


def test_import_pulls_in_no_heavy_library():
    code = (
        "import sys, anonlab.evaluation as E, anonlab.evaluation.study, anonlab.evaluation.report\n"
        "heavy = [m for m in ('sklearn', 'matplotlib', 'sdmetrics', 'anonymeter', 'scipy', 'jax') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
