"""The data contract every layer shares: each column's role, type and public domain.

A :class:`Schema` says, per column, what part it plays in a disclosure (``identifier``, ``quasi``,
``sensitive``, ``other``), its type, and its *domain*: the categories or bounds a value may take. A domain matters
to differential privacy: a DP step may only rely on a domain that is public (known without looking at the data).
A domain that was read from the data (by :func:`infer_schema`) is marked ``from_data = true``; DP layers refuse it
unless the user vouches for it (``--trust-domains``), because reading categories or bounds from the data leaks
information that no noise pays for.

Schemas are written as TOML::

    [columns.age]
    role = "quasi"
    type = "integer"
    lower = 17
    upper = 90
    from_data = true
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anonlab.errors import InputError, SchemaError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ROLES", "TYPES", "Column", "Schema", "infer_schema", "guess_role"]

ROLES = ("identifier", "quasi", "sensitive", "other")
TYPES = ("categorical", "integer", "float", "date", "text")
_BOUNDED = ("integer", "float", "date")


@dataclass(frozen=True)
class Column:
    """One column of the contract.

    Parameters
    ----------
    name : the column's header in the table.
    role : ``identifier`` (names a person directly: removed or pseudonymised), ``quasi`` (a quasi-identifier: could
        link a record to a person in combination with other data; generalised for k-anonymity), ``sensitive`` (the
        attribute to protect: l-diversity and t-closeness are measured on it), ``other``.
    type : ``categorical``, ``integer``, ``float``, ``date`` or ``text`` (free text, never released by DP methods).
    categories : the public set of values of a categorical column, or ``None`` when unknown.
    lower, upper : public bounds of a numeric or date column (inclusive). DP sums, means and discretisation clamp to
        them.
    from_data : ``True`` when the domain was read from the data rather than stated as public; DP steps refuse it
        unless the user explicitly trusts it.
    """

    name: str
    role: str = "other"
    type: str = "categorical"
    categories: tuple[str, ...] | None = None
    lower: float | int | _dt.date | None = None
    upper: float | int | _dt.date | None = None
    from_data: bool = False

    def __post_init__(self) -> None:
        where = f"column {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise SchemaError("a column has an empty name")
        if self.role not in ROLES:
            raise SchemaError(f"{where}: role {self.role!r} is not one of {', '.join(ROLES)}")
        if self.type not in TYPES:
            raise SchemaError(f"{where}: type {self.type!r} is not one of {', '.join(TYPES)}")
        if self.categories is not None:
            if self.type != "categorical":
                raise SchemaError(f"{where}: categories given for a {self.type} column")
            cats = tuple(str(c) for c in self.categories)
            if len(set(cats)) != len(cats):
                raise SchemaError(f"{where}: repeated category")
            object.__setattr__(self, "categories", cats)
        if (self.lower is not None or self.upper is not None) and self.type not in _BOUNDED:
            raise SchemaError(f"{where}: bounds given for a {self.type} column")
        if (self.lower is None) != (self.upper is None):
            raise SchemaError(f"{where}: give both lower and upper, or neither")
        if self.lower is not None:
            if self.type == "date":
                lo, hi = (_as_date(v, where) for v in (self.lower, self.upper))
            else:
                if isinstance(self.lower, bool | str) or isinstance(self.upper, bool | str):
                    raise SchemaError(f"{where}: bounds must be numbers")
                lo, hi = self.lower, self.upper
                if self.type == "integer":
                    if int(lo) != lo or int(hi) != hi:
                        raise SchemaError(f"{where}: integer bounds must be whole numbers")
                    lo, hi = int(lo), int(hi)
                else:
                    lo, hi = float(lo), float(hi)
            if lo > hi:
                raise SchemaError(f"{where}: lower {lo} is above upper {hi}")
            object.__setattr__(self, "lower", lo)
            object.__setattr__(self, "upper", hi)

    @property
    def has_domain(self) -> bool:
        """Whether categories or bounds are known at all (public or not)."""
        return self.categories is not None or self.lower is not None

    @property
    def public_domain(self) -> bool:
        """Whether the domain may be used by a DP step without paying for it: known and not read from the data."""
        return self.has_domain and not self.from_data

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "type": self.type}
        if self.categories is not None:
            out["categories"] = list(self.categories)
        if self.lower is not None:
            out["lower"], out["upper"] = self.lower, self.upper
        if self.has_domain:
            out["from_data"] = self.from_data
        return out


def _as_date(value: Any, where: str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        raise SchemaError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


_KEYS = {"role", "type", "categories", "lower", "upper", "from_data"}


@dataclass(frozen=True)
class Schema:
    """An ordered set of :class:`Column` contracts, one per column name."""

    columns: tuple[Column, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise SchemaError("a column is listed twice in the schema")

    # -- access --------------------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise SchemaError(f"the schema has no column {name!r}")

    def __iter__(self):
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def with_role(self, role: str) -> list[str]:
        """Names of the columns that have ``role``."""
        return [c.name for c in self.columns if c.role == role]

    def replace_column(self, column: Column) -> Schema:
        """A copy with ``column`` replacing the one of the same name."""
        return Schema(tuple(column if c.name == column.name else c for c in self.columns))

    def trusting(self, names: list[str] | None = None) -> Schema:
        """A copy in which the domains of ``names`` (all by default) are no longer marked ``from_data``."""
        return Schema(
            tuple(
                replace(c, from_data=False) if names is None or c.name in names else c for c in self.columns
            )
        )

    def fingerprint(self) -> str:
        """A SHA-256 of the schema's canonical TOML: names what a release was made under."""
        return hashlib.sha256(self.to_toml().encode("utf-8")).hexdigest()

    def check_frame(self, df: pd.DataFrame, source: str = "input") -> None:
        """Raise :class:`InputError` if a schema column is missing from ``df``."""
        from anonlab.io import require_columns

        require_columns(df, self.names, source)

    # -- TOML ----------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"columns": {c.name: c.to_dict() for c in self.columns}}

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "schema") -> Schema:
        cols = data.get("columns")
        if not isinstance(cols, dict) or not cols:
            raise SchemaError(f"{source}: no [columns.NAME] tables")
        out = []
        for name, spec in cols.items():
            if not isinstance(spec, dict):
                raise SchemaError(f"{source}: columns.{name} must be a table")
            unknown = set(spec) - _KEYS
            if unknown:
                raise SchemaError(f"{source}: column {name!r}: unknown key {sorted(unknown)[0]!r}")
            try:
                out.append(Column(name=name, **spec))
            except SchemaError as exc:
                raise SchemaError(f"{source}: {exc}") from None
            except TypeError as exc:
                raise SchemaError(f"{source}: column {name!r}: {exc}") from None
        return cls(tuple(out))

    @classmethod
    def from_toml(cls, text: str, source: str = "schema") -> Schema:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SchemaError(f"{source}: not valid TOML ({exc})") from None
        return cls.from_dict(data, source)

    @classmethod
    def read(cls, path: str | Path) -> Schema:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such schema file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path}: not valid UTF-8") from None
        return cls.from_toml(text, str(path))

    def write(self, path: str | Path, force: bool = False) -> Path:
        from anonlab.io import write_text

        return write_text(path, self.to_toml(), force)

    # -- data ----------------------------------------------------------------------------------------------
    def coerce(self, df: pd.DataFrame, source: str = "input") -> pd.DataFrame:
        """Return a copy of ``df`` with each schema column converted to its type.

        Raises :class:`InputError` naming the column and the first row (1-based, header not counted) whose value
        does not fit the type. Missing values stay missing.
        """
        import numpy as np
        import pandas as pd

        self.check_frame(df, source)
        out = df.copy()
        for col in self.columns:
            s = df[col.name]
            if col.type in ("categorical", "text"):
                out[col.name] = s.astype("string").astype(object).where(s.notna(), None)
                continue
            if col.type == "date":
                conv = pd.to_datetime(s, errors="coerce")
            else:
                conv = pd.to_numeric(s, errors="coerce")
            bad = conv.isna() & s.notna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    f"{source}: column {col.name!r}, row {i + 1}: {s.iloc[i]!r} is not {_article(col.type)}"
                )
            if col.type == "integer":
                frac = conv.notna() & (conv != np.floor(conv))
                if frac.any():
                    i = int(np.flatnonzero(frac.to_numpy())[0])
                    raise InputError(
                        f"{source}: column {col.name!r}, row {i + 1}: {s.iloc[i]!r} is not a whole number"
                    )
                conv = conv.astype("Int64") if conv.isna().any() else conv.astype("int64")
            out[col.name] = conv
        return out


