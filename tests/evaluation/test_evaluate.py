"""Metrics on cases with known answers: a copy of the training data, an independent sample, shuffled columns."""

import json

import numpy as np
import pytest

from anonlab.errors import InputError, UsageError
from anonlab.evaluation.evaluating import EvaluationConfig, evaluate


@pytest.fixture(scope="module")
def copy_eval(splits, fast_config):
    return evaluate(
        splits["train"], splits["train"], splits["holdout"], config=fast_config, seed=1, label="copy"
    )


@pytest.fixture(scope="module")
def independent_eval(splits, fast_config):
    return evaluate(splits["train"], splits["independent"], splits["holdout"], config=fast_config, seed=1)


@pytest.fixture(scope="module")
def shuffled_eval(splits, fast_config):
    rng = np.random.default_rng(3)
    train = splits["train"]
    shuffled = train.apply(lambda s: s.to_numpy()[rng.permutation(len(s))])
    return evaluate(train, shuffled, splits["holdout"], config=fast_config, seed=1)


def test_copy_of_train_has_dcr_zero_and_membership_auc_near_one(copy_eval):
    d = copy_eval.dcr
    assert d.exact_copy_share == 1.0
    assert d.dcr_train_p5 == pytest.approx(0.0, abs=1e-6)
    assert d.dcr_train_median == pytest.approx(0.0, abs=1e-6)
    assert d.train_share > 0.95
    auc = copy_eval.membership.attack("distance")
    assert auc.auc > 0.98
    assert auc.tpr_at_1pct_fpr > 0.9
    verdicts = {v.metric: v.verdict for v in copy_eval.verdicts}
    assert verdicts["membership AUC (distance)"] == "high"
    assert verdicts["exact copies of training records"] == "high"
    assert verdicts["DCR share closer to train"] == "high"
    # perfect utility
    assert copy_eval.marginal(2).mean_tvd == 0.0
    assert all(m.ratio == pytest.approx(1.0) for m in copy_eval.tstr.models)


def test_independent_sample_has_auc_near_half(independent_eval):
    for a in independent_eval.membership.attacks:
        assert abs(a.auc - 0.5) < 0.06, a
        assert a.auc_ci[0] < 0.5 + 0.06
    d = independent_eval.dcr
    assert abs(d.train_share - 0.5) < 0.06
    assert d.exact_copy_share < 0.02
    verdicts = {v.metric: v.verdict for v in independent_eval.verdicts}
    assert verdicts["membership AUC (distance)"] in ("low", "moderate")
    assert verdicts["exact copies of training records"] == "low"


def test_shuffled_columns_destroy_two_way_utility(independent_eval, shuffled_eval):
    # the 1-way marginals survive a column shuffle exactly, the relations between columns do not
    assert shuffled_eval.marginal(1).mean_tvd == pytest.approx(0.0, abs=1e-12)
    # an independent sample of 2,000 rows has its own sampling noise in 2-way TVD; a shuffle adds well beyond it
    assert shuffled_eval.marginal(2).mean_tvd > independent_eval.marginal(2).mean_tvd + 0.02
    assert shuffled_eval.marginal(2).max_tvd > 0.5  # education x education-num is a function
    assert independent_eval.marginal(2).max_tvd < 0.25
    assert shuffled_eval.marginal(3).mean_tvd > independent_eval.marginal(3).mean_tvd + 0.03
    cv = {a.kind: a for a in shuffled_eval.associations}
    assert cv["cramers_v"].mean_abs_diff > 0.1
    assert shuffled_eval.tstr.mean_ratio < 0.8
    assert independent_eval.tstr.mean_ratio > 0.9


def test_result_is_json_and_records_seed_config_versions(independent_eval):
    d = json.loads(json.dumps(independent_eval.to_dict(), allow_nan=False))
    assert d["seed"] is None and d["seed_given"] is True  # the caller's seed is a secret (issue 11)
    assert d["config"]["skip"] == ["anonymeter", "quality"]
    assert "anonymeter" in d["versions"] and "scikit-learn" in d["versions"]
    assert d["headline"]["mia_auc"] is not None
    assert d["rows"] == {"real": 2000, "release": 2000, "holdout": 2000}


def test_same_seed_same_figures(splits, fast_config):
    a = evaluate(splits["train"], splits["independent"], splits["holdout"], config=fast_config, seed=5)
    b = evaluate(splits["train"], splits["independent"], splits["holdout"], config=fast_config, seed=5)
    assert a.headline() == b.headline()


def test_no_holdout_skips_membership_and_says_so(splits, fast_config):
    ev = evaluate(splits["train"], splits["independent"], config=fast_config, seed=1)
    assert ev.membership is None and ev.dcr.train_share is None
    assert any("membership inference skipped" in n for n in ev.notes)
    assert "optimistic" in ev.tstr.test_set


def test_anonymeter_and_sdmetrics_run_on_a_sample(splits):
    pytest.importorskip("sdmetrics", reason="SDMetrics comes with the sdv extra")
    cfg = EvaluationConfig(
        anonymeter_rows=400,
        anonymeter_attacks=50,
        quality_rows=500,
        tstr_rows=1000,
        skip=("dcr", "membership", "marginals", "associations"),
    )
    ev = evaluate(splits["train"], splits["train"], splits["holdout"], config=cfg, seed=2)
    names = {r.name for r in ev.anonymeter.risks}
    assert names == {"singling_out", "singling_out_multivariate", "linkability", "inference"}
    assert ev.anonymeter.rows == 400
    assert all(r.error is None for r in ev.anonymeter.risks), ev.anonymeter.risks
    assert any("(Giomi et al. 2023), anonlab's implementation" in n for n in ev.notes)
    assert ev.quality.score == pytest.approx(1.0, abs=0.01)


def test_numeric_target_is_regression(splits, fast_config):
    cfg = EvaluationConfig(skip=("anonymeter", "quality", "dcr", "membership"), tstr_rows=1000)
    ev = evaluate(splits["train"], splits["independent"], splits["holdout"], config=cfg, target="age", seed=1)
    assert ev.tstr.task == "regression"
    assert {m.metric for m in ev.tstr.models} == {"r2"}


def test_bad_inputs(splits, fast_config):
    with pytest.raises(UsageError, match="target='nope'"):
        evaluate(splits["train"], splits["independent"], target="nope", config=fast_config)
    with pytest.raises(UsageError, match="quasi= names 'nope'"):
        evaluate(splits["train"], splits["independent"], quasi=["nope"], config=fast_config)
    with pytest.raises(InputError, match="shares no column"):
        evaluate(splits["train"], splits["independent"].add_prefix("x_"), config=fast_config)
    with pytest.raises(InputError, match="holdout: no column named 'age'"):
        evaluate(
            splits["train"], splits["independent"], splits["holdout"].drop(columns="age"), config=fast_config
        )
    with pytest.raises(UsageError, match="unknown evaluation part"):
        EvaluationConfig(skip=("everything",))
    with pytest.raises(UsageError, match="dcr_rows"):
        EvaluationConfig(dcr_rows=0)


def test_inputs_not_modified(splits, fast_config):
    before = splits["independent"].copy()
    evaluate(splits["train"], splits["independent"], splits["holdout"], config=fast_config, seed=1)
    assert splits["independent"].equals(before)
