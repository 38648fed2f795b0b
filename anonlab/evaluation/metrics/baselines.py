"""Baselines every utility verdict is judged against, computed in the same run on the same binning.

- :func:`independent_columns`: each column of the real table resampled independently (with replacement). It keeps
  every 1-way marginal and breaks every relation between columns: a release that learned nothing joint.
- :func:`dp_one_way_codes`: for a differentially private release whose budget is known, the same budget spent on
  noisy 1-way histograms only (one per column, on the evaluation's own bins), columns then drawn independently from
  the noisy histograms: what the budget buys without any joint modelling. It is computed here, in the operator's
  view, as a yardstick and is never released: its bins are the evaluation's (quantiles of the real table), and its
  noise comes from numpy's generator, not from a DP library's secure sampler.
- for TSTR, independent columns carry no information about the target, so their baseline is the score of a
  constant prediction on the same test records (:attr:`anonlab.evaluation.metrics.tstr.TSTRResult.constant`): what a model
  fitted to them is worth in expectation; a model fitted to one draw scatters widely around it;
- the *sampling floor* is the holdout itself (real records the release never saw) measured against the real table;
  without a holdout a bootstrap resample of the real table stands in (and the report says so).

The rule that turns a figure and its baselines into a verdict is :mod:`anonlab.evaluation.verdicts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["independent_columns", "bootstrap", "dp_budget", "dp_one_way_codes"]


def independent_columns(real: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` rows whose columns are drawn independently, each from the real column's values (with replacement)."""
    import pandas as pd

    m = len(real)
    return pd.DataFrame({c: real[c].to_numpy()[rng.integers(0, m, size=n)] for c in real.columns}).astype(
        real.dtypes.to_dict()
    )


def bootstrap(real: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` whole rows of ``real`` drawn with replacement (the floor when there is no holdout)."""
    return real.iloc[rng.integers(0, len(real), size=n)].reset_index(drop=True)


def dp_budget(privacy: dict[str, Any] | None) -> dict[str, float] | None:
    """``{"epsilon", "delta", "rho"}`` of a DP release's reported privacy, or ``None`` when it is not DP or its
    epsilon is unknown. ``rho`` (zCDP) is the reported one, else the largest that fits (epsilon, delta); 0 when
    delta is 0 (then pure epsilon-DP, Laplace noise)."""
    if not isinstance(privacy, dict):
        return None
    eps = privacy.get("epsilon")
    if not isinstance(eps, int | float) or isinstance(eps, bool) or not eps > 0:
        return None
    delta = privacy.get("delta") or 0.0
    rho = privacy.get("rho")
    if not isinstance(rho, int | float) or not rho or rho <= 0:
        rho = 0.0
        if delta and 0 < delta < 1:
            from anonlab.privacy.accounting import rho_for

            rho = rho_for(float(eps), float(delta))
    return {"epsilon": float(eps), "delta": float(delta), "rho": float(rho)}


def dp_one_way_codes(
    real_codes: pd.DataFrame,
    cardinality: dict[str, int],
    n: int,
    budget: dict[str, float],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``n`` rows of codes drawn column by column from noisy 1-way histograms of ``real_codes``.

    The budget is split evenly over the columns. With ``rho > 0`` each histogram gets Gaussian noise for
    ``rho / d``-zCDP (L2 sensitivity 1 under add/remove-one); otherwise Laplace noise for ``epsilon / d``-DP (L1
    sensitivity 1). Negative counts are clipped to 0; an all-zero histogram is read as uniform.
    """
    import numpy as np
    import pandas as pd

    cols = list(cardinality)
    d = max(len(cols), 1)
    out = {}
    for c in cols:
        k = cardinality[c]
        counts = np.bincount(real_codes[c].to_numpy(), minlength=k).astype(float)
        if budget["rho"] > 0:
            sigma = (1.0 / (2.0 * budget["rho"] / d)) ** 0.5
            noisy = counts + rng.normal(0.0, sigma, size=k)
        else:
            noisy = counts + rng.laplace(0.0, d / budget["epsilon"], size=k)
        p = np.clip(noisy, 0.0, None)
        p = p / p.sum() if p.sum() > 0 else np.full(k, 1.0 / k)
        out[c] = rng.choice(k, size=n, p=p).astype(np.int64)
    return pd.DataFrame(out)
