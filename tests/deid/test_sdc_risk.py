"""SUDA2, individual risk with sampling weights and global risk (anonlab.deid.sdc_risk), checked by hand, against
sdcMicro's published test figures and against brute-force enumeration; shown by `assess`."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonlab.deid import assess
from anonlab.deid.sdc_risk import global_risk, individual_risk, nb_risk, suda2
from anonlab.errors import InputError, UsageError

# -- SUDA2 -----------------------------------------------------------------------------------------------------


def test_hand_worked_example_and_sdcmicro_contributions():
    # records (2,0,0), (1,3,6), (1,0,0): r0 is unique on a alone; r1 on b alone and on c alone; r2 on {a,b} and
    # {a,c} but on no single column. With m = 3 an MSU of size 1 scores 2 * 1 = 2 and of size 2 scores 1.
    d = pd.DataFrame({"a": [2, 1, 1], "b": [0, 3, 0], "c": [0, 6, 0]})
    s = suda2(d, ["a", "b", "c"])
    assert s.msu_counts.tolist() == [[1, 0, 0], [2, 0, 0], [0, 2, 0]]
    assert s.score.tolist() == [2, 4, 2]
    assert np.allclose(s.dis_score, [0.025, 0.05, 0.025])
    # sdcMicro's tests/testthat/test_suda2.R: this table's attribute contributions are 50, 37.5, 37.5
    assert s.contributions == {"a": 50.0, "b": 37.5, "c": 37.5}
    assert suda2(d, ["a", "c", "b"]).contributions == {"a": 50.0, "c": 37.5, "b": 37.5}
    # at most one column: r2 has no MSU
    s1 = suda2(d, ["a", "b", "c"], max_size=1)
    assert s1.msu_counts.tolist() == [[1], [2], [0]] and s1.special_uniques == 2


def _brute(rows: list[tuple], max_size: int) -> tuple[np.ndarray, np.ndarray]:
    m = len(rows[0])
    counts = np.zeros((len(rows), max_size), dtype=int)

    def unique(r, cols):
        key = tuple(rows[r][j] for j in cols)
        return sum(tuple(x[j] for j in cols) == key for x in rows) == 1

    for r in range(len(rows)):
        for size in range(1, max_size + 1):
            for cols in combinations(range(m), size):
                proper = [c for k in range(1, size) for c in combinations(cols, k)]
                if unique(r, cols) and not any(unique(r, c) for c in proper):
                    counts[r, size - 1] += 1
    weight = [math.prod(m - i for i in range(k, min(max_size, m - 1) + 1)) for k in range(1, max_size + 1)]
    return counts, counts @ np.array(weight)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda m: st.tuples(
            st.lists(st.tuples(*[st.sampled_from([0, 1, 2, None])] * m), min_size=1, max_size=12),
            st.integers(1, m),
        )
    )
)
def test_suda2_equals_brute_force_enumeration(case):
    rows, max_size = case
    m = len(rows[0])
    df = pd.DataFrame(rows, columns=[f"q{j}" for j in range(m)])
    s = suda2(df, list(df.columns), max_size=max_size)
    counts, score = _brute([tuple("NA" if v is None else v for v in r) for r in rows], max_size)
    assert s.msu_counts.tolist() == counts.tolist()
    assert s.score.tolist() == score.tolist()


def test_suda2_on_adult_30k_8_quasi_under_30s(adult):
    q = ["age", "sex", "race", "marital-status", "education", "native-country", "workclass", "occupation"]
    d = adult.head(30_000)
    t0 = time.perf_counter()
    s = suda2(d, q)
    assert time.perf_counter() - t0 < 30
    # every record with an MSU of all 8 columns or fewer is a sample unique on the 8, and the converse
    sizes = d[q].astype(str).agg("|".join, axis=1).map(Counter(d[q].astype(str).agg("|".join, axis=1)))
    assert s.special_uniques == int((sizes == 1).sum())


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [({"max_size": 0}, "max_size=0"), ({"max_size": 4}, "max_size=4"), ({"dis": 0}, "dis=0")],
)
def test_suda2_bad_parameters(kwargs, says):
    d = pd.DataFrame({"a": [1, 2], "b": [1, 1], "c": [2, 2]})
    with pytest.raises(UsageError, match=says):
        suda2(d, ["a", "b", "c"], **kwargs)


def test_suda2_bad_columns():
    d = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(InputError, match="quasi= names column 'x'"):
        suda2(d, ["x"])
    with pytest.raises(InputError, match="no rows"):
        suda2(d.head(0), ["a"])


# -- individual and global risk --------------------------------------------------------------------------------


def _nb_exact(f: int, F: float) -> float:
    """E[1 / (f + Y)] with Y ~ NegBin(f, p = f / F), summed directly."""
    from scipy.stats import nbinom

    p = f / F
    y = np.arange(0, 200_000)
    return float(np.sum(nbinom.pmf(y, f, p) / (f + y)))


def test_nb_risk_hand_computed():
    # f = 1, F = 4: p = 1/4, p / (1 - p) log(1 / p) = (1/3) log 4
    assert nb_risk(np.array([1]), np.array([4.0]))[0] == pytest.approx(math.log(4) / 3, rel=1e-12)
    # f = 2, F = 4: p = 1/2, p / (1 - p)^2 (p log p + 1 - p) = 2 (0.5 log 0.5 + 0.5) = 1 - log 2
    assert nb_risk(np.array([2]), np.array([4.0]))[0] == pytest.approx(1 - math.log(2), rel=1e-12)
    # the whole population sampled: 1 / f
    assert nb_risk(np.array([1, 2, 5]), np.array([1.0, 2.0, 5.0])).tolist() == [1.0, 0.5, 0.2]
    for f, F in ((1, 4.0), (2, 4.0), (1, 1000.0), (2, 37.0)):
        assert nb_risk(np.array([f]), np.array([F]))[0] == pytest.approx(_nb_exact(f, F), rel=1e-6)
    for f, F in ((3, 6.0), (4, 40.0), (10, 11.0), (3, 3000.0), (50, 60.0)):
        assert nb_risk(np.array([f]), np.array([F]))[0] == pytest.approx(_nb_exact(f, F), rel=1e-6)
    # large classes of a large population: finite, about 1 / F
    r = nb_risk(np.array([500]), np.array([50_000.0]))[0]
    assert np.isfinite(r) and r == pytest.approx(1 / 50_000, rel=0.01)


def test_individual_and_global_risk_with_weights():
    d = pd.DataFrame({"sex": ["m", "m", "f", "f", "f"], "w": [2, 2, 4, 1, 1]})
    r = individual_risk(d, ["sex"], weights="w")
    assert r.f.tolist() == [2, 2, 3, 3, 3] and r.F.tolist() == [4, 4, 6, 6, 6]
    assert r.risk[0] == pytest.approx(1 - math.log(2))
    assert r.risk[2] == pytest.approx(nb_risk(np.array([3]), np.array([6.0]))[0])
    g = global_risk(r)
    assert g.expected_reidentifications == pytest.approx(r.risk.sum()) and g.share == pytest.approx(
        r.risk.mean()
    )
    # without weights: a sampling fraction gives every record 1 / pi; neither: 1 / f
    assert individual_risk(d, ["sex"], sampling_fraction=0.5).F.tolist() == [4, 4, 6, 6, 6]
    assert individual_risk(d, ["sex"]).risk.tolist() == pytest.approx([0.5, 0.5, 1 / 3, 1 / 3, 1 / 3])


@pytest.mark.parametrize(
    ("weights", "error", "says"),
    [
        ("nope", InputError, "weights= names column 'nope'"),
        ("bad", InputError, "row 2"),
        ([1, 2], UsageError, "one weight per record"),
    ],
)
def test_individual_risk_bad_weights(weights, error, says):
    d = pd.DataFrame({"a": [1, 2, 3], "bad": ["3", "x", "2"]})
    with pytest.raises(error, match=says):
        individual_risk(d, ["a"], weights=weights)


def test_weights_and_sampling_fraction_exclusive():
    with pytest.raises(UsageError, match="not both"):
        individual_risk(pd.DataFrame({"a": [1], "w": [2]}), ["a"], weights="w", sampling_fraction=0.5)


# -- in assess -------------------------------------------------------------------------------------------------


def test_assess_adds_an_sdc_section_only_when_asked(adult):
    q = ["age", "sex", "race"]
    plain = assess(adult.head(2000), quasi=q)
    assert "sdc" not in plain.to_dict()
    rep = assess(adult.head(2000), quasi=q, suda=True, weights="fnlwgt")
    d = rep.to_dict()
    assert {k: v for k, v in d.items() if k != "sdc"} == plain.to_dict()
    assert set(d["sdc"]) == {"suda", "individual", "global"}
    assert d["sdc"]["suda"]["records_with_msu"] == plain.sample_uniques
    assert d["sdc"]["individual"]["weights"] == "weights fnlwgt"
    assert "SUDA2" in rep._repr_html_() and "expected re-identifications" in rep._repr_html_()
    with pytest.raises(UsageError, match="suda_max_size=9"):
        assess(adult.head(50), quasi=q, suda_max_size=9)


def test_assess_cli_suda_and_weights(cli, adult, tmp_path):
    p = tmp_path / "a.csv"
    adult.head(2000).to_csv(p, index=False)
    code, out, err = cli("assess", p, "--quasi", "age,sex,race", "--suda", "--weights", "fnlwgt")
    assert code == 0, err
    assert "SUDA2 records with an MSU" in out and "expected re-identifications" in out
    code, out, err = cli("assess", p, "--quasi", "age,sex,race", "--suda-max-size", "2", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert (
        r["sdc"]["suda"]["max_size"] == 2 and r["sdc"]["individual"]["weights"] == "table is the population"
    )
    for extra, says in (
        (["--suda-max-size", "7"], "--suda-max-size 7"),
        (["--weights", "race"], "--weights column 'race'"),
        (["--suda", "--scheduler", "local:1"], "in-process only"),
    ):
        code, _, err = cli("assess", p, "--quasi", "age,sex,race", *extra)
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err