def _article(kind: str) -> str:
    return {"integer": "an integer", "float": "a number", "date": "a date"}.get(kind, kind)


# -- inference ------------------------------------------------------------------------------------------------

_IDENTIFIER_NAMES = re.compile(
    r"(^|_|\b)(name|first_?name|last_?name|surname|given_?name|full_?name|e_?mail|mail|phone|telephone|mobile|tel|"
    r"fax|ssn|social_?security|passport|mrn|patient_?id|person_?id|subject_?id|nhs(_?number)?|national_?id|"
    r"address|street|ip(_?address)?|account|iban|licen[cs]e|id|uuid|record_?id|case_?number)($|_|\b)",
    re.IGNORECASE,
)
_QUASI_NAMES = re.compile(
    r"(^|_|\b)(age|sex|gender|zip|zip_?code|postcode|postal_?code|dob|date_?of_?birth|birth_?date|birth_?year|"
    r"yob|race|ethnicity|marital|marital_?status|native_?country|country|nationality|education|occupation|"
    r"city|county|state|region|height|weight|religion)($|_|\b)",
    re.IGNORECASE,
)
_SENSITIVE_NAMES = re.compile(
    r"(^|_|\b)(diagnosis|disease|icd\d*|condition|income|salary|wage|hiv|medication|drug|treatment|outcome|"
    r"income_?per_?year|cancer|charge|decile_?score|score_?text|sexual_?orientation)($|_|\b)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,}$")


