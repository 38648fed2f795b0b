"""DPVI's accountant (dp-accounting PLD, Poisson subsampling) and its keyed noise stream."""

from __future__ import annotations

import logging

import numpy as np
import pytest

pytest.importorskip("dp_accounting", reason="the synth extra (dp-accounting) is not installed")

from anonlab.synth.twinify.accountant import (  # noqa: E402
    calibrate_noise_multiplier,
    dpsgd_event,
    pld_epsilon,
)
from anonlab.synth.twinify.dpvi import KeyedNormals, poisson_batches  # noqa: E402


def _rdp_epsilon(sigma, q, steps, delta):
    import dp_accounting as dpa

    logging.getLogger("absl").setLevel(logging.ERROR)  # RDP's series warnings for low orders
    acc = dpa.rdp.RdpAccountant()
    acc.compose(dpsgd_event(sigma, q, steps))
    return float(acc.get_epsilon(delta))


@pytest.mark.parametrize(("epsilon", "q", "steps"), [(1.0, 0.1, 30), (2.0, 0.05, 200), (0.5, 1.0, 3)])
def test_calibrated_noise_meets_the_target_and_agrees_with_rdp(epsilon, q, steps):
    sigma, eps = calibrate_noise_multiplier(epsilon, 1e-6, q, steps)
    assert eps <= epsilon and eps > 0.97 * epsilon  # at most the target, and close to it
    assert pld_epsilon(sigma, q, steps, 1e-6) == pytest.approx(eps)
    assert pld_epsilon(sigma * 0.99, q, steps, 1e-6) > eps  # less noise spends more
    # independent check: the RDP accountant's (looser) bound for the same mechanism is above the PLD's but near
    rdp = _rdp_epsilon(sigma, q, steps, 1e-6)
    assert eps * 0.98 <= rdp <= 1.6 * epsilon


def test_replace_one_needs_more_noise_than_add_remove():
    s_ar, _ = calibrate_noise_multiplier(1.0, 1e-6, 0.1, 30, "add/remove")
    s_r1, e_r1 = calibrate_noise_multiplier(1.0, 1e-6, 0.1, 30, "replace-one")
    assert s_r1 > s_ar and e_r1 <= 1.0


def test_keyed_normals_are_reproducible_float64_standard_normals():
    a, b, c = KeyedNormals(b"k" * 32), KeyedNormals(b"k" * 32), KeyedNormals(b"j" * 32)
    x = a.normal("noise", (200_000,))
    assert x.dtype == np.float64 and np.array_equal(x, b.normal("noise", (200_000,)))
    assert not np.array_equal(x, c.normal("noise", (200_000,)))
    assert not np.array_equal(x, a.normal("noise", (200_000,)))  # the next block differs
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01 and abs(np.mean(x**4) - 3) < 0.05
    assert len(np.unique(x)) == len(x)  # 53-bit uniforms, not float32
    with pytest.raises(ValueError):
        KeyedNormals(b"short")


def test_poisson_batches_take_each_row_with_probability_q():
    batches = poisson_batches(KeyedNormals(b"s" * 32), 1000, 0.1, 300)
    sizes = np.array([len(b) for b in batches])
    assert len(batches) == 300 and abs(sizes.mean() - 100) < 2 and sizes.std() > 5  # Binomial(1000, 0.1)
    hits = np.bincount(np.concatenate(batches), minlength=1000)
    assert abs(hits.mean() - 30) < 0.5 and hits.std() < 8
    again = poisson_batches(KeyedNormals(b"s" * 32), 1000, 0.1, 300)
    assert all(np.array_equal(x, y) for x, y in zip(batches, again, strict=True))
