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
    missing = false
    from_data = true

Types: ``categorical``, ``code`` (text codes such as ZIPs, IDs, phone numbers, ICD codes: categorical, read and
written exactly as text, ``02140`` stays ``02140``), ``integer``, ``float``, ``date``, ``text`` (free text).
``missing`` says whether the column may hold missing values; a schema without it (written before it existed)
allows them, as before. Like a domain, a ``missing`` read from the data is covered by ``from_data``.

Format versions: a schema written by anonlab before ``code`` and ``missing`` existed (``tests/data/schema-v1.toml``)
reads unchanged and has the same fingerprint.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anonlab.errors import InputError, SchemaError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "ROLES",
    "TYPES",
    "CATEGORICAL_TYPES",
    "Column",
    "Schema",
    "infer_schema",
    "guess_role",
    "explain_role",
]

ROLES = ("identifier", "quasi", "sensitive", "other")
TYPES = ("categorical", "code", "integer", "float", "date", "text")
#: Types whose values are labels, not quantities: encoders, metrics and DP counts treat them alike.
CATEGORICAL_TYPES = ("categorical", "code")
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
    type : ``categorical``, ``code`` (a text code: ZIP, ID, phone number, ICD code; categorical, kept exactly as
        written, leading zeros included), ``integer``, ``float``, ``date`` or ``text`` (free text, never released
        by DP methods).
    categories : the public set of values of a categorical or code column, or ``None`` when unknown.
    lower, upper : public bounds of a numeric or date column (inclusive). DP sums, means and discretisation clamp to
        them.
    from_data : ``True`` when the domain (and ``missing``) was read from the data rather than stated as public; DP
        steps refuse it unless the user explicitly trusts it.
    missing : whether the column may hold missing values: ``False`` means never (a synthesizer must not make them
        up), ``True`` that it may, ``None`` (a schema that does not say: older schemas) is read as ``True``.
    decimals : for a ``float`` column, the number of decimal places its values are written with (``visib`` in
        hours of 0.25 miles: 2); synthesizers round what they draw to it, so a point mass such as 10.00 is written
        as 10.0, not 9.9999. ``None``: any precision. Read from the data by :func:`infer_schema` (then covered by
        ``from_data`` like the bounds).
    other : for a categorical or code column, the public label (one of ``categories``) that stands for every value
        not listed: a synthesizer codes such values as this category and writes the label, instead of refusing the
        column or coding them missing. :func:`infer_schema` gives a column with more distinct values than it lists
        ``other = "(other)"`` beside its most frequent values.
    values : for an ``integer`` or ``float`` column, the distinct values it holds, increasing: a synthesizer whose
        ``bins`` are at least as many codes each value on its own and writes it back exactly (RAND HIE's
        ``lncoins``: 0, 3.258096, 3.931826, 4.564348, 4.61512). Read from the data by :func:`infer_schema` for a
        number of at most :data:`MAX_VALUES` values (then covered by ``from_data`` like the bounds: a DP fit that
        discovers its domains never uses them).
    reason : why :func:`infer_schema` guessed the role and type (written as a comment in the draft TOML; not part
        of the contract: ignored by equality and fingerprints).
    """

    name: str
    role: str = "other"
    type: str = "categorical"
    categories: tuple[str, ...] | None = None
    lower: float | int | _dt.date | None = None
    upper: float | int | _dt.date | None = None
    from_data: bool = False
    missing: bool | None = None
    decimals: int | None = None
    other: str | None = None
    values: tuple[float, ...] | None = None
    reason: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        where = f"column {self.name!r}"
        self._check_kind(where)
        if self.categories is not None:
            self._check_categories(where)
        if self.other is not None:
            if self.type not in CATEGORICAL_TYPES:
                raise SchemaError(f"{where}: an 'other' label given for a {self.type} column")
            if not isinstance(self.other, str) or (
                self.categories is not None and self.other not in self.categories
            ):
                raise SchemaError(f"{where}: the 'other' label must be one of the column's categories")
        if (self.lower is not None or self.upper is not None) and self.type not in _BOUNDED:
            raise SchemaError(f"{where}: bounds given for a {self.type} column")
        if (self.lower is None) != (self.upper is None):
            raise SchemaError(f"{where}: give both lower and upper, or neither")
        if self.lower is not None:
            self._check_bounds(where)
        if self.values is not None:
            self._check_values(where)

    def _check_values(self, where: str) -> None:
        """The distinct values of a number (integer or float), increasing, finite, inside the bounds."""
        if self.type not in ("integer", "float"):
            raise SchemaError(f"{where}: values given for a {self.type} column")
        vals = list(self.values) if isinstance(self.values, list | tuple) else None
        if not vals or any(isinstance(v, bool | str) or not _finite(v) for v in vals):
            raise SchemaError(f"{where}: values must be a non-empty list of finite numbers")
        if self.type == "integer":
            if any(int(v) != v for v in vals):
                raise SchemaError(f"{where}: the values of an integer column must be whole numbers")
            vals = [int(v) for v in vals]
        else:
            vals = [float(v) for v in vals]
        if any(b <= a for a, b in zip(vals, vals[1:], strict=False)):
            raise SchemaError(f"{where}: values must increase, without repeats")
        lo, hi = self.lower, self.upper  # numbers here: bounds of an integer or float column
        if isinstance(lo, int | float) and isinstance(hi, int | float) and (vals[0] < lo or vals[-1] > hi):
            raise SchemaError(f"{where}: values outside [lower, upper]")
        object.__setattr__(self, "values", tuple(vals))

    def _check_kind(self, where: str) -> None:
        """Name, role, type, ``missing``, ``decimals`` and ``reason`` of the allowed kinds."""
        if not isinstance(self.name, str) or not self.name:
            raise SchemaError("a column has an empty name")
        if self.role not in ROLES:
            raise SchemaError(f"{where}: role {self.role!r} is not one of {', '.join(ROLES)}")
        if self.type not in TYPES:
            raise SchemaError(f"{where}: type {self.type!r} is not one of {', '.join(TYPES)}")
        if self.missing is not None and not isinstance(self.missing, bool):
            raise SchemaError(f"{where}: missing must be true or false")
        if self.decimals is not None:
            if self.type != "float":
                raise SchemaError(f"{where}: decimals given for a {self.type} column")
            if (
                isinstance(self.decimals, bool)
                or not isinstance(self.decimals, int)
                or not 0 <= self.decimals <= 15
            ):
                raise SchemaError(f"{where}: decimals must be a whole number from 0 to 15")
        if self.reason is not None and not isinstance(self.reason, str):
            raise SchemaError(f"{where}: reason must be text")

    def _check_categories(self, where: str) -> None:
        """Categories only for label types, as distinct strings (stored as a tuple)."""
        if self.type not in CATEGORICAL_TYPES:
            raise SchemaError(f"{where}: categories given for a {self.type} column")
        cats = tuple(str(c) for c in self.categories or ())
        if len(set(cats)) != len(cats):
            raise SchemaError(f"{where}: repeated category")
        object.__setattr__(self, "categories", cats)

    def _check_bounds(self, where: str) -> None:
        """Bounds as dates, whole numbers or finite floats by type, lower <= upper (stored normalised)."""
        lo: Any
        hi: Any
        if self.type == "date":
            lo, hi = (_as_date(v, where) for v in (self.lower, self.upper))
        else:
            if isinstance(self.lower, bool | str) or isinstance(self.upper, bool | str):
                raise SchemaError(f"{where}: bounds must be numbers")
            lo, hi = self.lower, self.upper
            if not all(_finite(v) for v in (lo, hi)):  # nan, inf: no public domain, no integer
                raise SchemaError(f"{where}: bounds must be finite numbers, got {lo} and {hi}")
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
    def is_categorical(self) -> bool:
        """Whether values are labels (``categorical`` or ``code``): counted, never averaged or binned."""
        return self.type in CATEGORICAL_TYPES

    @property
    def allows_missing(self) -> bool:
        """Whether missing values may occur (``missing`` not stated counts as allowed, as in older schemas)."""
        return self.missing is not False

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
        if self.missing is not None:
            out["missing"] = self.missing
        if self.decimals is not None:
            out["decimals"] = self.decimals
        if self.other is not None:
            out["other"] = self.other
        if self.values is not None:
            out["values"] = list(self.values)
        if self.has_domain or (self.missing is not None and self.from_data):
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


_KEYS = {
    "role",
    "type",
    "categories",
    "lower",
    "upper",
    "from_data",
    "missing",
    "decimals",
    "other",
    "values",
    "reason",
}


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

    def __repr__(self) -> str:
        roles = ", ".join(f"{c.name}: {c.role} {c.type}" for c in self.columns[:6])
        more = f", ... ({len(self.columns)} columns)" if len(self.columns) > 6 else ""
        return f"Schema({roles}{more})"

    def _repr_html_(self) -> str:
        """A table in a notebook: role, type, domain and missing per column; read-from-data domains flagged."""
        from html import escape

        rows = []
        for c in self.columns:
            if c.categories is not None:
                domain = f"{len(c.categories)} categories"
            elif c.lower is not None:
                domain = f"[{c.lower}, {c.upper}]"
            else:
                domain = "none"
            if c.from_data:
                domain += " <b>(read from the data: not public)</b>"
            missing = {None: "", True: "yes", False: "no"}[c.missing]
            cells = (escape(c.name), c.role, c.type, domain, missing, escape(c.reason or ""))
            rows.append("<tr>" + "".join(f"<td>{v}</td>" for v in cells) + "</tr>")
        head = "".join(f"<th>{h}</th>" for h in ("column", "role", "type", "domain", "missing", "why"))
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    def with_role(self, role: str) -> list[str]:
        """Names of the columns that have ``role``."""
        return [c.name for c in self.columns if c.role == role]

    def subset(self, names: Sequence[str]) -> Schema:
        """The schema of the columns ``names`` only, in that order: a schema with extra columns serves any subset
        of them (a table with 4 of Adult's columns under the Adult schema). Raises :class:`SchemaError` for a
        name the schema lacks."""
        return Schema(tuple(self[n] for n in names))

    def present_in(self, df: pd.DataFrame) -> Schema:
        """The schema of the columns of ``df`` that it lists, in the table's order."""
        return Schema(tuple(self[str(c)] for c in df.columns if str(c) in self))

    @classmethod
    def infer(cls, df: pd.DataFrame, max_categories: int = 1000) -> Schema:
        """Draft a schema from a table: :func:`infer_schema`."""
        return infer_schema(df, max_categories=max_categories)

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

    def to_toml(self, reasons: bool = False) -> str:
        """The schema as TOML; with ``reasons``, each column's inference reason precedes it as a comment."""
        import tomli_w

        if not reasons or not any(c.reason for c in self.columns):
            return tomli_w.dumps(self.to_dict())
        parts = []
        for c in self.columns:
            note = f"# {c.name}: {c.reason}".replace("\r", " ").replace("\n", " ") + "\n" if c.reason else ""
            parts.append(note + tomli_w.dumps({"columns": {c.name: c.to_dict()}}))
        return "\n".join(parts)

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

    @classmethod
    def load(cls, spec: Schema | str | Path) -> Schema:
        """A schema from what a user names: a :class:`Schema` (as is), ``"adult"`` (the bundled UCI Adult schema,
        public domains only) or the path of a TOML file. Every command that takes ``--schema`` reads it so."""
        if isinstance(spec, Schema):
            return spec
        if str(spec) == "adult":
            from anonlab.datasets import adult_schema

            return adult_schema()
        return cls.read(spec)

    def write(self, path: str | Path, force: bool = False) -> Path:
        """Write the schema as TOML (with the inference reasons as comments, where known)."""
        from anonlab.io import write_text

        return write_text(path, self.to_toml(reasons=True), force)

    # -- data ----------------------------------------------------------------------------------------------
    def problems(self, df: pd.DataFrame) -> list[str]:
        """What in ``df`` (already read through this schema, :meth:`coerce`) does not fit the schema's domains.

        One line per column at fault: missing values where ``missing = false``, values outside the categories or
        outside ``[lower, upper]``. Counts only, never the values themselves (they may be personal data). An
        empty list means the table fits.
        """
        import pandas as pd

        found = []
        for col in self.columns:
            s = df[col.name]
            if not col.allows_missing and s.isna().any():
                found.append(
                    f"column {col.name!r}: {int(s.isna().sum())} missing value(s) but missing = false"
                )
            if col.categories is not None and col.other is None:  # with an "other" label any value fits
                extra = set(s.dropna().astype(str)) - set(col.categories)
                if extra:
                    found.append(
                        f"column {col.name!r}: {len(extra)} value(s) outside the schema's categories"
                    )
            elif col.lower is not None and col.type in ("integer", "float"):
                v = pd.to_numeric(s, errors="coerce")
                out = int(((v < col.lower) | (v > col.upper)).sum())
                if out:
                    found.append(f"column {col.name!r}: {out} value(s) outside [{col.lower}, {col.upper}]")
        return found

    def coerce(self, df: pd.DataFrame, source: str = "input") -> pd.DataFrame:
        """Return a copy of ``df`` with each schema column converted to its type.

        ``categorical``, ``code`` and ``text`` become text exactly as read (``02140`` stays ``02140``); ``integer``
        is converted exactly (int64, or nullable ``Int64`` when values are missing: never through float, so
        ``9007199254740993`` survives); ``float`` is parsed, ``date`` with one format per column
        (:func:`anonlab.io.parse_dates`: ISO, or one unambiguous format; ``01/02/2020`` is refused). Raises
        :class:`InputError` naming the column and the first row (1-based, header not counted) whose value does not
        fit the type. Missing values stay missing. Every schema column must be in ``df`` (use :meth:`present_in` or :meth:`subset` first for a
        table with fewer columns).
        """
        import numpy as np
        import pandas as pd

        self.check_frame(df, source)
        out = df.copy()
        for col in self.columns:
            s = df[col.name]
            if col.type in ("categorical", "code", "text"):
                from anonlab.io import _as_text

                out[col.name] = _as_text(s)
                continue
            if col.type == "integer":
                out[col.name] = _to_integer(s, col.name, source)
                continue
            if col.type == "date":  # one format per column; 01/02/2020 (day or month first?) is refused
                from anonlab.io import parse_dates

                hint = "write the dates as YYYY-MM-DD"
                out[col.name] = parse_dates(s, col.name, None, source, hint=hint)[0]
                continue
            conv = pd.to_numeric(s, errors="coerce")
            bad = conv.isna() & s.notna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    f"{source}: column {col.name!r}, row {i + 1}: {s.iloc[i]!r} is not {_article(col.type)}"
                )
            out[col.name] = conv
        return out


