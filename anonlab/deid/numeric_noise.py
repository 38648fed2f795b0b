"""Noise added to numeric columns: sdcMicro's ``addNoise`` methods ``additive``, ``correlated`` and ``correlated2``.

- ``additive``: each column gets independent normal noise with standard deviation ``noise / 100`` times the
  column's (sdcMicro's default ``noise = 150``). Means are kept in expectation; variances grow by
  ``(noise / 100)**2`` and correlations shrink.
- ``correlated``: the noise vectors are drawn with covariance ``noise / 100`` times the columns' covariance
  (Kim 1986), so correlations are kept in expectation (covariances grow by the factor ``1 + noise / 100``).
- ``correlated2``: each column becomes ``x sqrt(1 - delta**2) + delta e`` with ``e`` normal of the column's
  standard deviation and mean ``(1 - sqrt(1 - delta**2)) / delta`` times the column's mean: mean and variance are
  kept in expectation (Brand 2002, as sdcMicro's ``correlated2``).

Privacy meaning: a released value is the true one plus noise an attacker does not see; distance-based record
linkage still finds many records when the noise is small (measure it with ``evaluate``). Not differential privacy:
the noise scale is read from the data and nothing bounds what one record changes. Missing values stay missing.
"""

from __future__ import annotations

import numpy as np

from anonlab.deid.perturbation import Perturbation, Perturbed
from anonlab.errors import UsageError

__all__ = ["AdditiveNoise", "NOISE_KINDS"]

NOISE_KINDS = ("additive", "correlated", "correlated2")


class AdditiveNoise(Perturbation):
    """Noise on numeric columns (sdcMicro's ``addNoise``).

    Parameters (keyword only):

    - ``kind``: ``"additive"`` (independent per column), ``"correlated"`` (covariance proportional to the
      data's) or ``"correlated2"`` (mean and variance kept); see the module docstring.
    - ``noise``: the noise's size in percent (standard deviation for ``additive``, covariance for
      ``correlated``); sdcMicro's default 150.
    - ``delta``: ``correlated2``'s mixing weight (0 < delta < 1); sdcMicro's default 0.1.
    - ``seed``: for a reproducible draw (not written to the report).

    >>> released, report = AdditiveNoise(kind="correlated", noise=50).apply(df, quasi=["age", "fnlwgt"])  # +SKIP
    """

    name = "noise"

    def __init__(
        self,
        *,
        kind: str = "additive",
        noise: float = 150.0,
        delta: float = 0.1,
        seed: int | None = None,
        progress: bool = False,
    ):
        self.kind = kind
        self.noise = noise
        self.delta = delta
        super().__init__(seed=seed, progress=progress)

    def _validate(self) -> None:
        super()._validate()
        if self.kind not in NOISE_KINDS:
            raise UsageError(f"kind={self.kind!r} is not known (use one of {', '.join(NOISE_KINDS)})")
        if (
            isinstance(self.noise, bool)
            or not isinstance(self.noise, int | float | np.number)
            or self.noise <= 0
        ):
            raise UsageError(f"noise={self.noise!r}: must be a positive percentage")
        if isinstance(self.delta, bool) or not isinstance(self.delta, int | float | np.number):
            raise UsageError(f"delta={self.delta!r}: must lie strictly between 0 and 1")
        if not 0 < self.delta < 1:
            raise UsageError(f"delta={self.delta!r}: must lie strictly between 0 and 1")

    def _perturb(self, df, columns, rng) -> Perturbed:
        x = df[columns].to_numpy(dtype=np.float64)
        miss = np.isnan(x)
        xs = np.where(miss, np.nanmean(x, axis=0), x)  # fill for the draw; missing cells are restored below
        n, d = x.shape
        sd = np.nanstd(x, axis=0, ddof=1) if n > 1 else np.zeros(d)
        if self.kind == "additive":
            out = xs + rng.normal(size=(n, d)) * (self.noise / 100.0) * sd
        elif self.kind == "correlated":
            if d < 2:
                raise UsageError("kind='correlated' needs at least two columns (quasi=)")
            cov = np.cov(x[~miss.any(axis=1)], rowvar=False) * (self.noise / 100.0)
            out = xs + rng.multivariate_normal(np.zeros(d), cov, size=n, method="eigh")
        else:
            d1 = np.sqrt(1.0 - self.delta**2)
            mu = np.nanmean(x, axis=0)
            e = rng.normal(size=(n, d)) * sd + (1 - d1) / self.delta * mu
            out = xs * d1 + self.delta * e
        out[miss] = np.nan
        return Perturbed({c: out[:, j] for j, c in enumerate(columns)})
