"""Differential privacy: typed privacy measures and accounting, OpenDP mechanisms, seeded noise, budget ledgers."""

from anonlab.privacy.accounting import (
    ZCDP,
    ApproxDP,
    PureDP,
    compose_zcdp,
    gaussian_sigma_for_rho,
    pure_to_zcdp,
    rho_for,
)
from anonlab.privacy.ledger import Ledger, dataset_fingerprint
from anonlab.privacy.mechanisms import Release, exponential, gaussian, laplace
from anonlab.privacy.noise import NoiseSource

__all__ = [
    "PureDP",
    "ApproxDP",
    "ZCDP",
    "compose_zcdp",
    "pure_to_zcdp",
    "rho_for",
    "gaussian_sigma_for_rho",
    "NoiseSource",
    "Release",
    "gaussian",
    "laplace",
    "exponential",
    "Ledger",
    "dataset_fingerprint",
]
