"""The model choice of MST and AIM (synth.selection): held-out noisy pairs, what they cost, what is chosen."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from anonlab.datasets import adult_schema, load_adult
from anonlab.errors import UsageError
from anonlab.privacy.ledger import Ledger
from anonlab.schema import Column, Schema
from anonlab.synth.base import Budget, get_method
from anonlab.synth.selection import (
    MAX_PAIRS,
    SELECT_SHARE,
    HeldOut,
    choose,
    held_out_pairs,
    independent_model,
)

CATS = tuple(f"k{i:02d}" for i in range(20))


@pytest.fixture(scope="module")
def adult():
    return load_adult()


def _independent_table(n: int, seed: int) -> tuple[pd.DataFrame, Schema]:
    """Five independent columns of 20 equally likely categories: any dependence a model shows is noise."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"c{j}": rng.choice(CATS, size=n) for j in range(5)})
    schema = Schema(tuple(Column(f"c{j}", "other", "categorical", categories=CATS) for j in range(5)))
    return df, schema


def _fit(method, df, schema, eps, ledger=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_method(method)(seed=1, iters=50, point_masses=False, missing=False, **params).fit(
            df, schema, Budget(eps, 1e-9), ledger=ledger
        )


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_the_share_is_charged_in_the_fit_and_itemised(adult, tmp_path, method):
    cols = ["education", "sex", "relationship", "income-per-year"]
    path = tmp_path / "l.ledger"
    Ledger.create(path, epsilon=5.0, delta=1e-9)
    budget = Budget(1.0, 1e-9)
    m = _fit(method, adult[cols].sample(3000, random_state=1), adult_schema(), 1.0, Ledger.open(path),
             binning="public")  # fmt: skip
    entry = Ledger.open(path).entries[-1]
    assert entry.rho == pytest.approx(budget.rho)  # one entry: the whole fit, the held-out pairs included
    assert entry.details["model_choice"] == {
        "share": SELECT_SHARE,
        "rho": pytest.approx(SELECT_SHARE * budget.rho),
    }
    det = m.privacy_.details
    choice = det["model_choice"]
    assert choice["rho"] == pytest.approx(SELECT_SHARE * budget.rho)
    assert choice["held_out_pairs"] == 6 and choice["sigma"] == pytest.approx(
        math.sqrt(6 / (2 * choice["rho"]))
    )
    assert det["rho_spent"] == pytest.approx(budget.rho)  # row count + held-out pairs + model = the charge
    assert m.privacy_.rho == pytest.approx(budget.rho)


def test_a_noisy_fit_of_independent_columns_releases_the_one_way_model():
    df, schema = _independent_table(3000, 1)
    m = _fit("mst", df, schema, 0.5, small_table="off")  # MST as designed learns noise on 20 x 20 pairs
    choice = m.privacy_.details["model_choice"]
    assert choice["chosen"] == "1-way"
    err = choice["squared_error_per_cell"]
    assert err["fit"] - err["1-way"] > 2 * choice["difference_sd_per_cell"]
    assert all(len(c) == 1 for c in m.model_.tree.cliques)  # the release is the independent model
    assert len(m.sample(100, seed=0)) == 100


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_a_large_correlated_table_keeps_the_fit(adult, method):
    cols = ["education", "education-num", "sex", "relationship", "income-per-year"]
    m = _fit(method, adult[cols].sample(5000, random_state=1), adult_schema(), 1.0, binning="public")
    choice = m.privacy_.details["model_choice"]
    assert choice["chosen"] == "fit"
    err = choice["squared_error_per_cell"]
    assert err["1-way"] - err["fit"] > 5 * choice["difference_sd_per_cell"]
    assert any(len(c) > 1 for c in m.model_.tree.cliques)


def test_the_choice_is_published_through_the_allow_lists(adult, tmp_path):
    cols = ["education", "sex", "relationship", "income-per-year"]
    m = _fit("aim", adult[cols].sample(2000, random_state=2), adult_schema(), 1.0, binning="public")
    published = m.summary()["privacy"]["details"]
    assert published["model_choice"]["chosen"] in ("fit", "1-way")
    assert "_held_out" not in published and "_held_out" not in m.privacy_.details
    m.save(tmp_path / "m.zip")  # the manifest passes its allow-list
    loaded = get_method("aim").load(tmp_path / "m.zip")
    assert loaded.privacy_.details["model_choice"] == m.privacy_.details["model_choice"]


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_the_same_seed_gives_the_same_choice_and_release(method):
    df, schema = _independent_table(2000, 3)
    a = _fit(method, df, schema, 1.0)
    b = _fit(method, df, schema, 1.0)
    assert a.privacy_.details == b.privacy_.details
    pd.testing.assert_frame_equal(a.sample(200, seed=4), b.sample(200, seed=4))


def test_zero_turns_the_choice_off(tmp_path):
    path = tmp_path / "l.ledger"
    Ledger.create(path, epsilon=5.0, delta=1e-9)
    df, schema = _independent_table(2000, 3)
    m = _fit("mst", df, schema, 1.0, Ledger.open(path), select_share=0)
    assert "model_choice" not in m.privacy_.details
    assert "model_choice" not in Ledger.open(path).entries[-1].details
    assert m.privacy_.details["rho_spent"] == pytest.approx(Budget(1.0, 1e-9).rho)


def test_the_one_way_baseline_spends_nothing_on_a_choice():
    df, schema = _independent_table(2000, 3)
    m = _fit("aim", df, schema, 1.0, small_table="1-way")
    assert "model_choice" not in m.privacy_.details
    assert m.privacy_.details["rho_spent"] == pytest.approx(Budget(1.0, 1e-9).rho)


@pytest.mark.parametrize("value", [-0.1, 0.6, float("nan"), float("inf"), "0.1", True, None])
@pytest.mark.parametrize("method", ["mst", "aim"])
def test_bad_shares_are_refused_when_the_method_is_built(method, value):
    with pytest.raises(
        UsageError, match=r"select_share=.*: must be a number from 0 \(no model choice\) to 0.5"
    ):
        get_method(method)(select_share=value)


def test_cli_names_the_flag(tmp_path, capsys):
    from anonlab.cli import main

    df, _ = _independent_table(50, 0)
    src = tmp_path / "t.csv"
    df.to_csv(src, index=False)
    code = main(["synth", str(src), "-o", str(tmp_path / "o.csv"), "--method", "mst", "--epsilon", "1",
                 "--no-ledger", "--select-share", "0.9"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "--select-share" in err and "Traceback" not in err


def test_held_out_pairs_depend_on_the_number_of_columns_only():
    assert held_out_pairs(4) == ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
    many = held_out_pairs(30)
    assert len(many) == MAX_PAIRS == len(set(many)) and many == held_out_pairs(30)
    assert all(a < b < 30 for a, b in many)


def test_the_squared_error_estimate_is_unbiased_for_the_difference():
    # known truth x, two fixed candidates, many noisy held-out draws: the mean estimated difference matches
    df, schema = _independent_table(4000, 5)
    m = _fit("mst", df, schema, 2.0, small_table="off", select_share=0)
    sizes = m.encoding_.sizes
    one = independent_model(m.model_)
    codes, _ = m.encoding_.encode(schema.coerce(df))
    pairs = held_out_pairs(len(sizes))
    truth = [
        np.bincount(codes[:, a] * sizes[b] + codes[:, b], minlength=sizes[a] * sizes[b]) for a, b in pairs
    ]
    from anonlab.synth.estimation import Measurement
    from anonlab.synth.selection import expanded_counts

    true_diff = sum(
        (
            (t.reshape(sizes[a], sizes[b]) - expanded_counts(m.model_, m.compression_, (a, b), sizes)) ** 2
        ).sum()
        - ((t.reshape(sizes[a], sizes[b]) - expanded_counts(one, m.compression_, (a, b), sizes)) ** 2).sum()
        for t, (a, b) in zip(truth, pairs, strict=True)
    )
    rng = np.random.default_rng(0)
    sigma, diffs = 40.0, []
    for _ in range(200):
        meas = [
            Measurement(
                (a, b), t.reshape(sizes[a], sizes[b]) + rng.normal(0, sigma, (sizes[a], sizes[b])), sigma
            )
            for t, (a, b) in zip(truth, pairs, strict=True)
        ]
        choice, _ = choose(m.model_, m.compression_, HeldOut(pairs, meas, sigma, 0.0), sizes, 0.1)
        diffs.append(choice.squared_error["fit"] - choice.squared_error["1-way"])
    cells = choice.cells
    assert np.mean(diffs) == pytest.approx(true_diff / cells, abs=3 * np.std(diffs) / math.sqrt(len(diffs)))
    assert np.std(diffs) == pytest.approx(choice.difference_sd, rel=0.2)
