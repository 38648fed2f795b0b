"""A mixed-type table as points of a Euclidean space, for distances between records; fitted on the real table.

:class:`MixedEncoder` maps a row to a point in a Euclidean space in which distance means "how different two records
are": numeric columns are scaled by the real column's range (a difference of the whole range counts 1), categorical
columns are one-hot coded and scaled by ``1/sqrt(2)`` so that two different categories also add 1 to the squared
distance. Missing values are a category of their own (numeric: an indicator plus the real median). Squared
Euclidean distance is then the sum over columns of a Gower-like per-column dissimilarity in [0, 1] (squared for
numeric columns), which lets batched nearest-neighbour search (BLAS) do the work.

It learns only from the real table, so a release is measured on the real table's scale. Counting marginals uses
integer codes instead (:class:`~anonlab.evaluation.metrics.discretise.Discretiser`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from anonlab.evaluation.metrics.discretise import category_text as _as_text

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["is_numeric", "column_kinds", "MixedEncoder"]


def is_numeric(s: pd.Series) -> bool:
    """Whether a column is treated as numeric (integer, float or boolean-free number dtype)."""
    import pandas as pd

    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def column_kinds(df: pd.DataFrame, schema=None) -> dict[str, str]:
    """``{column: "numeric" | "categorical"}``; a schema's type wins over the dtype where given."""
    kinds = {}
    for c in df.columns:
        if schema is not None and c in schema:
            t = schema[c].type
            kinds[c] = "numeric" if t in ("integer", "float") else "categorical"
        else:
            kinds[c] = "numeric" if is_numeric(df[c]) else "categorical"
    return kinds


@dataclass
class MixedEncoder:
    """One-hot + range-scaled numeric encoding for nearest-neighbour distances (see the module docstring).

    Parameters
    ----------
    kinds : ``{column: "numeric" | "categorical"}``; which columns take part and how.
    max_categories : a categorical column keeps its ``max_categories`` most frequent real values; the rest share
        one code (bounds the dimension, so distances stay a BLAS product).
    """

    kinds: dict[str, str]
    max_categories: int = 100
    lo_: dict[str, float] = field(default_factory=dict, init=False)
    scale_: dict[str, float] = field(default_factory=dict, init=False)
    median_: dict[str, float] = field(default_factory=dict, init=False)
    has_missing_: dict[str, bool] = field(default_factory=dict, init=False)
    categories_: dict[str, list[str]] = field(default_factory=dict, init=False)

    def fit(self, real: pd.DataFrame) -> MixedEncoder:
        import numpy as np
        import pandas as pd

        for c, kind in self.kinds.items():
            if kind == "numeric":
                x = pd.to_numeric(real[c], errors="coerce").astype(float)
                lo, hi = (float(np.nanmin(x)), float(np.nanmax(x))) if x.notna().any() else (0.0, 1.0)
                self.lo_[c] = lo
                self.scale_[c] = hi - lo if hi > lo else 1.0
                self.median_[c] = float(np.nanmedian(x)) if x.notna().any() else 0.0
                self.has_missing_[c] = bool(x.isna().any())
            else:
                counts = pd.Series(_as_text(real[c])).value_counts()
                self.categories_[c] = list(counts.index[: self.max_categories])
        return self

    @property
    def width(self) -> int:
        n = 0
        for c, kind in self.kinds.items():
            n += (1 + self.has_missing_[c]) if kind == "numeric" else len(self.categories_[c])
        return n

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """A float32 matrix, one row per record of ``df``."""
        import numpy as np
        import pandas as pd

        out = np.zeros((len(df), self.width), dtype=np.float32)
        j = 0
        w = np.float32(1 / np.sqrt(2))
        for c, kind in self.kinds.items():
            if kind == "numeric":
                x = pd.to_numeric(df[c], errors="coerce").astype(float).to_numpy()
                miss = np.isnan(x)
                out[:, j] = (np.where(miss, self.median_[c], x) - self.lo_[c]) / self.scale_[c]
                j += 1
                if self.has_missing_[c]:
                    out[:, j] = miss
                    j += 1
            else:
                cats = self.categories_[c]
                codes = pd.Categorical(_as_text(df[c]), categories=cats).codes
                rows = np.flatnonzero(codes >= 0)
                out[rows, j + codes[rows]] = w
                j += len(cats)
        return out
