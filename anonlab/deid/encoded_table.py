"""The table as every k-anonymity method sees it: quasi-identifiers and sensitive columns as integer codes.

:func:`encode_table` is the first step of :meth:`~anonlab.deid.methods.Anonymizer.apply`, shared by every method:
it checks the columns named by ``quasi=``, ``sensitive=``, ``hierarchies=`` and ``orders=``; types them as a schema
says (a value outside the schema's domain is an error); reads the hierarchy files; encodes each column
(:mod:`~anonlab.deid.quasi`), a categorical quasi-identifier in the order of its values when one is given (the
user's, or a schema category list written in a non-alphabetical order); and finds what would weaken the release
(:func:`mapping_warnings`, identifiers left in). Nothing here loops over rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from anonlab.errors import InputError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.deid.quasi import QuasiColumn, SensitiveColumn

__all__ = [
    "EncodedTable",
    "encode_table",
    "check_roles",
    "schema_roles",
    "require_named",
    "mapping_warnings",
    "as_pairs",
]


@dataclass(frozen=True)
class EncodedTable:
    """``source``: the caller's table (never modified); ``quasi`` / ``sensitive``: the encoded columns;
    ``orders``: the order of each categorical quasi-identifier's values that has one; ``bounds``: the schema's
    numeric bounds; ``warnings``: what weakens the release as asked, found on the data."""

    source: pd.DataFrame = field(repr=False)
    quasi: list[QuasiColumn]
    sensitive: list[SensitiveColumn]
    orders: dict = field(default_factory=dict)
    bounds: dict = field(default_factory=dict)
    warnings: tuple = ()

    @property
    def n(self) -> int:
        return len(self.source)

    @property
    def quasi_names(self) -> list[str]:
        return [q.name for q in self.quasi]


def as_pairs(value, what: str) -> tuple:
    """``{column: x}`` or ``[(column, x), ...]`` (or None) as a tuple of pairs; ``what`` names the parameter."""
    if value is None:
        return ()
    items = value.items() if isinstance(value, dict) else value
    try:
        return tuple((str(c), x) for c, x in items)
    except (TypeError, ValueError):
        raise UsageError(f"{what}= must map a column to its value: {{column: ...}}") from None


def _names(value, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return [str(c) for c in value]
    except TypeError:
        raise UsageError(f"{what}= must be a list of column names, not {value!r}") from None


def check_roles(quasi, sensitive=(), hierarchies=(), orders=()) -> tuple[list[str], list[str]]:
    """The quasi-identifiers and sensitive columns as lists of names, checked for their roles: at least one
    quasi-identifier, none listed twice, none both quasi and sensitive, hierarchies only for those columns, and
    orders only for quasi-identifiers, each listing a value once. Errors name the parameter (``quasi=``)."""
    q, s = _names(quasi, "quasi"), _names(sensitive, "sensitive")
    if not q:
        raise UsageError("quasi= names no column: give at least one quasi-identifier")
    for what, cols in (("quasi", q), ("sensitive", s)):
        twice = sorted({c for c in cols if cols.count(c) > 1})
        if twice:
            raise UsageError(f"{what}= lists column {twice[0]!r} twice")
    both = sorted(set(q) & set(s))
    if both:
        raise UsageError(f"column {both[0]!r} is in both quasi= and sensitive=")
    for c, _ in hierarchies:
        if c not in q and c not in s:
            raise UsageError(
                f"hierarchies= gives a hierarchy for {c!r}, which is in neither quasi= nor sensitive="
            )
    for c, vs in orders:
        if c not in q:
            raise UsageError(f"orders= gives an order for {c!r}, which is not a quasi-identifier (quasi=)")
        if len(set(vs)) != len(vs):
            raise UsageError(f"orders= lists a value of {c!r} twice")
    return q, s


def require_named(df: pd.DataFrame, cols: list[str], what: str, source: str = "input") -> None:
    """Raise :class:`InputError` naming the parameter ``what`` and the first of ``cols`` that ``df`` lacks."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        known = ", ".join(map(str, df.columns[:20])) + (" ..." if df.shape[1] > 20 else "")
        raise InputError(
            f"{what}= names column {missing[0]!r}, which {source} does not have (columns: {known})"
        )