def _finite(v) -> bool:
    try:
        return bool(float(v) - float(v) == 0)  # false for nan and +-inf
    except (TypeError, ValueError, OverflowError):
        return False


def _to_integer(s: pd.Series, name: str, source: str) -> pd.Series:
    """A column as exact integers: int64, or ``Int64`` when values are missing; never rounded through float."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_integer_dtype(s):
        return s
    where = f"{source}: column {name!r}"
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        u = pd.Series(uniq, dtype=object).astype(str).str.strip()
        plain = u.str.fullmatch(r"[-+]?[0-9]+")
        zeros = u.str.fullmatch(r"[-+]?0[0-9]+").to_numpy()
        if zeros.any():  # 01234 would become 1234 and merge with a real 1234: a code, not an integer
            i = int(np.flatnonzero(codes == np.flatnonzero(zeros)[0])[0])
            raise InputError(
                f"{where}, row {i + 1}: {s.iloc[i]!r} has a leading zero, which an integer column drops; "
                'if it holds codes (ZIPs, IDs), declare it type = "code" in the schema to keep them as written'
            )
        values = np.zeros(len(u), dtype=np.int64)
        try:
            values[plain.to_numpy()] = u[plain].str.lstrip("+").to_numpy(dtype=object).astype(np.int64)
        except OverflowError:
            big = u[plain][u[plain].map(lambda v: not -(2**63) <= int(v) < 2**63)].iloc[0]
            i = int(np.flatnonzero(s.astype(str).str.strip().to_numpy() == big)[0])
            raise InputError(
                f"{where}, row {i + 1}: {s.iloc[i]!r} is beyond the 64-bit integer range"
            ) from None
        rest = ~plain.to_numpy()
        if rest.any():  # "3.0", "1e3": whole numbers written another way, within float's exact range
            num = pd.to_numeric(u[rest], errors="coerce").to_numpy(dtype=float)
            ok = np.isfinite(num) & (num == np.floor(num)) & (np.abs(num) < 2**53)
            if not ok.all():
                j = np.flatnonzero(rest)[np.flatnonzero(~ok)[0]]
                i = int(np.flatnonzero(codes == j)[0])
                what = "a whole number" if np.isfinite(num[~ok][0]) else "an integer"
                raise InputError(f"{where}, row {i + 1}: {s.iloc[i]!r} is not {what}")
            values[rest] = num.astype(np.int64)
        out = values[codes] if len(values) else np.zeros(len(s), dtype=np.int64)
        if (codes < 0).any():
            return pd.Series(pd.arrays.IntegerArray(out, codes < 0), index=s.index, name=s.name)
        return pd.Series(out, index=s.index, name=s.name)
    conv = pd.to_numeric(s, errors="coerce")
    bad = conv.isna() & s.notna()
    frac = conv.notna() & (conv != np.floor(conv))
    for mask, what in ((bad, "an integer"), (frac, "a whole number")):
        if mask.any():
            i = int(np.flatnonzero(mask.to_numpy())[0])
            raise InputError(f"{where}, row {i + 1}: {s.iloc[i]!r} is not {what}")
    return conv.astype("Int64") if conv.isna().any() else conv.astype("int64")


def _article(kind: str) -> str:
    return {"integer": "an integer", "float": "a number", "date": "a date"}.get(kind, kind)


# -- inference ------------------------------------------------------------------------------------------------

_IDENTIFIER_NAMES = re.compile(
    r"(^|_|\b)(name|first_?name|last_?name|surname|given_?name|full_?name|e_?mail|mail|phone|telephone|mobile|tel|"
    r"fax|ssn|social_?security|passport|mrn|patient_?id|person_?id|subject_?id|nhs(_?number)?|national_?id|"
    r"address|street|ip(_?address)?|account|iban|licen[cs]e|id|uuid|record_?id|case_?number|"
    r"etunimi|sukunimi|nimi|hetu|henkil[oö]tunnus|nombre|apellido|vorname|nachname|prenom|nom|pat_?nm|nm)($|_|\b)",
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
#: Names of columns that hold codes (typed ``code`` even when every value is a plain integer).
_CODE_NAMES = re.compile(
    r"(^|_|\b)(zip|zip_?code|zipcode|postcode|postal_?code|plz|postinumero|phone|telephone|mobile|fax|icd\d*|"
    r"mrn|ssn|npi|fips|naics|isco|nace)($|_|\b)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,}$")
_URL = re.compile(r"^(?:(?:https?|ftp)://|www\.)\S+$", re.IGNORECASE)
_IPV4 = re.compile(r"^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$")
_IPV6 = re.compile(r"^(?=.*:.*:)[0-9A-Fa-f:]{2,39}$")
#: National identity numbers: (label, pattern). The Finnish henkilötunnus is also checked by its check character.
_NATIONAL_IDS = (
    ("Finnish henkilötunnus", re.compile(r"^\d{6}[-+ABCDEFYXWVU]\d{3}[0-9A-FHJ-NPR-Y]$")),
    ("US social security number", re.compile(r"^(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")),
    ("UK National Insurance number", re.compile(r"^[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-D]$")),
    ("Swedish personnummer", re.compile(r"^(?:\d{2})?\d{6}[-+]\d{4}$")),
    ("Danish CPR number", re.compile(r"^\d{6}-?\d{4}$")),
)
_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$"
_SHARE = 0.8  # the share of sampled values that must fit a pattern for the column to be given its role
_SAMPLE = 500
#: A label (categorical or code) column in which at least this share of the values are distinct, with more than
#: :data:`_KEY_MIN` of them, is a key (a ZIP per row, a record number): it names its row, so it is an identifier.
_KEY_SHARE = 0.9
_KEY_MIN = 100


def _normalise_name(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip())


def guess_role(name: str, values: pd.Series | None = None) -> str:
    """Guess a column's role from its name and, if given, its values (see :func:`explain_role`)."""
    return explain_role(name, values)[0]


