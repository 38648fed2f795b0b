"""Pairwise association matrices of the real table and the release, and how far apart they are.

- Numeric pairs: Pearson correlation.
- Categorical pairs: Cramer's V (symmetric strength of association, 0 = independent, 1 = one determines the other,
  with the Bergsma (2013) small-sample bias correction) and Theil's U, the uncertainty coefficient
  ``U(row | column)``: the share of the row column's entropy that knowing the column's value removes (asymmetric).

The difference matrices (release minus real) are what the report draws as heat maps; their mean absolute value
over the off-diagonal cells is the summary figure (0 = the release keeps every pairwise relation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["AssociationResult", "pearson_matrix", "cramers_v_matrix", "theils_u_matrix", "compare_matrices"]


@dataclass(frozen=True)
class AssociationResult:
    """One kind of association matrix for both tables.

    kind : ``"pearson"``, ``"cramers_v"`` or ``"theils_u"``.
    columns : the matrix's row and column labels.
    real, release : the matrices, as nested lists (``nan`` where undefined, e.g. a constant column).
    mean_abs_diff, max_abs_diff : over off-diagonal cells that are defined in both.
    """

    kind: str
    columns: tuple[str, ...]
    real: tuple[tuple[float, ...], ...]
    release: tuple[tuple[float, ...], ...]
    mean_abs_diff: float | None
    max_abs_diff: float | None

    def to_dict(self) -> dict[str, Any]:
        def clean(m):
            return [[None if v != v else v for v in row] for row in m]

        return {
            "kind": self.kind,
            "columns": list(self.columns),
            "real": clean(self.real),
            "release": clean(self.release),
            "mean_abs_diff": self.mean_abs_diff,
            "max_abs_diff": self.max_abs_diff,
        }


def pearson_matrix(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """Pearson correlations of numeric columns (pairwise complete observations)."""
    import numpy as np
    import pandas as pd

    if not cols:
        return np.zeros((0, 0))
    num = df[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    return num.corr().to_numpy()


def _contingency(a: np.ndarray, b: np.ndarray, na: int, nb: int) -> np.ndarray:
    import numpy as np

    return np.bincount(a * nb + b, minlength=na * nb).reshape(na, nb).astype(float)


def _cramers_v(t: np.ndarray) -> float:
    import numpy as np

    t = t[t.sum(1) > 0][:, t.sum(0) > 0]
    n = t.sum()
    r, k = t.shape
    if n < 2 or r < 2 or k < 2:
        return float("nan")
    expected = np.outer(t.sum(1), t.sum(0)) / n
    chi2 = float(((t - expected) ** 2 / expected).sum())
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    rc = r - (r - 1) ** 2 / (n - 1)
    kc = k - (k - 1) ** 2 / (n - 1)
    den = min(kc - 1, rc - 1)
    return float(np.sqrt(phi2 / den)) if den > 0 else float("nan")


def _entropy(p: np.ndarray) -> float:
    import numpy as np

    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _theils_u(t: np.ndarray) -> float:
    """U(row variable | column variable) from a contingency table."""
    n = t.sum()
    if n == 0:
        return float("nan")
    px = t.sum(1) / n
    hx = _entropy(px)
    if hx == 0:
        return 1.0
    py = t.sum(0) / n
    hxy = _entropy((t / n).ravel()) - _entropy(py)  # H(X|Y) = H(X,Y) - H(Y)
    return float((hx - hxy) / hx)


def _pairwise(codes: pd.DataFrame, cols: list[str], card: dict[str, int], fn, symmetric: bool) -> np.ndarray:
    import numpy as np

    m = np.full((len(cols), len(cols)), np.nan)
    arr = {c: codes[c].to_numpy() for c in cols}
    for i, a in enumerate(cols):
        m[i, i] = 1.0
        for j, b in enumerate(cols):
            if j == i or (symmetric and j < i):
                continue
            m[i, j] = fn(_contingency(arr[a], arr[b], card[a], card[b]))
            if symmetric:
                m[j, i] = m[i, j]
    return m


def cramers_v_matrix(codes: pd.DataFrame, cols: list[str], card: dict[str, int]) -> np.ndarray:
    """Bias-corrected Cramer's V between every pair of categorical columns (from discretiser codes)."""
    return _pairwise(codes, cols, card, _cramers_v, symmetric=True)


def theils_u_matrix(codes: pd.DataFrame, cols: list[str], card: dict[str, int]) -> np.ndarray:
    """Theil's U ``[i, j] = U(column i | column j)`` between every pair of categorical columns."""
    return _pairwise(codes, cols, card, _theils_u, symmetric=False)


def compare_matrices(kind: str, cols: list[str], real: np.ndarray, release: np.ndarray) -> AssociationResult:
    """Summarise how far ``release``'s matrix is from ``real``'s (off-diagonal cells defined in both)."""
    import numpy as np

    n = len(cols)
    off = ~np.eye(n, dtype=bool)
    diff = np.abs(release - real)[off & np.isfinite(real) & np.isfinite(release)]
    return AssociationResult(
        kind=kind,
        columns=tuple(cols),
        real=tuple(tuple(float(v) for v in row) for row in real),
        release=tuple(tuple(float(v) for v in row) for row in release),
        mean_abs_diff=float(diff.mean()) if diff.size else None,
        max_abs_diff=float(diff.max()) if diff.size else None,
    )
