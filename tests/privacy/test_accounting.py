"""Accounting against closed forms and OpenDP's own privacy maps."""

import math

import opendp.prelude as dp
import pytest

from anonlab.errors import UsageError
from anonlab.privacy.accounting import (
    ZCDP,
    ApproxDP,
    PureDP,
    calibrate_gaussian,
    compose_zcdp,
    gaussian_rho,
    gaussian_sigma_for_rho,
    laplace_epsilon,
    pure_to_zcdp,
    rho_for,
    zcdp_delta,
    zcdp_epsilon,
)

dp.enable_features("contrib")


def _opendp_eps(rho: float, delta: float) -> float:
    sigma = 1.0 / math.sqrt(2.0 * rho)
    meas = dp.c.make_zCDP_to_approxDP(
        dp.m.make_gaussian(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=sigma)
    )
    return meas.map(1.0).epsilon(delta)


@pytest.mark.parametrize("rho", [1e-4, 0.01, 0.3, 1.0, 8.0])
@pytest.mark.parametrize("delta", [1e-10, 1e-6, 1e-3])
def test_tight_conversion_matches_opendp(rho, delta):
    assert zcdp_epsilon(rho, delta) == pytest.approx(_opendp_eps(rho, delta), rel=1e-9)
    assert ZCDP(rho).to_approx(delta).epsilon == pytest.approx(_opendp_eps(rho, delta), rel=1e-9)


@pytest.mark.parametrize("rho", [0.01, 0.5, 3.0])
def test_tight_conversion_beats_classic_bound(rho):
    delta = 1e-6
    assert zcdp_epsilon(rho, delta) <= rho + 2 * math.sqrt(rho * math.log(1 / delta))


def test_delta_and_epsilon_conversions_are_inverse():
    eps = zcdp_epsilon(0.2, 1e-7)
    assert zcdp_delta(0.2, eps) == pytest.approx(1e-7, rel=1e-6)


@pytest.mark.parametrize("eps,delta", [(0.1, 1e-8), (1.0, 1e-6), (8.0, 1e-5)])
def test_rho_for_is_the_largest_fitting_rho(eps, delta):
    rho = rho_for(eps, delta)
    assert zcdp_epsilon(rho, delta) <= eps
    assert zcdp_epsilon(rho * (1 + 1e-6), delta) > eps


def test_composition_and_pure_conversion():
    assert compose_zcdp([ZCDP(0.1), ZCDP(0.2), PureDP(1.0)]).rho == pytest.approx(0.8)
    assert pure_to_zcdp(2.0) == ZCDP(2.0)
    assert PureDP(0.5).to_zcdp().rho == pytest.approx(0.125)


def test_gaussian_calibration_round_trip_and_opendp_map():
    sigma = gaussian_sigma_for_rho(0.125, l2_sensitivity=2.0)
    assert sigma == pytest.approx(4.0)
    assert gaussian_rho(sigma, 2.0).rho == pytest.approx(0.125)
    meas = dp.m.make_gaussian(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=sigma)
    assert meas.map(2.0) == pytest.approx(0.125)
    per = calibrate_gaussian(1.0, 1e-6, 10)
    assert 10 * gaussian_rho(per).rho == pytest.approx(rho_for(1.0, 1e-6))


def test_laplace_calibration_round_trip():
    from anonlab.privacy.accounting import calibrate_laplace

    b = calibrate_laplace(1.0, 4, l1_sensitivity=2.0)
    assert b == pytest.approx(8.0)
    assert 4 * laplace_epsilon(b, 2.0).epsilon == pytest.approx(1.0)


def test_laplace_cost_matches_opendp():
    meas = dp.m.make_laplace(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=2.5)
    assert laplace_epsilon(2.5, 1.5).epsilon == pytest.approx(meas.map(1.5))


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "x"])
def test_bad_epsilon_refused(bad):
    with pytest.raises(UsageError):
        rho_for(bad, 1e-6)


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1, float("nan")])
def test_bad_delta_refused(bad):
    with pytest.raises(UsageError):
        ApproxDP(1.0, bad)
    with pytest.raises(UsageError):
        rho_for(1.0, bad)


def test_zcdp_needs_positive_delta():
    with pytest.raises(UsageError):
        zcdp_epsilon(0.1, 0.0)
    assert zcdp_epsilon(0.0, 0.0) == 0.0