def explain_role(name: str, values: pd.Series | None = None) -> tuple[str, str]:
    """Guess a column's role and say why: ``(role, reason)``.

    The name is read first (``age``, ``zip`` -> quasi; ``name``, ``email``, ``id`` -> identifier; ``diagnosis``,
    ``income`` -> sensitive), then the values: e-mail addresses, phone numbers, national ID numbers (Finnish
    henkilötunnus with its check character, US SSN, UK NINO, Swedish and Danish numbers), URLs, IP addresses,
    person names and free text are identifiers; dates are quasi-identifiers (dates of birth when they span
    decades in the past). A column named like an identifier that holds only a handful of values (German credit's
    ``telephone``: A191/A192) is not an identifier. The reason never quotes a value.
    """
    key = _normalise_name(name)
    if _QUASI_NAMES.search(key):
        return "quasi", "the name suggests a quasi-identifier"
    sample = _sample(values)
    n_distinct = int(values.nunique()) if values is not None else 0
    n_values = int(values.notna().sum()) if values is not None else 0
    few = values is not None and n_values > 0 and n_distinct <= 10 and n_distinct <= 0.5 * n_values
    if _IDENTIFIER_NAMES.search(key):
        if not few:
            return "identifier", "the name suggests a direct identifier"
        by_name = f"named like an identifier but holds only {n_distinct} distinct values"
    else:
        by_name = ""
    if sample is not None and len(sample):
        found = _identifier_values(sample, n_distinct, n_values, few)
        if found:
            return "identifier", found
        if sample.str.match(_DATE_RE).mean() > _SHARE:
            years = sample.str.slice(0, 4).astype(int)
            this_year = _dt.date.today().year
            if years.max() - years.min() >= 15 and years.median() <= this_year - 15:
                return "quasi", "values look like dates of birth (dates spanning decades in the past)"
            return "quasi", "values are dates (a date can link a record to a person)"
    if _SENSITIVE_NAMES.search(key):
        return "sensitive", "the name suggests a sensitive attribute"
    return "other", by_name or "nothing in the name or the values suggests another role"


