"""Merging the rare codes of a column into one before a marginal model is fitted (MST's ``compress_domain``).

A column of many categories (COMPAS's 438 charge descriptions, 46 Texas cities on 4,300 rows) puts most of its codes
below the noise of its one-way measurement. Every two-way marginal that holds such a column then spreads the same
rows over |column| times more cells, each with the same noise, and the model learns mostly noise; the selection
steps also avoid those columns, so their dependence is lost. McKenna, Miklau and Sheldon (2021, MST) compress the
domain after the one-way measurements: a code whose *noisy* one-way count is below ``threshold`` noise standard
deviations (3) is merged with the column's other rare codes into one code, and the pairs, the selection and the
model are fitted on the smaller domain. At sampling the merged code is expanded back into its original codes in
proportion to their noisy one-way counts (negative counts as 0; uniformly when none is positive).

Privacy: the decision uses only the released noisy one-way counts, and so do the merged measurement (the sum of the
merged noisy counts, whose noise variance is the number of codes merged times sigma squared: it enters the model
with that variance) and the expansion weights. Everything here is post-processing of DP outputs; it costs nothing,
and the compression is stored with the model as a DP output (``state.compression``,
:mod:`anonlab.synth.artifacts`).

Only columns whose codes each stand for one value are compressed (categories, and integers or dates coded one code
per value); a binned number's bins were already cut to hold mass (quantile binning), and merging bins far apart
would blur the number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "THRESHOLD_SIGMAS",
    "ColumnCompression",
    "Compression",
    "compress",
    "compress_codes",
    "compressible",
    "compression_record",
]

#: A code is kept on its own when its noisy one-way count reaches this many noise standard deviations (MST's 3).
THRESHOLD_SIGMAS = 3.0


@dataclass(frozen=True)
class ColumnCompression:
    """One column's compressed codes: ``kept`` original codes become codes ``0 .. len(kept) - 1`` (in order), the
    ``merged`` ones the last code ``len(kept)``, drawn back at sampling with probabilities ``weights``."""

    size: int
    kept: tuple[int, ...]
    merged: tuple[int, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if sorted(self.kept + self.merged) != list(range(self.size)):
            raise ValueError("a compression must keep or merge every code exactly once")
        if len(self.weights) != len(self.merged) or not self.merged:
            raise ValueError("a compression merges at least one code, each with a weight")

    @property
    def new_size(self) -> int:
        return len(self.kept) + 1

    def lookup(self) -> np.ndarray:
        """Original code -> compressed code."""
        out = np.full(self.size, len(self.kept), dtype=np.int64)
        out[list(self.kept)] = np.arange(len(self.kept))
        return out

    def expand(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Compressed codes back to original ones (the merged code drawn by ``weights``)."""
        codes = np.asarray(codes, dtype=np.int64)
        kept = np.asarray(self.kept + (-1,), dtype=np.int64)
        out = kept[codes]
        rows = np.flatnonzero(codes == len(self.kept))
        if len(rows):
            p = np.asarray(self.weights, dtype=float)
            out[rows] = np.asarray(self.merged, dtype=np.int64)[
                rng.choice(len(p), size=len(rows), p=p / p.sum())
            ]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "kept": list(self.kept),
            "merged": list(self.merged),
            "weights": list(self.weights),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnCompression:
        return cls(
            int(d["size"]),
            tuple(int(c) for c in d["kept"]),
            tuple(int(c) for c in d["merged"]),
            tuple(float(w) for w in d["weights"]),
        )


