"""Turning mixed-type tables into numbers, fitted on the real table only.

Two encodings serve the metrics:

- :class:`MixedEncoder` maps a row to a point in a Euclidean space in which distance means "how different two
  records are": numeric columns are scaled by the real column's range (a difference of the whole range counts 1),
  categorical columns are one-hot coded and scaled by ``1/sqrt(2)`` so that two different categories also add 1 to
  the squared distance. Missing values are a category of their own (numeric: an indicator plus the real median).
  Squared Euclidean distance is then the sum over columns of a Gower-like per-column dissimilarity in [0, 1]
  (squared for numeric columns), which lets batched nearest-neighbour search (BLAS) do the work.
- :class:`Discretiser` maps every column to small integer codes (numeric columns to quantile bins of the real
  column) so that marginals over 1, 2 or 3 columns can be counted and compared.

Both learn only from the real table, so a release is measured on the real table's scale; values a release has
that the real table lacks fall in an "unseen" code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["is_numeric", "column_kinds", "MixedEncoder", "Discretiser"]

_MISSING = "\x00<missing>"
_UNSEEN = "\x00<unseen>"


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


def _as_text(s: pd.Series) -> np.ndarray:
    """Categorical values as strings, missing as a marker of its own."""
    return s.astype(object).where(s.notna(), _MISSING).astype(str).to_numpy()


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


@dataclass
class Discretiser:
    """Integer codes per column for counting marginals.

    Parameters
    ----------
    kinds : ``{column: "numeric" | "categorical"}``.
    bins : numeric columns are cut at the real column's quantiles into about ``bins`` bins (fewer where values
        repeat; where one value holds most rows, the values above it are cut at their own quantiles); values
        outside the real range fall in the first or last bin.
    max_categories : a categorical column keeps its most frequent real values; the rest, and values the real table
        lacks, share one "other" code.
    """

    kinds: dict[str, str]
    bins: int = 10
    max_categories: int = 50
    edges_: dict[str, np.ndarray] = field(default_factory=dict, init=False)
    categories_: dict[str, list[str]] = field(default_factory=dict, init=False)

    def fit(self, real: pd.DataFrame) -> Discretiser:
        import numpy as np
        import pandas as pd

        for c, kind in self.kinds.items():
            if kind == "numeric":
                x = pd.to_numeric(real[c], errors="coerce").dropna().astype(float).to_numpy()
                probs = np.linspace(0, 1, self.bins + 1)[1:-1]
                edges = np.unique(np.quantile(x, probs)) if len(x) else np.array([])
                rest = x[x > edges[-1]] if len(edges) else x[:0]
                if len(edges) < self.bins // 2 and len(rest):
                    # a point mass (capital-gain is mostly 0) collapses the quantiles: cut the tail above it too
                    edges = np.unique(np.r_[edges, np.quantile(rest, probs)])
                self.edges_[c] = edges
            else:
                counts = pd.Series(_as_text(real[c])).value_counts()
                self.categories_[c] = list(counts.index[: self.max_categories])
        return self

    def cardinality(self, c: str) -> int:
        """Number of codes column ``c`` can take (including missing / other)."""
        if self.kinds[c] == "numeric":
            return len(self.edges_[c]) + 2  # bins, plus missing
        return len(self.categories_[c]) + 1  # categories, plus other

    def labels(self, c: str) -> list[str]:
        """Readable names of the codes of ``c``."""
        if self.kinds[c] == "numeric":
            e = self.edges_[c]
            if len(e) == 0:
                return ["all", "missing"]
            names = [f"<{e[0]:.4g}"] + [f"{a:.4g}..{b:.4g}" for a, b in zip(e[:-1], e[1:], strict=True)]
            return names + [f">={e[-1]:.4g}", "missing"]
        return [s.replace(_MISSING, "(missing)") for s in self.categories_[c]] + ["(other)"]

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """A frame of int64 codes with the same columns as the fitted kinds."""
        import numpy as np
        import pandas as pd

        out = {}
        for c, kind in self.kinds.items():
            if kind == "numeric":
                x = pd.to_numeric(df[c], errors="coerce").astype(float).to_numpy()
                codes = np.searchsorted(self.edges_[c], x, side="right")
                codes[np.isnan(x)] = len(self.edges_[c]) + 1
            else:
                cats = self.categories_[c]
                codes = pd.Categorical(_as_text(df[c]), categories=cats).codes.astype(np.int64)
                codes[codes < 0] = len(cats)
            out[c] = codes.astype(np.int64)
        return pd.DataFrame(out, index=df.index)