def _sample(values: pd.Series | None):
    if values is None:
        return None
    import pandas as pd

    nonnull = values.dropna()
    if pd.api.types.is_numeric_dtype(nonnull) and not pd.api.types.is_bool_dtype(nonnull):
        return nonnull.head(0).astype(str)  # numbers: only the name speaks
    return nonnull.head(_SAMPLE).astype(str).str.strip()  # the first values only: not the whole column


def _identifier_values(sample: pd.Series, n_distinct: int, n_values: int, few: bool) -> str:
    """Why the sampled values look like a direct identifier, or ``""``.

    Patterns that only identifiers have (e-mail, URL, IP address, national ID) count however few the values;
    phone numbers, free text and person names need a column that is not a handful of repeated codes (``few``)."""
    share = lambda pattern: float(sample.str.match(pattern).mean())  # noqa: E731
    if share(_EMAIL) > _SHARE:
        return "values look like e-mail addresses"
    if share(_URL) > _SHARE:
        return "values look like URLs"
    if share(_IPV4) > _SHARE or share(_IPV6) > _SHARE:
        return "values look like IP addresses"
    for label, pattern in _NATIONAL_IDS:
        hits = sample[sample.str.match(pattern)]
        if label.startswith("Finnish"):
            hits = hits[hits.map(_hetu_valid)]
        if len(hits) > _SHARE * len(sample):
            return f"values look like national ID numbers ({label})"
    if few or share(_DATE_RE) > _SHARE:
        return ""
    digits = sample.str.replace(r"\D", "", regex=True).str.len()
    if share(_PHONE) > _SHARE and (digits >= 7).mean() > _SHARE and n_distinct > 0.9 * n_values:
        return "values look like phone numbers"
    if _is_free_text(sample):
        return "values are free text (it may hold names: review it by hand)"
    if n_distinct >= 3:
        share_names = _person_name_share(sample)
        if share_names > 0.6:
            return f"values look like person names ({share_names:.0%} of sampled values are in Faker's name lists)"
    return ""


