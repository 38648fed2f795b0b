"""anonlab's implementation of anonymeter's three attacks (Giomi et al. 2023): hand-worked cases, a release that
copies its training records (high risk) against one drawn independently (low risk), bad inputs, and equivalence
with the anonymeter package where it is installed."""

import math

import numpy as np
import pandas as pd
import pytest

from anonlab.errors import UsageError
from anonlab.evaluation.metrics import anonymeter_attacks as A


def _people(n: int, seed: int) -> pd.DataFrame:
    """Continuous columns (no two records at the same distance) plus categories."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(50, 10, n),
            "b": rng.uniform(0, 1000, n),
            "c": rng.exponential(3.0, n),
            "d": rng.normal(0, 1, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "secret": rng.choice(["s1", "s2", "s3", "s4", "s5"], n),
        }
    )


@pytest.fixture(scope="module")
def tables():
    ori, ctl, other = _people(300, 1), _people(300, 2), _people(300, 3)
    return ori, ctl, other


# -- statistics, by hand -----------------------------------------------------------------------------------------


def test_wilson_rate_and_residual_risk_by_hand():
    z = 1.959963984540054
    rate, err = A.success_rate(100, 30, 0.95)
    assert rate == pytest.approx((30 + z * z / 2) / (100 + z * z))
    assert err == pytest.approx(z / (100 + z * z) * math.sqrt(30 * 70 / 100 + z * z / 4))
    zero, zero_err = A.success_rate(50, 0)
    assert 0 < zero < 0.05 and zero_err == pytest.approx(zero)  # Wilson: never a zero-width interval at 0
    with pytest.raises(ValueError):
        A.success_rate(0, 0)
    r = A._result("x", (100, 100, 100), 60, 10, 20, 0.95, {})
    a, ae = A.success_rate(100, 60)
    c, ce = A.success_rate(100, 20)
    expect = (a - c) / (1 - c)
    half = math.sqrt((ae / (1 - c)) ** 2 + (ce * (a - 1) / (1 - c) ** 2) ** 2)
    assert r.risk == pytest.approx(expect) and r.interval == pytest.approx((expect - half, expect + half))
    assert r.beats_baseline and r.to_dict()["n_attacks"] == [100, 100, 100]
    worse = A._result("x", (100, 100, 100), 10, 5, 40, 0.95, {})
    assert worse.risk == 0.0 and worse.interval[0] == 0.0  # control beats attack: clipped to no risk


def test_gower_distance_by_hand():
    q = pd.DataFrame({"x": [0.0, 10.0], "k": ["u", "v"]})
    c = pd.DataFrame({"x": [0.0, 5.0, 10.0, 10.0], "k": ["v", "u", "v", "u"]})
    d, idx = A.gower_neighbours(q, c, k=2, return_distance=True)
    # range of x over both tables is 10: |dx| / 10, plus 1 per category mismatch
    # and ties (records 0 and 3 are both 1.0 from each query) go to the first record
    assert idx.tolist() == [[1, 0], [2, 0]]
    assert d.tolist() == [[0.5, 1.0], [0.0, 1.0]]
    assert A.gower_neighbours(q.iloc[[1]], c.assign(k="w"), k=1).tolist() == [[2]]
    # a missing value is its own value: 0 from missing, 1 from anything else
    qm = pd.DataFrame({"x": [np.nan], "k": [None]})
    dm, im = A.gower_neighbours(
        qm, pd.DataFrame({"x": [1.0, np.nan], "k": ["u", None]}), k=2, return_distance=True
    )
    assert im.tolist() == [[1, 0]] and dm.tolist() == [[0.0, 2.0]]


def test_inference_counts_by_hand():
    # the release keeps the first two people's secrets next to their aux values and swaps the others
    ori = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "s": ["a", "b", "c", "d"]})
    syn = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "s": ["a", "b", "d", "c"]})
    ctl = pd.DataFrame({"x": [1.1, 2.1, 3.1, 4.1], "s": ["z", "z", "z", "z"]})
    r = A.inference_risk(ori, syn, ["x"], "s", ctl, n_attacks=None, seed=0)
    assert (r.n_success, r.n_control, r.n_attacks) == (2, 0.0, (4, 4, 4))
    # numbers: right within 5% of the guess
    ori_n = pd.DataFrame({"x": [1.0, 2.0, 3.0], "s": [100.0, 100.0, 100.0]})
    syn_n = pd.DataFrame({"x": [1.0, 2.0, 3.0], "s": [104.0, 96.0, 90.0]})
    r = A.inference_risk(ori_n, syn_n, ["x"], "s", n_attacks=None, seed=0)
    assert r.detail["regression"] and r.n_success == 2 and r.control is None


# -- copy versus independent release -------------------------------------------------------------------------------


def _independent(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each column shuffled on its own: the marginals of the population, no record of anyone."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: df[c].to_numpy()[rng.permutation(len(df))] for c in df.columns})


def test_copy_is_high_risk_independent_is_low(tables):
    ori, ctl, other = tables
    indep = _independent(other, 9)
    aux = (["a", "b"], ["c", "d"])
    cases = {
        "singling_out": lambda syn: A.singling_out_risk(
            ori, syn, ctl, n_attacks=100, mode="univariate", seed=1
        ),
        "singling_out_multivariate": lambda syn: A.singling_out_risk(
            ori, syn, ctl, n_attacks=100, n_cols=3, max_attempts=20_000, seed=1
        ),
        "linkability": lambda syn: A.linkability_risk(
            ori, syn, aux, ctl, n_attacks=200, n_neighbors=1, seed=1
        ),
        "inference": lambda syn: A.inference_risk(
            ori, syn, ["a", "b", "c", "d", "colour"], "secret", ctl, n_attacks=200, seed=1
        ),
    }
    for name, run in cases.items():
        copy, ind = run(ori.copy()), run(indep)
        assert copy.attack == ind.attack == name
        assert copy.risk > 0.5 and copy.interval[0] > 0.3, (name, copy)
        assert ind.risk < 0.2 and ind.interval[0] < 0.05, (name, ind)
    # a copy: linked and inferred for every target (each record is its own nearest neighbour)
    assert cases["linkability"](ori.copy()).n_success == 200
    assert cases["inference"](ori.copy()).n_success == 200


def test_seeded_and_reproducible(tables):
    ori, ctl, other = tables
    runs = [
        A.singling_out_risk(ori, other, ctl, n_attacks=50, max_attempts=5_000, seed=4).to_dict()
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    a = A.linkability_risk(ori, other, (["a"], ["b", "colour"]), ctl, n_attacks=100, n_neighbors=5, seed=4)
    b = A.linkability_risk(ori, other, (["a"], ["b", "colour"]), ctl, n_attacks=100, n_neighbors=5, seed=4)
    assert a == b and a.detail["n_neighbors"] == 5


def test_singling_out_bounds_and_size_correction(tables):
    ori, ctl, other = tables
    r = A.singling_out_risk(ori, other, ctl, n_attacks=10_000, max_attempts=3_000, seed=0)
    assert r.detail["attempts"] == 3_000 and r.detail["predicates_found"] < 10_000
    # a control set with duplicates (smaller once de-duplicated): its count is corrected for the size
    dup = pd.concat([ctl.iloc[:200], ctl.iloc[:100]], ignore_index=True)
    r = A.singling_out_risk(ori, ori, dup, n_attacks=50, mode="univariate", seed=0)
    assert r.detail["rows"]["control"] == 200 and "control_correction" in r.detail


def test_bad_inputs_are_refused(tables):
    ori, ctl, other = tables
    with pytest.raises(UsageError, match="lacks the column"):
        A.singling_out_risk(ori.drop(columns="a"), other, ctl, n_attacks=10)
    with pytest.raises(UsageError, match="no records"):
        A.inference_risk(ori.iloc[:0], other, ["a"], "secret", n_attacks=10)
    with pytest.raises(ValueError, match="mode"):
        A.singling_out_risk(ori, other, mode="bivariate")
    with pytest.raises(ValueError, match="not numeric"):
        A.inference_risk(ori, other, ["a"], "secret", regression=True)
    with pytest.raises(ValueError, match="two non-empty"):
        A.linkability_risk(ori, other, (["a"], []))


def test_anonymeter_risks_uses_anonlabs_implementation(tables):
    from anonlab.evaluation.metrics.attacks import METHODS, anonymeter_risks

    ori, ctl, other = tables
    res = anonymeter_risks(ori, ori, ctl, secret="secret", quasi=["a", "b", "c", "d"], seed=3, n_attacks=100)
    assert (
        res.method
        == METHODS["anonlab"]
        == "anonymeter's attacks (Giomi et al. 2023), anonlab's implementation"
    )
    assert res.to_dict()["method"] == res.method
    assert {r.name for r in res.risks} == {
        "singling_out",
        "singling_out_multivariate",
        "linkability",
        "inference",
    }
    for r in res.risks:
        assert r.error is None and r.value is not None and r.ci[0] <= r.value <= r.ci[1]
        assert r.value > 0.5, r  # the release is a copy of its training records
    with pytest.raises(UsageError, match="unknown anonymeter implementation"):
        anonymeter_risks(ori, ori, ctl, secret=None, quasi=None, seed=0, implementation="sdv")


# -- equivalence with the anonymeter package ------------------------------------------------------------------------


def _anonymeter():
    try:
        import anonymeter.evaluators as ev
    except ImportError:
        pytest.skip("the anonymeter package (the equivalence oracle) is not installed")
    import logging

    logging.getLogger("anonymeter").setLevel(logging.ERROR)
    return ev


@pytest.mark.filterwarnings("ignore")
def test_inference_and_linkability_equal_anonymeters_on_the_same_targets(tables):
    """Deterministic given the targets: with every record a target, the counts agree exactly."""
    ev = _anonymeter()
    ori, ctl, other = (t.iloc[:120] for t in tables)
    syn = pd.concat(
        [ori.iloc[:60], other], ignore_index=True
    )  # a release partly copied from training records
    aux = ["a", "b", "c", "d", "colour"]
    theirs = ev.InferenceEvaluator(ori, syn, aux_cols=aux, secret="secret", n_attacks=len(ori), control=ctl)
    theirs = theirs.evaluate(n_jobs=1).results()
    ours = A.inference_risk(ori, syn, aux, "secret", ctl, n_attacks=len(ori), seed=0)
    assert ours.rate == pytest.approx(theirs.attack_rate.value, abs=1e-12)
    assert ours.control == pytest.approx(theirs.control_rate.value, abs=1e-12)
    risk = ev.InferenceEvaluator(ori, syn, aux_cols=aux, secret="secret", n_attacks=len(ori), control=ctl)
    assert ours.risk == pytest.approx(risk.evaluate(n_jobs=1).risk().value, abs=1e-12)
    # a numeric secret (regression, relative tolerance)
    theirs = ev.InferenceEvaluator(
        ori, syn, aux_cols=["b", "c", "colour"], secret="a", regression=True, n_attacks=len(ori), control=ctl
    )
    theirs = theirs.evaluate(n_jobs=1).results()
    ours = A.inference_risk(ori, syn, ["b", "c", "colour"], "a", ctl, n_attacks=len(ori), seed=0)
    assert ours.rate == pytest.approx(theirs.attack_rate.value, abs=1e-12)
    assert ours.control == pytest.approx(theirs.control_rate.value, abs=1e-12)
    for k in (1, 5):
        split = (["a", "colour"], ["b", "c", "d"])
        theirs = ev.LinkabilityEvaluator(
            ori, syn, aux_cols=split, n_attacks=len(ori), n_neighbors=k, control=ctl
        )
        theirs = theirs.evaluate(n_jobs=1).results()
        ours = A.linkability_risk(ori, syn, split, ctl, n_attacks=len(ori), n_neighbors=k, seed=0)
        assert ours.rate == pytest.approx(theirs.attack_rate.value, abs=1e-12), k
        assert ours.control == pytest.approx(theirs.control_rate.value, abs=1e-12), k


@pytest.mark.filterwarnings("ignore")
def test_singling_out_agrees_with_anonymeter_within_intervals(adult):
    """Random queries differ, so the estimates agree within their confidence intervals (Adult samples)."""
    ev = _anonymeter()
    order = np.random.default_rng(11).permutation(len(adult))
    ori, ctl = (adult.iloc[order[i * 800 : (i + 1) * 800]].reset_index(drop=True) for i in (0, 1))
    syn = pd.concat([ori.iloc[:400], adult.iloc[order[2000:3600]]], ignore_index=True)  # 400 copies leak
    for mode in ("univariate", "multivariate"):
        theirs = ev.SinglingOutEvaluator(
            ori, syn, n_attacks=150, n_cols=3, control=ctl, seed=5, max_attempts=20_000
        )
        theirs = theirs.evaluate(mode=mode)
        t_risk, t_res = theirs.risk(), theirs.results()
        ours = A.singling_out_risk(ori, syn, ctl, n_attacks=150, mode=mode, max_attempts=20_000, seed=5)
        assert max(ours.interval[0], t_risk.ci[0]) <= min(ours.interval[1], t_risk.ci[1]), (
            mode,
            ours,
            t_risk,
        )
        assert abs(ours.rate - t_res.attack_rate.value) <= ours.rate_error + t_res.attack_rate.error
        assert abs(ours.control - t_res.control_rate.value) <= ours.control_error + t_res.control_rate.error


def test_ties_are_not_decided_by_the_release_row_order():
    """Categorical columns put many released records at the same distance: a release listing its copies of the
    training records first must not look riskier than the same records in another order."""
    rng = np.random.default_rng(0)

    def people(n):
        return pd.DataFrame({c: rng.choice(["x", "y", "z"], n) for c in "pqrs"})

    ori, ctl, other = people(200), people(200), people(2000)
    first = pd.concat([ori, other], ignore_index=True)
    last = pd.concat([other, ori], ignore_index=True)
    a = A.linkability_risk(ori, first, (["p", "q"], ["r", "s"]), ctl, n_attacks=200, n_neighbors=3, seed=2)
    b = A.linkability_risk(ori, last, (["p", "q"], ["r", "s"]), ctl, n_attacks=200, n_neighbors=3, seed=2)
    assert abs(a.rate - b.rate) <= a.rate_error + b.rate_error
    assert a.rate < 0.2  # first-of-equals tie-breaking linked 34% of the targets with the copies first
