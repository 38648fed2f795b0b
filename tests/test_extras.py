"""Optional parts (extras): where one is missing, the library raises MissingExtraError naming the extra, and the CLI
says so in one line, exit 2, before reading, writing or charging anything (issue 14)."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from anonlab.cli import main
from anonlab.errors import AnonlabError, MissingExtraError, require_extra


def hide(monkeypatch, *modules: str) -> None:
    """Make ``import MODULE`` fail as it does where the package is not installed."""
    for m in modules:
        for loaded in [k for k in sys.modules if k == m or k.startswith(m + ".")]:
            monkeypatch.delitem(sys.modules, loaded)
        monkeypatch.setitem(sys.modules, m, None)


def test_require_extra_returns_the_module_or_names_the_extra(monkeypatch):
    import json

    assert require_extra("core", "json") is json
    hide(monkeypatch, "pyarrow")
    with pytest.raises(MissingExtraError) as exc:
        require_extra("parquet", "pyarrow", "reading Parquet")
    err = exc.value
    assert isinstance(err, AnonlabError) and err.exit_code == 2
    assert err.extra == "parquet" and err.module == "pyarrow"
    assert str(err).startswith(
        "reading Parquet needs the optional 'parquet' dependencies (pyarrow is not installed)"
    )
    assert "pip install 'anonlab[parquet]'" in str(err) and "\n" not in str(err)


def test_a_broken_install_is_not_reported_as_a_missing_extra(monkeypatch, tmp_path):
    # a package that is there but whose own dependency is missing raises its real error
    pkg = tmp_path / "brokenpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("import not_a_module_anywhere_4471\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="not_a_module_anywhere_4471"):
        require_extra("x", "brokenpkg")


def _one_line_exit_2(capsys, argv, extra):
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert f"anonlab[{extra}]" in err, err
    return err


def test_cli_parquet_without_pyarrow(monkeypatch, capsys, tmp_path):
    pytest.importorskip("pyarrow", reason="writing the input needs the parquet extra")
    pd.DataFrame({"a": ["x", "y"], "b": ["1", "2"]}).to_parquet(tmp_path / "t.parquet", index=False)
    hide(monkeypatch, "pyarrow")
    _one_line_exit_2(capsys, ["assess", tmp_path / "t.parquet", "--quasi", "a"], "parquet")
    out = tmp_path / "out.parquet"
    _one_line_exit_2(capsys, ["datasets", "adult", "-o", out], "parquet")
    assert not out.exists() and not list(tmp_path.glob(".*"))  # nothing written, no temporary left


def test_cli_sdv_baseline_without_sdv(monkeypatch, capsys, tmp_path):
    from tests.synth.conftest import planted_frame, planted_schema

    data, schema = tmp_path / "in.csv", tmp_path / "schema.toml"
    planted_frame(100).to_csv(data, index=False)
    planted_schema().write(schema)
    hide(monkeypatch, "sdv")
    out = tmp_path / "twin.csv"
    err = _one_line_exit_2(
        capsys,
        ["synth", data, "-o", out, "--schema", schema, "--method", "gaussian-copula", "--quiet"],
        "sdv",
    )
    assert "synthesis method 'gaussian-copula'" in err and not out.exists()


def test_cli_napsu_without_the_synth_extra(monkeypatch, capsys, tmp_path):
    from tests.synth.conftest import planted_frame, planted_schema

    data, schema = tmp_path / "in.csv", tmp_path / "schema.toml"
    planted_frame(100).to_csv(data, index=False)
    planted_schema().write(schema)
    hide(monkeypatch, "numpyro")
    out = tmp_path / "twin.csv"
    argv = [
        "synth",
        data,
        "-o",
        out,
        "--schema",
        schema,
        "--method",
        "napsu",
        "--epsilon",
        "1",
        "--no-ledger",
    ]
    _one_line_exit_2(capsys, [*argv, "--quiet"], "synth")
    assert not out.exists()


def test_cli_dicom_without_pydicom(monkeypatch, capsys, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.dcm").write_bytes(b"\0" * 200)
    key = tmp_path / "k.key"
    assert main(["keygen", str(key)]) == 0
    capsys.readouterr()
    hide(monkeypatch, "pydicom")
    _one_line_exit_2(
        capsys, ["dicom", "deidentify", tmp_path / "in", tmp_path / "out", "--key-file", key], "dicom"
    )
    assert not (tmp_path / "out").exists()
    _one_line_exit_2(capsys, ["dicom", "audit", tmp_path / "in"], "dicom")


def test_evaluation_without_scikit_learn(monkeypatch, capsys):
    from anonlab.datasets import load_adult
    from anonlab.evaluation.evaluating import EvaluationConfig, evaluate

    df = load_adult().head(200)
    hide(monkeypatch, "sklearn")
    with pytest.raises(MissingExtraError, match=r"anonlab\[eval\]"):
        evaluate(df, df, config=EvaluationConfig(skip=("anonymeter", "quality")), seed=0)
    # parts that need no optional package still run
    ev = evaluate(
        df, df, config=EvaluationConfig(skip=("anonymeter", "quality", "tstr", "dcr", "membership")), seed=0
    )
    assert ev.marginals is not None


def test_cli_compare_and_evaluate_without_the_eval_extra_stop_before_any_work(monkeypatch, capsys, tmp_path):
    from anonlab.datasets import load_adult

    data = tmp_path / "adult.csv"
    load_adult().head(300).to_csv(data, index=False)
    hide(monkeypatch, "matplotlib")
    report = tmp_path / "r.html"
    err = _one_line_exit_2(capsys, ["compare", data, "--report", report, "--seed", "0"], "eval")
    assert "figures" in err and "releases of" not in err and not report.exists()
    _one_line_exit_2(capsys, ["evaluate", data, data, "--report", report, "--quiet"], "eval")
    hide(monkeypatch, "sklearn")
    assert main(["compare", str(data), "--json-out", str(tmp_path / "f.json"), "--seed", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()  # the plan's line, then the error, before any release
    assert len(err) == 2 and "anonlab[eval]" in err[1] and "a study" in err[1], err
    assert not (tmp_path / "f.json").exists()


def test_quality_without_sdmetrics_is_not_computed_with_the_extra_named(monkeypatch):
    from anonlab.datasets import load_adult
    from anonlab.evaluation.evaluating import EvaluationConfig, evaluate

    df = load_adult().head(200)
    hide(monkeypatch, "sdmetrics")
    cfg = EvaluationConfig(skip=("anonymeter", "tstr", "dcr", "membership", "marginals", "associations"))
    ev = evaluate(df, df, config=cfg, seed=0)
    assert ev.quality is None
    assert any(n.startswith("quality not computed") and "anonlab[sdv]" in n for n in ev.notes), ev.notes