def _hetu_valid(value: str) -> bool:
    """The check character of a Finnish henkilötunnus: DDMMYY + individual number, modulo 31."""
    try:
        return _HETU_CHECK[int(value[:6] + value[7:10]) % 31] == value[10]
    except (ValueError, IndexError):
        return False


def _is_free_text(text: pd.Series) -> bool:
    if not len(text):
        return False
    return bool(
        text.str.len().mean() > 40
        and text.str.contains(" ").mean() > 0.5
        and text.nunique() > 0.5 * len(text)
    )


def _person_name_share(sample: pd.Series) -> float:
    """The share of distinct values whose every word (1-4 words of letters) is a known first or last name."""
    names = _known_person_names()
    if not names:
        return 0.0
    distinct = sample.drop_duplicates()
    words = distinct.str.casefold().str.split(r"[\s,]+")
    shaped = distinct.str.fullmatch(r"[^\W\d_][^\W\d_'.\-]*(?:[\s,]+[^\W\d_][^\W\d_'.\-]*){0,3}")
    known = words.map(lambda ws: bool(ws) and all(w in names for w in ws if w))
    return float((shaped & known).mean()) if len(distinct) else 0.0


@functools.lru_cache(maxsize=1)
def _known_person_names() -> frozenset[str]:
    """First and last names of every locale Faker ships (casefolded).

    Faker is a core dependency of anonlab (also installed with SDV) and its per-locale person providers are a
    well-kept, public list of common first and last names in about a hundred locales, which is what recognising
    name columns under any header (``etunimi``, ``nombre``, ``pat_nm``) needs. Without Faker the check is skipped.
    """
    try:
        import faker.config
    except ImportError:
        return frozenset()
    import importlib

    out: set[str] = set()
    for locale in faker.config.AVAILABLE_LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in ("first_names", "first_names_male", "first_names_female", "last_names"):
            for klass in provider.__mro__:
                if attr in vars(klass):
                    value = vars(klass)[attr]
                    if isinstance(value, dict | tuple | list | set | frozenset):
                        out.update(str(v).casefold() for v in value)
                    break
    # words that are names somewhere but mostly mean something else in a table's categories
    return frozenset(out - {"male", "female", "white", "black", "other", "unknown", "none", "yes", "no"})


