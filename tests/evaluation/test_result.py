"""The result of one evaluation in a notebook: a frame, a dict, an HTML page and a short display."""

import json

import pandas as pd
import pytest

from anonlab.evaluation import Evaluation, EvaluationConfig, evaluate
from anonlab.evaluation.result import FRAME_COLUMNS


@pytest.fixture(scope="module")
def ev(splits):
    small = {k: v.iloc[:400].reset_index(drop=True) for k, v in splits.items()}
    cfg = {"skip": ["anonymeter", "quality"], "tstr_rows": 400}  # a mapping is accepted for config=
    return evaluate(
        small["train"], small["independent"], small["holdout"], config=cfg, seed=2, label="indep <b>"
    )


def test_to_frame_has_one_row_per_metric(ev):
    assert isinstance(ev, Evaluation) and isinstance(ev.config, EvaluationConfig)
    f = ev.to_frame()
    assert isinstance(f, pd.DataFrame) and tuple(f.columns) == FRAME_COLUMNS
    judged = f[
        ~f.reason.str.startswith("not computed: left out") & (f.part != "assess")
    ]  # assess: not generalised
    assert list(judged.metric) == [v.metric for v in ev.verdicts]  # every verdict, in part order
    assert set(f.part) == set(ev.parts) | {"anonymeter", "quality"}
    auc = f[f.metric == "membership AUC (distance)"].iloc[0]
    assert auc.part == "membership" and auc.kind == "risk"
    assert auc.value == pytest.approx(ev.membership.attack("distance").auc)
    assert list(auc.interval) == pytest.approx(list(ev.membership.attack("distance").auc_ci))
    two = f[f.metric == "2-way marginal TVD (mean)"].iloc[0]
    assert two.value == pytest.approx(ev.marginal(2).mean_tvd)
    assert set(two.baselines) == {"independent columns", "sampling floor"}
    assert f[f.part == "anonymeter"].iloc[0].reason == "not computed: left out (config skip)"


def test_to_dict_is_what_json_prints(ev):
    d = json.loads(json.dumps(ev.to_dict(), allow_nan=False))
    assert [v["metric"] for v in d["verdicts"]] == [v.metric for v in ev.verdicts]
    assert "figure" not in d["verdicts"][0]  # the JSON layout is unchanged; the figures are in their sections
    assert d["seed"] is None and d["seed_given"] is True


def test_to_html_writes_the_report_and_refuses_to_overwrite(splits, tmp_path, check_self_contained):
    from anonlab.errors import OutputExistsError

    cols = ["age", "sex", "race", "income-per-year"]  # few columns: quick figures
    real, release = (splits[k].loc[:299, cols] for k in ("train", "independent"))
    ev = evaluate(
        real,
        release,
        config={"skip": ["anonymeter", "quality", "tstr", "dcr", "membership"]},
        label="indep <b>",
    )
    p = tmp_path / "r.html"
    text = ev.to_html(p)
    assert p.read_text() == text
    check_self_contained(text)
    assert "indep &lt;b&gt;" in text and "indep <b>" not in text
    with pytest.raises(OutputExistsError):
        ev.to_html(p)
    ev.to_html(p, force=True)


def test_repr_html_is_short_escaped_and_keeps_the_seed_secret(ev):
    h = ev._repr_html_()
    assert "<img" not in h and "<script" not in h and "<body" not in h
    assert "membership AUC (distance)" in h and "indep &lt;b&gt;" in h
    assert "seed given (secret, not shown)" in h
    lines = ev.summary_lines()
    assert lines[0].startswith("indep <b>: 400 released rows") and "seed given" in lines[0]


def test_a_dp_release_shows_no_seed_in_its_summary_or_report(splits):
    from dataclasses import replace

    cols = ["age", "sex", "race", "income-per-year"]
    real, release = (splits[k].loc[:199, cols] for k in ("train", "independent"))
    ev = evaluate(
        real, release, config={"skip": ["anonymeter", "quality", "tstr", "dcr", "membership"]}, seed=None
    )
    assert f"seed {ev.seed}" in ev.summary_lines()[0]  # a drawn seed is shown for a non-DP release
    dp = replace(ev, privacy={"epsilon": 1.0, "delta": 1e-9, "neighbours": "add/remove one record"})
    for text in (dp.summary_lines()[0], dp._repr_html_(), dp.to_html()):
        assert f"seed {ev.seed}" not in text and "seed not shown" in text
    assert "epsilon 1, delta 1e-9, add/remove one record" in dp.to_html()
    assert "pessimistic end" in ev.summary_lines()[-1]
