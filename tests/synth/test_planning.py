"""Tables too small for the budget: the pre-fit check, the fallback plan, and what it costs (synth.planning)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from anonlab.datasets import adult_schema, load_adult
from anonlab.errors import UsageError
from anonlab.privacy.ledger import Ledger
from anonlab.synth.base import Budget, get_method
from anonlab.synth.encoding import Encoding
from anonlab.synth.planning import (
    AIM_SNR_THRESHOLD,
    ROW_COUNT_SHARE,
    SmallTableWarning,
    plan_small_table,
)
from anonlab.synth.selection import SELECT_SHARE


@pytest.fixture(scope="module")
def adult():
    return load_adult()


def _adult_sizes():
    enc = Encoding.from_schema(adult_schema())
    return enc.sizes, enc.names


def _fit(method, df, eps, ledger=None, **params):
    params.setdefault("binning", "public")  # the budget arithmetic below is the plan's, without cut points
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = get_method(method)(seed=1, iters=50, point_masses=False, **params).fit(
            df, adult_schema(), Budget(eps, 1e-9), ledger=ledger
        )
    small = [str(w.message) for w in caught if issubclass(w.category, SmallTableWarning)]
    return m, small


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_warns_on_200_rows_of_15_columns_at_epsilon_03_and_falls_back_to_one_way(adult, method):
    m, small = _fit(method, adult.sample(200, random_state=0), 0.3)
    assert len(small) == 1 and "\n" not in small[0]
    assert "too small for the budget" in small[0] and "rows/cell" in small[0]
    plan = m.privacy_.details["small_table"]
    assert plan["mode"] == "1-way" and plan["n_from"] == "dp row count"
    assert all(len(c) == 1 for c in m.measured_)  # the DP 1-way baseline: each column on its own
    assert len(m.measured_) == 15


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_no_warning_on_full_adult_at_epsilon_1(method):
    sizes, names = _adult_sizes()
    rho = Budget(1.0, 1e-9).rho * (1 - ROW_COUNT_SHARE)
    for n in (32_400, 32_561, 32_700):  # a DP row count lands near the real 32,561
        plan = plan_small_table(method, sizes, names, rho, n, n_from="dp row count")
        assert plan.mode == "full" and plan.warning() is None
    # and the same plan on 1,000 rows warns and measures fewer pairs
    small = plan_small_table(method, sizes, names, rho, 1000)
    assert small.mode == "pairs" and 0 < small.edges < 14 and "1000 rows" in small.warning()


def test_full_adult_mst_fit_at_epsilon_1_does_not_warn_and_measures_the_whole_tree(adult):
    m, small = _fit("mst", adult, 1.0)
    assert small == []
    assert m.privacy_.details["small_table"]["mode"] == "full"
    assert sum(len(c) == 2 for c in m.measured_) == 14


def test_the_plan_is_a_function_of_public_facts_only(adult):
    d = adult.sample(1000, random_state=1).reset_index(drop=True)
    d_prime = d.iloc[1:]  # a neighbour: one record removed
    plans = []
    for table in (d, d_prime):
        m, _ = _fit("mst", table, 1.0, rows_hint=1000)
        plans.append(m.privacy_.details["small_table"])
    assert plans[0] == plans[1]
    assert plans[0]["mode"] == "pairs" and plans[0]["n"] == 1000
    # with a DP row count, the recorded plan is the plan of that count: nothing else of the table enters it
    m, _ = _fit("mst", d, 1.0)
    det = m.privacy_.details
    sizes, names = _adult_sizes()
    b = Budget(1.0, 1e-9)
    rho = b.rho * (1 - ROW_COUNT_SHARE - SELECT_SHARE)  # the fit's model (the model choice's share apart)
    again = plan_small_table("mst", sizes, names, rho, det["n_estimate"], n_from="dp row count")
    assert det["small_table"] == again.to_dict()
    # and it is deterministic in those facts
    assert plan_small_table("mst", sizes, names, rho, 777) == plan_small_table("mst", sizes, names, rho, 777)


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_the_row_count_is_charged_and_itemised(adult, tmp_path, method):
    path = tmp_path / "l.ledger"
    Ledger.create(path, epsilon=5.0, delta=1e-9)
    budget = Budget(1.0, 1e-9)
    m, _ = _fit(method, adult.sample(300, random_state=2), 1.0, ledger=Ledger.open(path))
    entry = Ledger.open(path).entries[-1]
    assert entry.rho == pytest.approx(budget.rho)  # one entry: the whole fit, the count included
    count = entry.details["row_count"]
    assert count["share"] == ROW_COUNT_SHARE
    assert count["rho"] == pytest.approx(ROW_COUNT_SHARE * budget.rho)
    assert count["sigma"] == pytest.approx(1 / math.sqrt(2 * count["rho"]))
    det = m.privacy_.details
    assert det["row_count"]["rho"] == pytest.approx(count["rho"])
    assert det["rho_spent"] == pytest.approx(budget.rho)  # count + model = the charged rho
    assert abs(det["n_estimate"] - 300) < 6 * count["sigma"]
    assert m.privacy_.rho == pytest.approx(budget.rho)


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_with_rows_hint_nothing_is_spent_on_n(adult, tmp_path, method):
    path = tmp_path / "l.ledger"
    Ledger.create(path, epsilon=5.0, delta=1e-9)
    m, small = _fit(method, adult.sample(300, random_state=2), 1.0, ledger=Ledger.open(path), rows_hint=300)
    entry = Ledger.open(path).entries[-1]
    assert "row_count" not in entry.details
    assert entry.details["params"]["rows_hint"] == 300
    det = m.privacy_.details
    assert "row_count" not in det and "n_estimate" not in det
    assert det["small_table"]["n_from"] == "rows_hint" and det["small_table"]["n"] == 300
    assert det["rho_spent"] == pytest.approx(Budget(1.0, 1e-9).rho)  # all of it on marginals
    assert small and "your rows_hint" in small[0]


def test_off_spends_nothing_on_n_and_runs_the_method_as_designed(adult):
    m, small = _fit("mst", adult.sample(300, random_state=2), 1.0, small_table="off")
    assert small == []
    assert "small_table" not in m.privacy_.details and "row_count" not in m.privacy_.details
    assert sum(len(c) == 2 for c in m.measured_) == 14


def test_warn_mode_warns_but_fits_as_designed(adult):
    m, small = _fit("mst", adult.sample(300, random_state=2), 1.0, small_table="warn")
    assert small and "small_table='warn'" in small[0]
    assert m.privacy_.details["small_table"]["mode"] == "full"
    assert m.privacy_.details["small_table"]["checked_mode"] != "full"
    assert sum(len(c) == 2 for c in m.measured_) == 14


@pytest.mark.parametrize(
    "params", [{"rows_hint": 0}, {"rows_hint": "many"}, {"rows_hint": float("nan")}, {"small_table": "x"}]
)
def test_bad_parameters_are_refused_when_the_method_is_built(params):
    with pytest.raises(UsageError, match="rows_hint|small_table"):
        get_method("mst")(**params)


def test_the_plan_is_published_through_the_allow_lists(adult, tmp_path):
    m, _ = _fit("aim", adult.sample(200, random_state=3), 0.3)
    summary = m.summary()
    published = summary["privacy"]["details"]
    assert published["small_table"]["mode"] == "1-way"
    assert published["row_count"]["share"] == ROW_COUNT_SHARE
    m.save(tmp_path / "m.zip")  # the manifest passes its allow-list
    loaded = get_method("aim").load(tmp_path / "m.zip")
    assert len(loaded.sample(50, seed=1)) == 50


def _mean_2way_tv(real, synth, sizes):
    import itertools

    out = []
    for a, b in itertools.combinations(range(len(sizes)), 2):
        k = sizes[a] * sizes[b]
        p = np.bincount(real[:, a] * sizes[b] + real[:, b], minlength=k) / len(real)
        q = np.bincount(synth[:, a] * sizes[b] + synth[:, b], minlength=k) / len(synth)
        out.append(0.5 * np.abs(p - q).sum())
    return float(np.mean(out))


def test_fallback_beats_full_mst_and_matches_the_one_way_baseline_on_1000_adult_rows(adult):
    from benchmarks.small_tables import one_way_baseline

    df = adult.sample(1000, random_state=1000).reset_index(drop=True)
    full, _ = _fit("mst", df, 1.0, small_table="off")
    fallback, small = _fit("mst", df, 1.0)
    assert small
    codes, _ = full.encoding_.encode(adult_schema().coerce(df))
    sizes = full.encoding_.sizes
    rng = np.random.default_rng(0)
    tv_full = _mean_2way_tv(codes, full._sample_codes(len(df), rng), sizes)
    tv_fallback = _mean_2way_tv(codes, fallback._sample_codes(len(df), rng), sizes)
    tv_one_way = _mean_2way_tv(
        codes, one_way_baseline(codes, sizes, Budget(1.0, 1e-9).rho, 0, len(df)), sizes
    )
    assert tv_fallback < tv_full
    assert tv_fallback <= tv_one_way * 1.02


def test_cli_rows_hint_reaches_the_fit_and_the_sidecar(adult, tmp_path, capsys):
    from anonlab.cli import main

    src = tmp_path / "small.csv"
    adult.sample(200, random_state=4).to_csv(src, index=False)
    out = tmp_path / "twin.csv"
    rc = main(
        [
            "synth", str(src), "-o", str(out), "--method", "mst", "--schema", "adult", "--epsilon", "0.3",
            "--no-ledger", "--seed", "1", "--rows-hint", "200", "--quiet",
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0
    assert "table too small for the budget" in err
    car = json.loads((tmp_path / "twin.csv.json").read_text())
    assert car["params"]["rows_hint"] == 200
    assert car["privacy"]["details"]["small_table"]["n_from"] == "rows_hint"
    assert "row_count" not in car["privacy"]["details"]
    # refused for a method without the check, before anything is read
    rc = main(
        [
            "synth", str(src), "-o", str(tmp_path / "x.csv"), "--method", "napsu", "--schema", "adult",
            "--epsilon", "1", "--no-ledger", "--rows-hint", "200",
        ]
    )  # fmt: skip
    assert rc == 2 and "--rows-hint" in capsys.readouterr().err


def test_simplex_projection_is_the_euclidean_projection():
    from anonlab.synth.planning import simplex_projection

    y = np.array([50.0, -20.0, 5.0, 30.0])
    x = simplex_projection(y, 60.0)
    assert x.sum() == pytest.approx(60.0) and (x >= 0).all()
    np.testing.assert_allclose(x, [40.0, 0.0, 0.0, 20.0])  # tau = 10 on the two cells kept
    np.testing.assert_allclose(simplex_projection(np.array([-5.0, -7.0]), 1.0), [1.0, 0.0])


def test_a_wrong_rows_hint_changes_the_plan_but_does_not_scale_the_one_way_model(adult):
    df = adult.sample(300, random_state=5)
    m, small = _fit("mst", df, 1.0, rows_hint=10)
    assert small and m.privacy_.details["small_table"]["mode"] == "1-way"
    assert 100 < m.model_.total < 600  # from the noisy one-way totals, not the hint
    real = df["sex"].value_counts(normalize=True)
    synth = m.sample(2000, seed=1)["sex"].value_counts(normalize=True)
    assert 0.5 * synth.reindex(real.index, fill_value=0).sub(real).abs().sum() < 0.15


#: COMPAS's encoded domain sizes under the draft `schema infer` writes (benchmarks/default_path.py): 18 columns,
#: 323 charge descriptions, 32-bin numbers, binary labels
COMPAS_SIZES = (2, 32, 3, 6, 21, 14, 18, 32, 33, 33, 2, 323, 10, 3, 10, 2, 2, 2)


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_a_compas_sized_table_falls_back_where_the_design_lost_to_the_one_way_baseline(method):
    # at 3,600 rows and epsilon 1, MST and AIM as designed scored 0.128 and 0.119 in mean 2-way TV, the DP 1-way
    # baseline 0.117 and the fallback 0.106 and 0.105 (benchmarks/default_path.py): the check must fall back there,
    # and must not at twice the rows
    names = [f"c{j}" for j in range(len(COMPAS_SIZES))]
    rho = Budget(1.0, 1e-9).rho * (1 - ROW_COUNT_SHARE) * 0.81  # cut points and densities take their shares
    small = plan_small_table(method, COMPAS_SIZES, names, rho, 3600)
    assert small.mode == "pairs" and 0 < small.edges <= 17 and len(small.pairs) < 153
    assert plan_small_table(method, COMPAS_SIZES, names, rho, 7200).mode == "full"


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_one_way_mode_is_the_dp_one_way_baseline_whatever_the_check_says(adult, method):
    m, small = _fit(method, adult.sample(3000, random_state=5), 1.0, small_table="1-way")
    assert small == []  # asked for: no warning
    assert m.privacy_.details["small_table"]["mode"] == "1-way"
    # AIM checks pairs at a higher threshold than MST (its first one-way measurements are noisier)
    assert m.privacy_.details["small_table"]["threshold"] == (AIM_SNR_THRESHOLD if method == "aim" else 1.0)
    assert all(len(c) == 1 for c in m.measured_) and len(m.measured_) == 15
    assert "compressed" not in m.privacy_.details
    assert m.privacy_.details["rho_spent"] == pytest.approx(Budget(1.0, 1e-9).rho)
