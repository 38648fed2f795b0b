"""Turning a table into small integer codes on public domains, and back.

Every synthesizer in :mod:`anonlab.synth` works on the same encoding, built from the schema alone and never from
the data (a DP release that read categories or bounds from the data would leak them without paying):

- a categorical column gets one code per public category;
- an integer or date column whose public range holds at most ``bins`` values gets one code per value, otherwise
  ``bins`` equal-width bins over the public bounds; a float column always gets ``bins`` equal-width bins;
- every column gets one more code, the last, for a missing value ("missing" is a category of its own).

With quantile binning (:mod:`anonlab.synth.binning`, ``binning="quantile"``) the wide columns keep their public
bounds but their inner cut points are learned from the data with differential privacy, paid from the fit's budget;
such a coding is marked ``learned`` and its edges are stored with the model.

Values outside the public domain are clamped to the bounds (numbers, dates), coded as the listed value below them
(a number with a code per listed ``values``, between two of them), or coded as missing (an unlisted
category; or as the column's "other" category where it has one, as DP domain discovery gives it); how many were is reported to the data owner, never released. Decoding draws a value uniformly inside
a bin (post-processing, seeded by the caller's generator) and restores the original dtypes and labels.
Identifier and free-text columns are never synthesised: they are left out of the encoding.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from anonlab.errors import PrivacyError, SchemaError

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.schema import Column, Schema

__all__ = ["ColumnCoding", "Encoding", "DEFAULT_BINS"]

#: Default number of equal-width bins for a numeric column whose public range is wide.
DEFAULT_BINS = 32

_EPOCH = _dt.date(1970, 1, 1)


def _days(value: Any) -> int:
    if isinstance(value, _dt.datetime):
        value = value.date()
    return (value - _EPOCH).days


@dataclass(frozen=True)
class ColumnCoding:
    """How one column maps to codes ``0 .. size-1`` (the last code is "missing").

    Parameters
    ----------
    name : the column name.
    type : the schema type (``categorical``, ``integer``, ``float``, ``date``).
    labels : the public categories of a categorical column, in code order.
    edges : for a numeric or date column, the ``k + 1`` bin edges over the public bounds (dates as days since
        1970-01-01); an integer column with one code per value has edges ``lower, lower+1, ..., upper+1``.
    exact : whether each numeric code stands for exactly one value (no within-bin noise on decoding).
    learned : whether the inner edges were learned from the data as a DP release (quantile binning, paid from the
        fit's budget) rather than set from the public bounds alone. The outer edges are the public bounds either
        way.
    missing : whether the column has a code for "missing" (the last). Without it (the user states as public that
        the column has no missing values), a missing value is an input error.
    density : for a binned numeric or date column, a DP density inside the public range as cells
        ``(left, right, mass)`` (:mod:`anonlab.synth.density`, paid from the fit's budget); decoding then draws
        inside each bin from it, which keeps point masses (a capital gain of exactly 0) instead of spreading them
        uniformly over the bin. ``None``: uniform inside the bin.
    decimals : for a float column, the decimal places its values are written with (the schema's public
        ``decimals``); decoded values are rounded to it. ``None``: full precision.
    other : for a categorical column, the label (one of ``labels``) that stands for every value not listed: such a
        value is coded as it instead of as missing (DP domain discovery gives each discovered categorical column
        one, :data:`anonlab.synth.domains.OTHER`). ``None``: an unlisted value is coded missing.
    grid : for a binned number whose schema lists its values (``values``, public, more of them than bins), those
        values in order. Its density is measured on their positions in this list, not on the range (a column of
        31 values spread over [0, 58.6] with six decimals needs two tree levels, not seven), its cells are
        positions ``[i, j)`` of the list, and decoding draws listed values only. A value that is none of them is
        counted outside the domain, as for an exact coding.
    """

    name: str
    type: str
    labels: tuple[str, ...] | None = None
    edges: tuple[float, ...] | None = None
    exact: bool = False
    missing: bool = True
    learned: bool = False
    density: tuple[tuple[float, float, float], ...] | None = None
    decimals: int | None = None
    other: str | None = None
    grid: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.type == "categorical":
            if not self.labels:
                raise SchemaError(f"column {self.name!r}: a categorical column needs at least one category")
            if self.other is not None and self.other not in self.labels:
                raise SchemaError(f"column {self.name!r}: the 'other' label {self.other!r} is not a category")
        elif self.other is not None:
            raise SchemaError(f"column {self.name!r}: only a categorical column has an 'other' label")
        elif self.edges is None or len(self.edges) < 2:
            raise SchemaError(f"column {self.name!r}: a numeric column needs bounds")
        elif self.edges[-1] < self.edges[0] or (
            len(self.edges) > 2 and not np.all(np.diff(np.asarray(self.edges, dtype=float)) > 0)
        ):
            raise SchemaError(f"column {self.name!r}: bin edges must increase")

    @property
    def n_values(self) -> int:
        """Codes for real values (without the missing code)."""
        return len(self.labels) if self.type == "categorical" else len(self.edges) - 1

    @property
    def size(self) -> int:
        """All codes, the missing code included."""
        return self.n_values + (1 if self.missing else 0)

    @classmethod
    def from_column(cls, col: Column, bins: int = DEFAULT_BINS, missing: bool = True) -> ColumnCoding:
        """The coding of one schema column, from its public domain only."""
        from dataclasses import replace

        # a schema's public "other" label holds every unlisted value (instead of coding it missing)
        return replace(
            cls._from_column(col, bins),
            missing=missing,
            decimals=getattr(col, "decimals", None),
            other=getattr(col, "other", None) if col.is_categorical else None,
        )

    @classmethod
    def _from_column(cls, col: Column, bins: int) -> ColumnCoding:
        if col.is_categorical:  # a ``code`` column (ZIP, ICD code) is coded like a categorical one
            if col.categories is None:
                raise SchemaError(
                    f"column {col.name!r}: no categories in the schema; list them (public) to synthesise it"
                )
            return cls(col.name, "categorical", labels=tuple(col.categories))
        if col.lower is None:
            raise SchemaError(
                f"column {col.name!r}: no bounds in the schema; give lower and upper (public) to synthesise it"
            )
        if col.type == "date":
            lo, hi = _days(col.lower), _days(col.upper)
        else:
            lo, hi = col.lower, col.upper
        values = getattr(col, "values", None)
        if values is not None and col.type in ("integer", "float"):
            if len(values) <= bins:
                # one code per listed value, decoded exactly (the bin of the last value reaches past it, even
                # near 1e16, where v + 1.0 == v)
                top = float(np.nextafter(float(values[-1]) + 1.0, np.inf))
                return cls(col.name, col.type, edges=tuple(float(v) for v in values) + (top,), exact=True)
            from dataclasses import replace

            binned = cls._from_bounds(col, lo, hi, bins)
            return binned if binned.exact else replace(binned, grid=tuple(float(v) for v in values))
        return cls._from_bounds(col, lo, hi, bins)

    @classmethod
    def _from_bounds(cls, col: Column, lo: Any, hi: Any, bins: int) -> ColumnCoding:
        if col.type in ("integer", "date"):
            lo, hi = int(lo), int(hi)
            if hi - lo + 1 <= bins:
                return cls(col.name, col.type, edges=tuple(float(v) for v in range(lo, hi + 2)), exact=True)
            edges = np.linspace(lo, hi + 1, bins + 1)
            return cls(col.name, col.type, edges=tuple(float(e) for e in edges))
        if hi == lo:
            return cls(col.name, col.type, edges=(float(lo), float(lo)), exact=True)
        return cls(col.name, col.type, edges=tuple(float(e) for e in np.linspace(lo, hi, bins + 1)))

    # -- encode / decode -------------------------------------------------------------------------------------
    def values(self, s: pd.Series) -> np.ndarray:
        """A numeric or date column (coerced to the schema type) as floats (dates: days since 1970-01-01); NaN
        where missing."""
        import pandas as pd

        if self.type == "date":
            return (pd.to_datetime(s) - pd.Timestamp(_EPOCH)).dt.days.to_numpy(dtype=float, na_value=np.nan)
        return pd.to_numeric(s).to_numpy(dtype=float, na_value=np.nan)

    def density_values(self, s: pd.Series) -> np.ndarray:
        """The column on its density's grid (:func:`anonlab.synth.density.value_grid`): :meth:`values`, or with
        listed values (``grid``) each value's position in the list (a value between two listed ones: the one below,
        as the encoding codes it); NaN where missing."""
        x = self.values(s)
        if self.grid is None:
            return x
        pos = np.searchsorted(np.asarray(self.grid), x, side="right") - 1.0
        return np.where(np.isnan(x), np.nan, np.clip(pos, 0, len(self.grid) - 1))

    def encode(self, s: pd.Series) -> tuple[np.ndarray, int]:
        """Codes of a column (already coerced to the schema type), and how many values fell outside the domain."""
        missing = s.isna().to_numpy()
        miss_code = self.n_values
        if not self.missing and missing.any():
            from anonlab.errors import InputError

            # the column only: which row holds a person's missing value is a fact about the private table
            raise InputError(
                f"column {self.name!r} holds a missing value, but missing values were declared absent (the "
                "schema's missing = false, or --no-missing); its rows are not shown, as they are private"
            )
        if self.type == "categorical":
            lookup = {label: i for i, label in enumerate(self.labels)}
            mapped = s.map(lookup)
            outside = int((mapped.isna().to_numpy() & ~missing).sum())
            if self.other is not None:  # an unlisted value is "other", not missing
                unlisted = mapped.isna().to_numpy() & ~missing
                mapped = mapped.where(~unlisted, lookup[self.other])
            elif outside and not self.missing:
                from anonlab.errors import InputError

                # an unlisted category is coded missing, and this column has no missing code; the column only
                raise InputError(
                    f"column {self.name!r} holds a value outside the schema's categories, which would be coded "
                    "missing, but missing values were declared absent (the schema's missing = false, or "
                    "--no-missing); the values and their rows are not shown, as they are private"
                )
            codes = mapped.fillna(miss_code).to_numpy(dtype=np.int64)
            return codes, outside
        values = self.values(s)
        edges = np.asarray(self.edges)
        lo, hi = edges[0], edges[-1] - (1.0 if self.type in ("integer", "date") else 0.0)
        present = ~missing
        off = (values < lo) | (values > hi)
        clipped = np.clip(np.nan_to_num(values, nan=lo), lo, hi)
        if self.exact and len(edges) == 2 and edges[0] == edges[1]:
            codes = np.zeros(len(values), dtype=np.int64)
        else:
            codes = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, self.n_values - 1)
            if (
                self.exact
            ):  # one code per value: a value that is none of them (between two listed ones) is outside
                off |= edges[codes] != clipped
            elif self.grid is not None:  # listed values: a value that is none of them is outside too
                off |= ~np.isin(clipped, np.asarray(self.grid))
        outside = int(off[present].sum())
        codes = np.where(missing, miss_code, codes).astype(np.int64)
        return codes, outside

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Values for ``codes``: labels, or a value drawn uniformly inside each bin; the missing code -> missing."""
        import pandas as pd

        codes = np.asarray(codes, dtype=np.int64)
        missing = codes >= self.n_values
        safe = np.where(missing, 0, codes)
        if self.type == "categorical":
            labels = np.asarray(self.labels, dtype=object)[safe]
            labels[missing] = None
            return pd.Series(labels, name=self.name, dtype=object)
        edges = np.asarray(self.edges)
        left, right = edges[safe], edges[np.minimum(safe + 1, len(edges) - 1)]
        if self.type in ("integer", "date"):
            if self.exact:
                values = left.astype(np.int64)
            elif self.density:
                values = self._within(left, right, rng).astype(np.int64)
            else:
                lo = np.ceil(left).astype(np.int64)
                hi = np.maximum(np.ceil(right).astype(np.int64) - 1, lo)
                values = rng.integers(lo, hi + 1)
            if self.type == "date":
                out = pd.Series(pd.Timestamp(_EPOCH) + pd.to_timedelta(values, unit="D"), name=self.name)
                return out.where(~missing, pd.NaT)
            if missing.any():
                return pd.Series(pd.array(np.where(missing, 0, values), dtype="Int64"), name=self.name).mask(
                    missing
                )
            return pd.Series(values.astype(np.int64), name=self.name)
        if self.exact:
            values = left
        elif self.density:
            values = self._within(left, right, rng)
        else:
            values = left + rng.random(len(codes)) * (right - left)
        if self.decimals is not None:
            values = np.round(values, self.decimals)
        values = np.where(missing, np.nan, values)
        return pd.Series(values, name=self.name, dtype=float)

    def _within(self, left: np.ndarray, right: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A value inside each bin ``[left, right)`` drawn from the DP density (listed values: drawn as positions in
        the list, the bins' edges taken to the positions of the first listed value at or above them)."""
        from anonlab.synth.density import sample_within, value_grid

        lo, top, step = value_grid(self)
        if self.grid is None:
            return sample_within(np.asarray(self.density), left, right, step, lo, top, rng)
        grid = np.asarray(self.grid)
        at = lambda e: np.searchsorted(grid, e, side="left").astype(float)  # noqa: E731
        pos = sample_within(np.asarray(self.density), at(left), at(right), step, lo, top, rng)
        return grid[np.clip(pos.astype(np.int64), 0, len(grid) - 1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "labels": self.labels,
            "edges": self.edges,
            "exact": self.exact,
            "missing": self.missing,
            "learned": self.learned,
            "density": None if self.density is None else [list(c) for c in self.density],
            "decimals": self.decimals,
            **({"other": self.other} if self.other is not None else {}),
            **({"grid": list(self.grid)} if self.grid is not None else {}),
        }


@dataclass(frozen=True)
class Encoding:
    """The codings of the synthesised columns, in order, and what was left out.

    ``skipped`` names identifier and free-text columns, which no synthesizer releases.
    """

    columns: tuple[ColumnCoding, ...]
    skipped: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_schema(
        cls,
        schema: Schema,
        *,
        bins: int = DEFAULT_BINS,
        trust_domains: bool = False,
        missing: bool = True,
        other: Mapping[str, str] | None = None,
    ) -> Encoding:
        """Build the encoding from public domains only.

        Raises :class:`PrivacyError` for a domain read from the data (``from_data = true``) unless
        ``trust_domains`` (the user vouches the domain is public; recorded in the sidecar and the ledger).
        ``missing=False`` drops the missing codes (the user states as public that no value is missing); so does a
        column whose schema says ``missing = false``. ``other`` names, per categorical column, the category that
        holds every unlisted value (:attr:`ColumnCoding.other`; it must be one of the column's categories).
        """
        if bins < 2:
            raise SchemaError(f"bins must be at least 2 (got {bins})")
        codings, skipped = [], []
        for col in schema:
            if col.role == "identifier" or col.type == "text":
                skipped.append(col.name)
                continue
            if col.has_domain and col.from_data and not trust_domains:
                raise PrivacyError(
                    f"column {col.name!r}: its domain was read from the data (from_data = true); a DP synthesizer "
                    "would leak it. State the domain as public in the schema, or pass --trust-domains"
                )
            # a column the schema says has no missing values never gets a missing code, so none can be sampled
            allows = getattr(col, "missing", True) is not False  # None (not stated) allows missing values
            coding = ColumnCoding.from_column(col, bins, missing and allows)
            if other and col.name in other:
                from dataclasses import replace

                coding = replace(coding, other=other[col.name])
            codings.append(coding)
        if not codings:
            raise SchemaError("no column to synthesise (identifier and text columns are never synthesised)")
        return cls(tuple(codings), tuple(skipped))

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def wide_columns(self) -> list[str]:
        """Numeric and date columns cut into bins (not one code per value): the ones quantile binning can learn
        cut points for."""
        return [c.name for c in self.columns if c.type in ("integer", "float", "date") and not c.exact]

    @property
    def learned(self) -> dict[str, tuple[float, ...]]:
        """The edges learned with DP (quantile binning), by column; empty for a purely public encoding."""
        return {c.name: c.edges for c in self.columns if c.learned}

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(c.size for c in self.columns)

    def encode(self, df: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
        """An ``(n, d)`` int64 array of codes, and per column how many values fell outside the public domain."""
        out = np.empty((len(df), len(self.columns)), dtype=np.int64)
        outside = {}
        for j, c in enumerate(self.columns):
            out[:, j], k = c.encode(df[c.name])
            if k:
                outside[c.name] = k
        return out, outside

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({c.name: c.decode(codes[:, j], rng) for j, c in enumerate(self.columns)})

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns], "skipped": list(self.skipped)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Encoding:
        cols = []
        for c in data["columns"]:
            labels = tuple(c["labels"]) if c.get("labels") is not None else None
            edges = tuple(c["edges"]) if c.get("edges") is not None else None
            cols.append(
                ColumnCoding(
                    c["name"],
                    c["type"],
                    labels=labels,
                    edges=edges,
                    exact=bool(c["exact"]),
                    missing=bool(c.get("missing", True)),
                    learned=bool(c.get("learned", False)),
                    density=None
                    if c.get("density") is None
                    else tuple(tuple(float(v) for v in cell) for cell in c["density"]),
                    decimals=c.get("decimals"),
                    other=c.get("other"),
                    grid=tuple(float(v) for v in c["grid"]) if c.get("grid") is not None else None,
                )
            )
        return cls(tuple(cols), tuple(data.get("skipped", ())))