def _schema_domains(df, quasi, sensitive, orders: dict, schema):
    """The table as the schema types it (quasi and sensitive columns), the categories' orders and the numeric
    bounds the schema gives, checked against the data (a value outside its domain is an InputError)."""
    from anonlab.schema import Schema

    bounds: dict = {}
    used = [c for c in [*quasi, *sensitive] if schema is not None and c in schema]
    if not used:
        return df, orders, bounds
    typed = Schema(tuple(schema[c] for c in used)).coerce(df[used], "input")
    work = df.copy(deep=False)
    for c in used:
        work[c] = typed[c]
        col, s = schema[c], typed[c].dropna()
        if col.is_categorical and col.categories is not None:  # categorical or code (ZIPs, ICD codes)
            bad = ~s.astype(str).isin(col.categories)
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    f"input: column {c!r}: value {str(s.iloc[i])!r} is not among the schema's categories"
                )
            cats = list(col.categories)
            if c in quasi and c not in orders and cats != sorted(cats):
                orders[c] = cats  # a list the schema's author ordered by hand is the values' order
        elif col.type in ("integer", "float") and col.lower is not None:
            out = s[(s < col.lower) | (s > col.upper)]
            if len(out):
                raise InputError(
                    f"input: column {c!r}: value {out.iloc[0]} lies outside the schema's bounds "
                    f"{col.lower} to {col.upper}"
                )
            bounds[c] = (float(col.lower), float(col.upper))
    return work, orders, bounds


def _encode_quasi(df, quasi, hier_rows: dict, orders: dict, user_orders: set) -> list[QuasiColumn]:
    from anonlab.deid.quasi import apply_order, encode_quasi

    out = []
    for c in quasi:
        q = encode_quasi(df[c], *(hier_rows[c] if c in hier_rows else (None, "")))
        if c in orders and c in user_orders and (q.kind != "category" or q.hierarchy is not None):
            why = (
                "has a hierarchy (hierarchies=)"
                if q.hierarchy is not None
                else f"is {q.kind} (ordered by value)"
            )
            raise UsageError(f"orders= gives an order for {c!r}, which {why}: give one or the other")
        if c in orders and q.kind == "category" and q.hierarchy is None:
            q = apply_order(q, orders[c])
        out.append(q)
    return out


def _encode_sensitive(df, sensitive, hier_rows: dict) -> list[SensitiveColumn]:
    import pandas as pd

    from anonlab.deid.hierarchy import from_table
    from anonlab.deid.quasi import encode_sensitive

    out = []
    for c in sensitive:
        s = encode_sensitive(df[c])
        if c in hier_rows and not s.ordered:
            labels = np.asarray(pd.Series(pd.unique(df[c].dropna().astype(str))).sort_values(), dtype=object)
            if len(labels) < s.n_values:
                labels = np.append(labels, "NA")
            s = replace(s, hierarchy=from_table(c, hier_rows[c][0], labels, hier_rows[c][1]))
        out.append(s)
    return out


def encode_table(
    df: pd.DataFrame,
    *,
    quasi,
    sensitive=(),
    schema=None,
    hierarchies=None,
    orders=None,
    k: int = 2,
    source: str = "input",
) -> EncodedTable:
    """Check and encode ``df`` for a k-anonymity method (``df`` is not modified).

    ``hierarchies``: ``{column: path}`` of ARX-format hierarchy CSVs (or ``(column, path)`` pairs).
    ``orders``: ``{column: [values in order]}`` for categorical quasi-identifiers. ``k``: checked against the
    number of rows. Raises :class:`~anonlab.errors.InputError` for a column the table lacks (naming the
    parameter), an empty table or a bad hierarchy, :class:`~anonlab.errors.UsageError` for roles that do not fit.
    """
    from anonlab.deid.hierarchy import read_rows

    hier = tuple((c, str(p)) for c, p in as_pairs(hierarchies, "hierarchies"))
    ords = tuple((c, tuple(str(v) for v in vs)) for c, vs in as_pairs(orders, "orders"))
    q, s = check_roles(quasi, sensitive, hier, ords)
    require_named(df, q, "quasi", source)
    require_named(df, s, "sensitive", source)
    if len(df) == 0:
        raise InputError(f"{source}: the table has no rows")
    if k > len(df):
        raise UsageError(
            f"k={k} is larger than the table ({len(df):,} records): no class of k records can exist"
        )
    typed, orders_, bounds = _schema_domains(df, q, s, {c: list(v) for c, v in ords}, schema)
    hier_rows = {c: (read_rows(p), p) for c, p in hier}
    encoded = _encode_quasi(typed, q, hier_rows, orders_, {c for c, _ in ords})
    notes = mapping_warnings(df, q, codes={e.name: (e.codes, e.n_codes) for e in encoded})
    if schema is not None:
        notes += [
            f"column {c!r} is an identifier in the schema and is released unchanged: pseudonymise or drop it"
            for c in schema.with_role("identifier")
            if c in df.columns
        ]
    return EncodedTable(df, encoded, _encode_sensitive(typed, s, hier_rows), orders_, bounds, tuple(notes))


