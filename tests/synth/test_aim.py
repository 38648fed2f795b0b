"""AIM's budget schedule: the share of rho on its first one-way measurements (``one_way_share``), the rounds on
the rest, the exact zCDP total, and bad values refused before anything is read or charged."""

from __future__ import annotations

import math

import pytest

import anonlab.synth.aim as aim
from anonlab.errors import UsageError
from anonlab.synth import AIM, Budget
from tests.synth.test_methods import CATEGORICAL

pytestmark = pytest.mark.filterwarnings("ignore::anonlab.errors.PrivacyWarning")

FAST = {"rounds": 18, "iters": 50, "round_iters": 20, "small_table": "off"}


@pytest.mark.parametrize("share", [None, 0.05, 0.3, 0.9])
@pytest.mark.parametrize("d, rounds", [(3, 48), (15, 240), (4, 4)])
def test_round_plan_spends_exactly_rho(share, d, rounds):
    rho = 0.0123
    sigma_1, sigma, eps = aim.round_plan(d, rho, rounds, share)
    one_way = d / (2 * sigma_1**2)
    per_round = 1 / (2 * sigma**2) + eps**2 / 2
    if share is None:  # AIM as published: the one-ways are measured at the rounds' sigma, each round rho / T
        assert sigma_1 == sigma and per_round == pytest.approx(rho / rounds)
        assert one_way == pytest.approx(aim._ALPHA * d * rho / rounds)
    else:
        assert one_way == pytest.approx(share * rho)
        assert max(rounds - d, 1) * per_round == pytest.approx((1 - share) * rho)
        assert 1 / (2 * sigma**2) == pytest.approx(aim._ALPHA * per_round)


def _fit_recording(monkeypatch, planted, **params):
    calls, plans = [], []
    real_measure, real_plan = aim.measure, aim.round_plan

    def recording(codes, sizes, clique, sigma, noise):
        m, cost = real_measure(codes, sizes, clique, sigma, noise)
        calls.append((tuple(clique), sigma, cost))
        return m, cost

    def planning(d, rho, rounds, share):
        plans.append((d, rho, rounds, share))
        return real_plan(d, rho, rounds, share)

    monkeypatch.setattr(aim, "measure", recording)
    monkeypatch.setattr(aim, "round_plan", planning)
    model = AIM(seed=3, **{**FAST, **params}).fit(planted[["a", "b", "city"]], CATEGORICAL, Budget(1.0, 1e-9))
    return model, calls, plans


@pytest.mark.parametrize("share", [None, 0.3])
def test_a_fit_spends_its_one_way_share_and_exactly_its_rho(planted, monkeypatch, share):
    total = Budget(1.0, 1e-9).rho
    model, calls, plans = _fit_recording(monkeypatch, planted, one_way_share=share)
    ((d, rho, rounds, planned_share),) = plans  # rho: what is left for AIM's own measurements
    assert (d, rounds, planned_share) == (3, 18, share) and 0 < rho <= total
    first = calls[:3]
    assert [c for c, _, _ in first] == [(0,), (1,), (2,)]
    sigma_1, sigma, _ = aim.round_plan(3, rho, 18, share)
    if share is None:  # AIM as published: every one-way alike
        assert all(s == pytest.approx(sigma_1) for _, s, _ in first)
    else:  # the share split by domain size ** one_way_power: the many-valued column gets the least noise
        sizes = model.encoding_.sizes
        expected_sigmas = aim.one_way_sigmas(sizes, sigma_1, aim.DEFAULT_ONE_WAY_POWER)
        assert [s for _, s, _ in first] == pytest.approx(list(expected_sigmas))
        assert first[sizes.index(max(sizes))][1] == min(s for _, s, _ in first) < sigma_1
    one_way = sum(cost for _, _, cost in first)
    expected = share * rho if share is not None else aim._ALPHA * 3 * rho / 18
    assert one_way == pytest.approx(expected)
    assert calls[3][1] == pytest.approx(sigma)  # the first round at the plan's starting sigma
    assert sum(cost for _, _, cost in calls) <= rho * (1 + 1e-12)  # the rounds never overspend
    det = model.privacy_.details
    # everything the fit spent (its measurements, and any other part of the fit) is exactly the charged rho
    assert det["rho_spent"] == pytest.approx(total, rel=1e-9) and det["rho_spent"] <= total * (1 + 1e-12)
    assert model.privacy_.rho == pytest.approx(total)
    assert model.get_params()["one_way_share"] == share


def test_the_default_share_is_recorded_with_the_parameters():
    assert AIM().get_params()["one_way_share"] == aim.DEFAULT_ONE_WAY_SHARE
    assert aim.check_one_way_share(aim.DEFAULT_ONE_WAY_SHARE) == aim.DEFAULT_ONE_WAY_SHARE


def test_one_way_sigmas_split_the_same_rho_by_domain_size():
    sizes, sigma_1 = [2, 17, 300], 40.0
    for power in (0.0, 0.5, 2 / 3, 1.0):
        sig = aim.one_way_sigmas(sizes, sigma_1, power)
        assert sum(1 / (2 * s**2) for s in sig) == pytest.approx(3 / (2 * sigma_1**2))  # the same total rho
        # rho_j proportional to size_j ** power
        assert (1 / sig[2] ** 2) / (1 / sig[0] ** 2) == pytest.approx((300 / 2) ** power)
    assert list(aim.one_way_sigmas(sizes, sigma_1, 0.0)) == pytest.approx([sigma_1] * 3)
    assert AIM().get_params()["one_way_power"] == aim.DEFAULT_ONE_WAY_POWER
    for bad in (-0.1, 2.5, math.nan, "1", True, None):
        with pytest.raises(UsageError, match="one_way_power"):
            AIM(one_way_power=bad)


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.2, math.nan, math.inf, "a third", "0.3", True, [0.3]])
def test_bad_one_way_shares_are_refused_when_built(bad):
    with pytest.raises(UsageError, match="one_way_share"):
        AIM(one_way_share=bad)
    with pytest.raises(UsageError, match="one_way_share"):
        AIM().set_params(one_way_share=bad)


def test_aim_bins_numbers_in_16_by_default_and_takes_any_bins():
    assert AIM().bins == aim.DEFAULT_AIM_BINS == 16 and AIM(bins=32).bins == 32
    assert (
        "bins" not in AIM.default_params()
    )  # still a common parameter, recorded as `bins` in every artifact


@pytest.mark.parametrize("rounds", [2, 3])
def test_too_few_rounds_for_aim_as_published_are_refused_before_the_charge(planted, tmp_path, rounds):
    """AIM as published measures each one-way at one round's share: 3 columns need at least 4 rounds, else the
    one-ways alone would pass rho (this once failed after the charge with an internal accounting error)."""
    from anonlab.privacy.ledger import Ledger

    path = tmp_path / "l.ledger"
    Ledger.create(path, epsilon=5.0, delta=1e-6)
    fit = AIM(epsilon=1.0, seed=3, rounds=rounds, one_way_share=None)
    with pytest.raises(UsageError, match=f"rounds={rounds}: .* at least 4 rounds"):
        fit.fit(planted[["a", "b", "city"]], CATEGORICAL, ledger=path)
    assert Ledger.open(path).entries == []  # nothing charged
    AIM(seed=3, rounds=rounds, one_way_share=0.3, iters=50, round_iters=10).fit(
        planted[["a", "b", "city"]], CATEGORICAL, Budget(1.0, 1e-9)
    )  # with a share the one-ways have their own budget: any rounds