def _normalise_name(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip())


def guess_role(name: str, values: pd.Series | None = None) -> str:
    """Guess a column's role from its name and, if given, a sample of its values."""
    key = _normalise_name(name)
    if _QUASI_NAMES.search(key):
        return "quasi"
    if _IDENTIFIER_NAMES.search(key):
        return "identifier"
    if values is not None:
        sample = values.dropna().astype(str).head(200)
        if len(sample):
            if sample.str.match(_EMAIL).mean() > 0.8:
                return "identifier"
            digits = sample.str.replace(r"\D", "", regex=True).str.len()
            if (
                sample.str.match(_PHONE).mean() > 0.8
                and (digits >= 7).mean() > 0.8
                and values.nunique() > 0.9 * len(values.dropna())
            ):
                return "identifier"
    if _SENSITIVE_NAMES.search(key):
        return "sensitive"
    return "other"


def _guess_type(s: pd.Series) -> str:
    import pandas as pd

    nonnull = s.dropna()
    if pd.api.types.is_bool_dtype(s):
        return "categorical"
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    if pd.api.types.is_float_dtype(s):
        if len(nonnull) and (nonnull == nonnull.round()).all():
            return "integer"
        return "float"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    text = nonnull.astype(str)
    if len(text) == 0:
        return "categorical"
    if text.str.match(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$").mean() > 0.95:
        return "date"
    n_unique = text.nunique()
    long_text = text.str.len().mean() > 40 and text.str.contains(" ").mean() > 0.5
    if long_text and n_unique > 0.5 * len(text):
        return "text"
    return "categorical"


def infer_schema(df: pd.DataFrame, max_categories: int = 1000) -> Schema:
    """Draft a schema from a table.

    Every domain read here comes from the data, so it is marked ``from_data = True``: fine for k-anonymity and
    risk assessment, not trusted by DP steps. Categorical columns with more than ``max_categories`` distinct values
    get no category list (an identifier-like column's values would otherwise be copied into the schema).
    """
    import pandas as pd

    cols = []
    for name in df.columns:
        s = df[name]
        role = guess_role(str(name), s)
        kind = _guess_type(s)
        kw: dict[str, Any] = {}
        if role == "identifier" or kind == "text":
            pass  # never copy identifying values into a schema
        elif kind == "categorical":
            cats = s.dropna().astype(str).unique()
            if 0 < len(cats) <= max_categories:
                kw = {"categories": tuple(sorted(cats)), "from_data": True}
        elif kind in ("integer", "float"):
            nonnull = pd.to_numeric(s, errors="coerce").dropna()
            if len(nonnull):
                lo, hi = nonnull.min(), nonnull.max()
                if kind == "integer":
                    lo, hi = int(lo), int(hi)
                else:
                    lo, hi = float(lo), float(hi)
                kw = {"lower": lo, "upper": hi, "from_data": True}
        elif kind == "date":
            d = pd.to_datetime(s, errors="coerce").dropna()
            if len(d):
                kw = {"lower": d.min().date(), "upper": d.max().date(), "from_data": True}
        cols.append(Column(name=str(name), role=role, type=kind, **kw))
    return Schema(tuple(cols))