def _guess_type(s: pd.Series, name: str = "", role: str = "other") -> str:
    import pandas as pd

    nonnull = s.dropna()
    if pd.api.types.is_bool_dtype(s):
        return "categorical"
    if pd.api.types.is_integer_dtype(s):
        return "code" if _CODE_NAMES.search(_normalise_name(name)) or role == "identifier" else "integer"
    if pd.api.types.is_float_dtype(s):
        if len(nonnull) and (nonnull == nonnull.round()).all():
            return "integer"
        return "float"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    if len(nonnull) == 0:
        return "categorical"
    # each distinct value is matched once, weighted by how often it occurs: the same shares as row by row
    counts = nonnull.astype(str).value_counts(sort=False)
    values, weights = counts.index.to_series(), counts.to_numpy()
    rows = int(weights.sum())
    if int(weights[values.str.match(_DATE_RE).to_numpy(dtype=bool)].sum()) / rows > 0.95:
        return "date"
    if values.str.fullmatch(r"[0-9]+").all():  # digits kept as text: leading zeros, or beyond int64
        return "code"
    if (
        int((values.str.len().to_numpy() * weights).sum()) / rows > 40
        and int(weights[values.str.contains(" ").to_numpy(dtype=bool)].sum()) / rows > 0.5
        and len(values) > 0.5 * rows
    ):  # free text, as _is_free_text judges it
        return "text"
    return "categorical"


