"""The public surface of anonlab.evaluation, and that importing it stays light."""

import subprocess
import sys


def test_public_names():
    import anonlab.evaluation as E

    assert callable(E.evaluate) and E.evaluate.__module__ == "anonlab.evaluation.evaluating"
    for name in E.__all__:
        assert getattr(E, name) is not None
    from anonlab.evaluation.evaluating import EvaluationConfig, evaluate

    assert evaluate is E.evaluate and EvaluationConfig is E.EvaluationConfig


def test_the_function_and_its_module_have_different_names():
    """``anonlab.evaluation.evaluate`` is the function; no module of that name hides behind it."""
    import importlib.util

    assert importlib.util.find_spec("anonlab.evaluation.evaluate") is None


def test_import_pulls_in_no_heavy_library():
    code = (
        "import sys, anonlab.evaluation as E, anonlab.evaluation.study, anonlab.evaluation.report\n"
        "heavy = [m for m in ('sklearn', 'matplotlib', 'sdmetrics', 'anonymeter', 'scipy', 'jax') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
