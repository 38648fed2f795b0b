"""How much a generalised release has lost: NCP / GCP, discernibility and C_AVG.

- NCP (Normalized Certainty Penalty, Xu et al., KDD 2006) of one generalised value: for a number or date, the
  width of its released range over the column's whole range; for a category, the number of values it stands for
  over the number of values in the column (0 for an ungeneralised value). A suppressed record costs 1 on every
  column.
- GCP (Global Certainty Penalty): the mean NCP over all records (suppressed included) and quasi-identifiers, in
  [0, 1]; 0 is the original data, 1 all stars. Comparable across tables and algorithms.
- Discernibility (Bayardo and Agrawal, ICDE 2005): sum of squared class sizes, plus ``n`` for each suppressed
  record (each is indistinguishable from the whole table).
- C_AVG (normalised average class size, LeFevre et al. 2006): (released records / classes) / k; 1 is ideal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["InformationLoss", "information_loss"]


@dataclass(frozen=True)
class InformationLoss:
    """Utility lost by generalisation and suppression (lower is better for each)."""

    gcp: float
    ncp_per_column: dict
    discernibility: float
    c_avg: float | None

    def to_dict(self) -> dict:
        return {
            "gcp": self.gcp,
            "ncp_per_column": dict(self.ncp_per_column),
            "discernibility": self.discernibility,
            "c_avg": self.c_avg,
        }


def information_loss(
    class_ncp: np.ndarray, sizes: np.ndarray, n_suppressed: int, k: int, columns: list[str]
) -> InformationLoss:
    """Loss of a release from each class's NCP per column (classes x columns) and the class sizes.

    ``n_suppressed`` records were withheld (or starred); the table had ``sizes.sum() + n_suppressed`` records.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    n_total = float(sizes.sum()) + n_suppressed
    if n_total == 0:
        return InformationLoss(0.0, {c: 0.0 for c in columns}, 0.0, None)
    per_col = (sizes[:, None] * class_ncp).sum(axis=0) + n_suppressed
    per_col = per_col / n_total
    dm = float((sizes**2).sum() + n_suppressed * n_total)
    c_avg = float(sizes.sum() / len(sizes) / k) if len(sizes) else None
    return InformationLoss(
        float(per_col.mean()) if len(columns) else 0.0,
        {c: float(v) for c, v in zip(columns, per_col, strict=True)},
        dm,
        c_avg,
    )