def _type_reason(kind: str, s: pd.Series, name: str) -> str:
    if kind == "code":
        if _CODE_NAMES.search(_normalise_name(name)):
            return "type code: the name suggests a code"
        if s.dtype != object:
            return "type code: numbers of an identifier are codes"
        return "type code: digits with leading zeros or beyond 64-bit integers (kept as written)"
    return f"type {kind}"


#: The label :func:`infer_schema` gives the values it does not list in a column of many values.
OTHER_LABEL = "(other)"
#: The fewest rows a value must hold to be listed beside an ``other`` label.
OTHER_MIN_COUNT = 2
#: The most values listed beside an ``other`` label: a DP synthesizer's pairs grow with the product of two
#: columns' sizes (the ZIP code table's city x county at 1,000 values each was refused by MST's time estimate),
#: and at epsilon 1 a value needs about a hundred rows to stand out of the noise anyway.
OTHER_MAX_LISTED = 199


def infer_schema(df: pd.DataFrame, max_categories: int = 1000) -> Schema:
    """Draft a schema from a table (read with :func:`anonlab.io.read_table`, so codes are text).

    Roles come from names and values (:func:`explain_role`); types from the values: integers, floats, dates,
    ``code`` for digit strings with leading zeros and for code-named columns (zip, phone, ICD), ``text`` for free
    text, ``categorical`` otherwise. Each column's ``reason`` says why (a comment in the written TOML).

    Every domain read here comes from the data, so it is marked ``from_data = True``, and so is ``missing`` (whether
    the column has missing values): fine for k-anonymity and risk assessment, not trusted by DP steps.
    Categorical and code columns with more than ``max_categories`` distinct values get their most frequent values
    (at most :data:`OTHER_MAX_LISTED`, each held by at least :data:`OTHER_MIN_COUNT` rows: never a value of one
    row) and the label ``other = "(other)"`` standing for the rest, so that they can be synthesised (the
    ZIP code table's 11,000 cities); a key column is an identifier (below). A categorical or code column
    whose values are nearly all distinct (90% or more, over 100 of them: a ZIP per row, a record number) is a key
    and is marked ``identifier``: it names its row, so it is never synthesised and never blocks synthesis.
    """
    import numpy as np
    import pandas as pd

    cols = []
    for name in df.columns:
        s = df[name]
        role, why = explain_role(str(name), s)
        kind = _guess_type(s, str(name), role)
        if role != "identifier" and kind in CATEGORICAL_TYPES and _is_key(s):
            role, why = "identifier", _key_reason(s)
            kind = _guess_type(s, str(name), role)
        kw: dict[str, Any] = {"missing": bool(s.isna().any()), "from_data": True}
        if role == "identifier" or kind == "text":
            pass  # never copy identifying values into a schema
        elif kind in CATEGORICAL_TYPES:
            cats = s.dropna().astype(str).unique()
            if 0 < len(cats) <= max_categories:
                kw["categories"] = tuple(sorted(cats))
            elif len(cats) > max_categories:  # the frequent values, and a label for the rest
                counts = s.dropna().astype(str).value_counts()
                counts = counts[counts >= OTHER_MIN_COUNT]
                most = max(min(max_categories - 1, OTHER_MAX_LISTED), 0)
                top = sorted(counts.index, key=lambda v: (-counts[v], v))[:most]
                label = OTHER_LABEL if OTHER_LABEL not in top else f"{OTHER_LABEL} "
                kw.update(categories=tuple(sorted(top)) + (label,), other=label)
        elif kind in ("integer", "float"):
            nonnull = pd.to_numeric(s, errors="coerce").dropna()
            if len(nonnull):
                lo, hi = nonnull.min(), nonnull.max()
                if kind == "integer":
                    lo, hi = int(lo), int(hi)
                else:
                    lo, hi = float(lo), float(hi)
                    kw["decimals"] = _decimals(nonnull.to_numpy(dtype=float))
                kw.update(lower=lo, upper=hi)
                distinct = pd.unique(nonnull.to_numpy(dtype=float))  # hashed: no sort of a long column
                if len(distinct) <= MAX_VALUES:  # a number of few values: each may be a code of its own
                    kw["values"] = tuple(int(v) if kind == "integer" else float(v) for v in np.sort(distinct))
        elif kind == "date":
            d = pd.to_datetime(s, errors="coerce").dropna()
            if len(d):
                kw.update(lower=d.min().date(), upper=d.max().date())
        reason = f"{role}: {why}; {_type_reason(kind, s, str(name))}"
        cols.append(Column(name=str(name), role=role, type=kind, reason=reason, **kw))
    return Schema(tuple(cols))