def _mapping_note(c, q, c_to_q: bool, q_to_c: bool) -> str:
    if c_to_q and q_to_c:
        how = f"is a one-to-one recoding of quasi-identifier {q!r}"
        effect = f"undoes the generalisation of {q!r}"
    elif c_to_q:
        how = f"determines quasi-identifier {q!r} (each value of {c!r} has one value of {q!r})"
        effect = f"undoes the generalisation of {q!r}"
    else:
        how = f"is a function of quasi-identifier {q!r} (each value of {q!r} has one value of {c!r})"
        effect = f"gives part of {q!r} back"
    return f"column {c!r} {how} on this data: left in clear it {effect}; add {c!r} to the quasi-identifiers or drop it"


def mapping_warnings(
    df: pd.DataFrame, quasi, min_repeat: float = 2.0, codes: dict | None = None
) -> list[str]:
    """Columns outside ``quasi`` that a quasi-identifier determines, or that determine one, on this data.

    A column ``c`` is a function of quasi-identifier ``q`` when every value of ``q`` comes with one value of ``c``
    (``groupby(q)[c].nunique() == 1``), and determines ``q`` when the reverse holds. Left in clear beside a
    generalised ``q``, such a column undoes the generalisation (``education-num`` beside ``education``: a
    one-to-one code) or gives part of it back. Missing values count as a value. Constant columns are skipped, and
    so are columns whose values repeat less than ``min_repeat`` times on average (near-unique columns determine
    everything on a sample; they are identifier-like, a different problem). Vectorised: one factorisation per
    column and one count of distinct pairs per (column, quasi-identifier). ``codes``: ``{column: (codes, number
    of codes)}`` already computed (the quasi-identifiers' own encoding), reused instead of factorising again.
    """
    import pandas as pd

    n = len(df)
    if n == 0:
        return []
    given = codes or {}
    codes, sizes = {}, {}
    for c in df.columns:
        if c in given:
            codes[c], sizes[c] = np.asarray(given[c][0], dtype=np.int64), int(given[c][1])
            continue
        f, u = pd.factorize(df[c], use_na_sentinel=False)
        codes[c], sizes[c] = np.asarray(f, dtype=np.int64), len(u)
    quasi = [q for q in quasi if q in codes and 1 < sizes[q] and sizes[q] * min_repeat <= n]
    out = []
    for c in df.columns:
        if c in quasi or sizes[c] <= 1 or sizes[c] * min_repeat > n:
            continue
        for q in quasi:
            key = codes[c] * sizes[q] + codes[q]
            top = sizes[c] * sizes[q]
            pairs = (
                int(np.count_nonzero(np.bincount(key, minlength=top)))
                if top <= 4 * n
                else len(pd.unique(key))
            )
            if pairs == sizes[c] or pairs == sizes[q]:
                out.append(_mapping_note(c, q, pairs == sizes[c], pairs == sizes[q]))
    return out


def schema_roles(schema, columns, quasi=None, sensitive=None) -> tuple[list[str] | None, list[str]]:
    """``quasi`` and ``sensitive``, each taken from the schema's roles among ``columns`` when not given (None):
    its ``quasi`` columns, and its ``sensitive`` ones that are not quasi-identifiers (a schema with extra columns
    serves any subset of them). Without a schema, ``sensitive`` defaults to none."""
    if schema is None:
        return quasi, list(sensitive or ())
    cols = set(map(str, columns))
    if quasi is None:
        quasi = [c for c in schema.with_role("quasi") if c in cols]
        if not quasi:
            raise UsageError("quasi= is not given and the schema marks none of the table's columns as quasi")
    if sensitive is None:
        qs = set(_names(quasi, "quasi"))
        sensitive = [c for c in schema.with_role("sensitive") if c in cols and c not in qs]
    return quasi, sensitive
