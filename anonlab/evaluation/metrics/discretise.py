"""Integer codes per column, fitted on the real table, so that marginals over 1, 2 or 3 columns can be counted.

:class:`Discretiser` maps every column to small integer codes: numeric columns to quantile bins of the real
column, categorical columns to the real table's most frequent values. It learns only from the real table, so a
release is measured on the real table's binning; values a release has that the real table lacks fall in an "other"
code. Distances between records use another encoding
(:class:`~anonlab.evaluation.metrics.mixed_encoder.MixedEncoder`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["Discretiser", "category_text"]

_MISSING = "\x00<missing>"


def category_text(s: pd.Series) -> np.ndarray:
    """Categorical values as strings, missing as a marker of its own."""
    return s.astype(object).where(s.notna(), _MISSING).astype(str).to_numpy()


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
                counts = pd.Series(category_text(real[c])).value_counts()
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
                codes = pd.Categorical(category_text(df[c]), categories=cats).codes.astype(np.int64)
                codes[codes < 0] = len(cats)
            out[c] = codes.astype(np.int64)
        return pd.DataFrame(out, index=df.index)