def _is_key(s: pd.Series) -> bool:
    """Whether a label column is a key: nearly every value distinct (:data:`_KEY_SHARE`, more than
    :data:`_KEY_MIN`). A key names its row; no synthesizer can release it, and listing it would copy it."""
    values = s.dropna()
    distinct = int(values.nunique())
    return distinct > _KEY_MIN and distinct >= _KEY_SHARE * len(values)


def _key_reason(s: pd.Series) -> str:
    values = s.dropna()
    share = values.nunique() / len(values)
    return f"a key: {share:.0%} of its {len(values):,} values are distinct (each names its row)"


#: The most distinct values of a number that :func:`infer_schema` lists as its ``values``: a synthesizer whose
#: ``bins`` are at least as many gives each value a code of its own, so point masses come back exact (RAND HIE's
#: log coinsurance has 5 values, 4.61512 among them, which bins and a noisy density inside them smeared).
MAX_VALUES = 64

#: The most decimal places a float column's ``decimals`` states; a column written with more has none (any precision)
MAX_DECIMALS = 6


def decimal_places(values) -> np.ndarray:
    """Per value, the fewest decimal places (0 .. :data:`MAX_DECIMALS`) that write it exactly, or
    ``MAX_DECIMALS + 1`` ("more"). The one rule for ``decimals``: :func:`infer_schema` states a column's largest,
    and DP domain discovery (:mod:`anonlab.synth.domains`) releases their histogram."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    out = np.full(len(x), MAX_DECIMALS + 1, dtype=np.int64)
    scale = np.maximum(np.abs(x), 1.0)
    for d in range(MAX_DECIMALS, -1, -1):
        out[np.abs(np.round(x, d) - x) <= 1e-9 * scale] = d
    return out


def _decimals(values) -> int | None:
    """The fewest decimal places that write every value of a float column exactly, or ``None`` (more than
    :data:`MAX_DECIMALS`)."""
    places = decimal_places(values)
    most = int(places.max()) if len(places) else 0
    return None if most > MAX_DECIMALS else most