@dataclass(frozen=True)
class Compression:
    """The compression of every column of a model (``None`` where a column is not compressed)."""

    columns: tuple[ColumnCompression | None, ...]

    @property
    def active(self) -> bool:
        return any(c is not None for c in self.columns)

    def sizes(self, sizes: Sequence[int]) -> tuple[int, ...]:
        return tuple(int(s) if c is None else c.new_size for s, c in zip(sizes, self.columns, strict=True))

    def apply(self, codes: np.ndarray) -> np.ndarray:
        """Original codes (rows x columns) -> compressed codes."""
        out = np.array(codes, dtype=np.int64, copy=True)
        for j, c in enumerate(self.columns):
            if c is not None:
                out[:, j] = c.lookup()[out[:, j]]
        return out

    def expand(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Compressed codes (rows x columns) -> original codes. Post-processing: reads no data."""
        out = np.array(codes, dtype=np.int64, copy=True)
        for j, c in enumerate(self.columns):
            if c is not None:
                out[:, j] = c.expand(out[:, j], rng)
        return out

    def to_dict(self) -> dict[str, Any]:
        """As a saved model's ``state.compression``: ``{column index (text): ColumnCompression.to_dict()}``."""
        return {str(j): c.to_dict() for j, c in enumerate(self.columns) if c is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, d_cols: int) -> Compression:
        d = d or {}
        return cls(
            tuple(ColumnCompression.from_dict(d[str(j)]) if str(j) in d else None for j in range(d_cols))
        )

    @classmethod
    def none(cls, d_cols: int) -> Compression:
        return cls((None,) * d_cols)


def compressible(encoding) -> list[bool]:
    """Per column of ``encoding``: whether each of its codes stands for one value (categories; integers and dates
    coded one code per value), which is what :func:`compress` may merge."""
    return [c.type == "categorical" or bool(c.exact) for c in encoding.columns]


def compress(
    measurements,
    sizes: Sequence[int],
    eligible: Sequence[bool],
    threshold: float = THRESHOLD_SIGMAS,
    limit_groups: bool = False,
):
    """Compress the columns of ``sizes`` from their noisy one-way ``measurements`` (one per column, in column
    order, :class:`~anonlab.synth.estimation.Measurement`).

    A column in ``eligible`` with codes whose noisy count is below ``threshold`` sigma has them merged into one code
    (when that merges at least two codes, merging one changing nothing, and not all of them: merged, a column
    would be one code that no later measurement could split again). With ``limit_groups`` (AIM), a column is
    compressed only when the merged codes' summed noisy count is below the expected L1 norm of their noise
    (k sigma sqrt(2 / pi) for k codes): splitting the merged rows by these noisy counts then loses no more than
    the noise those codes would carry on their own (COMPAS's rare charge descriptions, about 6 rows each, are
    merged; codes of about 93 rows each at a noise of 78 are not). AIM needs it because its first one-way measurements are far noisier than its later ones (16 d rounds planned) and a
    merged code is never split again by a later measurement: at that first noise Texas housing's cities, years
    and months (about 93 and 270 rows per code) fell under 3 sigma, and the cities' 1-way TV rose from 0.08 to
    0.25. Returns the :class:`Compression` and the
    one-way measurements re-expressed on the compressed domain (the merged cell is the sum of its codes' noisy
    counts, with the variance of that sum). Post-processing of the measurements.
    """
    from anonlab.synth.estimation import Measurement

    by_col = {m.clique: m for m in measurements if len(m.clique) == 1}
    cols: list[ColumnCompression | None] = []
    out = []
    for j, size in enumerate(sizes):
        m = by_col[(j,)]
        y = np.asarray(m.y, dtype=float).ravel()
        rare = y < threshold * m.sigma
        k = int(rare.sum())
        too_much = limit_groups and y[rare].sum() >= k * m.sigma * np.sqrt(2 / np.pi)
        if not eligible[j] or k < 2 or rare.all() or too_much:
            cols.append(None)
            out.append(m)
            continue
        kept = tuple(int(c) for c in np.flatnonzero(~rare))
        merged = tuple(int(c) for c in np.flatnonzero(rare))
        w = np.maximum(y[rare], 0.0)
        weights = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
        cols.append(ColumnCompression(int(size), kept, merged, tuple(float(v) for v in weights)))
        v = np.ones(len(y)) if m.var_scale is None else np.asarray(m.var_scale, dtype=float).ravel()
        y2 = np.append(y[~rare], y[rare].sum())
        scale = np.append(v[~rare], float(v[rare].sum()))
        out.append(Measurement((j,), y2, m.sigma, var_scale=scale))
    return Compression(tuple(cols)), out


def compress_codes(
    codes: np.ndarray,
    sizes: Sequence[int],
    measurements,
    eligible: Sequence[bool],
    limit_groups: bool = False,
):
    """:func:`compress` and its application to the table's codes (an array, or a
    :class:`~anonlab.synth.marginals.MarginalSource`): returns (compression, compressed codes, compressed sizes,
    measurements on the compressed domain)."""
    from anonlab.synth.marginals import MarginalSource

    comp, measurements = compress(measurements, sizes, eligible, limit_groups=limit_groups)
    if not comp.active:
        return comp, codes, tuple(sizes), measurements
    if isinstance(codes, MarginalSource):  # rows not in memory: the source applies it to its marginals
        return comp, codes.compressed(comp), comp.sizes(sizes), measurements
    return comp, comp.apply(codes), comp.sizes(sizes), measurements


def compression_record(comp: Compression | None, names: Sequence[str]) -> dict[str, Any]:
    """The fit's record of what was merged (``privacy.details.compressed``: per column, codes kept on their own
    and codes merged; a DP output), or nothing."""
    if comp is None or not comp.active:
        return {}
    return {
        "compressed": {
            names[j]: {"kept": len(c.kept), "merged": len(c.merged)}
            for j, c in enumerate(comp.columns)
            if c is not None
        }
    }
