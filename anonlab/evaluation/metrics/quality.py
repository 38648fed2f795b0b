"""SDMetrics' QualityReport score, as an independent cross-check of anonlab's own fidelity figures.

SDMetrics (the SDV project's metrics library) scores column shapes (Kolmogorov-Smirnov / total variation per
column) and column-pair trends (correlation and contingency similarity) and averages them into one score in
[0, 1]. It is computed on a sample of both tables to bound its time; the sample size is recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["QualityResult", "sdmetrics_quality"]


@dataclass(frozen=True)
class QualityResult:
    """``score`` (overall), ``column_shapes`` and ``column_pair_trends`` property scores, on ``rows`` per table.

    A property SDMetrics cannot compute (it returns NaN, e.g. pair trends on a small sample) is ``None`` and
    ``error`` says why (SDMetrics' overall score, the mean of the two, is then undefined too)."""

    score: float | None
    column_shapes: float | None
    column_pair_trends: float | None
    rows: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sdmetrics_quality(
    real: pd.DataFrame, release: pd.DataFrame, kinds: dict[str, str], *, seed: int, max_rows: int = 5000
) -> QualityResult:
    """Run SDMetrics' single-table QualityReport on up to ``max_rows`` sampled rows of each table."""
    import contextlib
    import io
    import math
    import warnings

    import pandas as pd

    from anonlab.errors import require_extra

    require_extra("sdv", "sdmetrics", "SDMetrics' quality report")
    n = min(max_rows, len(real), len(release))
    a = real.sample(n, random_state=seed) if len(real) > n else real
    b = release.sample(n, random_state=seed) if len(release) > n else release
    cols = list(kinds)
    a, b = a[cols].copy(), b[cols].copy()
    for c, k in kinds.items():
        if k == "numeric":
            a[c] = pd.to_numeric(a[c], errors="coerce")
            b[c] = pd.to_numeric(b[c], errors="coerce")
        else:
            a[c] = a[c].astype(object).where(a[c].notna(), None).astype(str)
            b[c] = b[c].astype(object).where(b[c].notna(), None).astype(str)
    metadata = {
        "columns": {c: {"sdtype": "numerical" if k == "numeric" else "categorical"} for c, k in kinds.items()}
    }
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            from sdmetrics.reports.single_table import QualityReport

            report = QualityReport()
            report.generate(a, b, metadata, verbose=False)
        props = report.get_properties().set_index("Property")["Score"]
        vals = {
            "score": report.get_score(),
            "column_shapes": props.get("Column Shapes", float("nan")),
            "column_pair_trends": props.get("Column Pair Trends", float("nan")),
        }
        clean = {
            k: (float(v) if v is not None and math.isfinite(float(v)) else None) for k, v in vals.items()
        }
        undefined = [k.replace("_", " ") for k, v in clean.items() if v is None]
        return QualityResult(
            score=clean["score"],
            column_shapes=clean["column_shapes"],
            column_pair_trends=clean["column_pair_trends"],
            rows=n,
            error=None
            if not undefined
            else f"not computed: SDMetrics returned NaN for {', '.join(undefined)} (too few rows, or constant "
            "columns, in the sample)",
        )
    except Exception as exc:  # a cross-check must not sink the evaluation; the report shows why it is missing
        return QualityResult(None, None, None, n, error=f"{type(exc).__name__}: {exc}"[:200])
