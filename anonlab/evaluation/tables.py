"""Reading the real table, the release and the holdout through one set of column types.

The same value must compare equal whatever the file's formatting: a label written ``1`` in the real table and
``1.0`` in a release (pandas reads a 0/1 column with one blank cell as floats), or ``"1"`` from a file read as text,
is one category. :func:`align_tables` therefore types every table through the schema: the one given, or, without
one, the schema inferred from the **real** table (:func:`anonlab.schema.infer_schema`; only its column types are
used, never its roles). Then:

- numeric columns (schema type ``integer`` or ``float``): the real table and the holdout must parse as numbers
  (:class:`~anonlab.errors.InputError` naming the table, column and row otherwise); infinite values are read as
  missing and counted in a note. A release may hold generalised cells (``30-39``, ``*``): values that parse become
  numbers, other cells stay as written for :mod:`anonlab.evaluation.generalised` to read;
- categorical columns: values become text. When the real column is numeric, or every real value is a plain decimal
  number (no leading zeros, no exponent: ``0``, ``1``, ``2.5``), a value of any table that parses as a number is
  written in one canonical form (``1``, ``1.0`` and ``"1"`` all become ``"1"``). Codes with leading zeros or a fixed
  width (``02140``) are never touched: they compare as the exact text written;
- a column with no value at all in the real table is left out of every metric (with a note).

Missing values stay missing in every table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from anonlab.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AlignedTables", "align_tables", "canonical_text", "column_types"]

_PLAIN_DECIMAL = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?$")
NUMERIC_TYPES = ("integer", "float")


@dataclass
class AlignedTables:
    """The tables typed alike. ``types[col]`` is the schema type each column was read as; ``source`` says where
    the types came from (``"schema"`` or ``"inferred from the real table"``)."""

    real: pd.DataFrame
    release: pd.DataFrame
    holdout: pd.DataFrame | None
    types: dict[str, str]
    source: str
    notes: list[str] = field(default_factory=list)


def _number_text(x: float) -> str:
    import math

    if math.isfinite(x) and x == int(x) and abs(x) < 2**53:
        return str(int(x))
    return repr(float(x))


def canonical_text(s: pd.Series, numeric_labels: bool) -> pd.Series:
    """``s`` as text (object dtype, missing as ``None``). With ``numeric_labels``, a value that parses as a finite
    number is written in one canonical form (``1.0`` -> ``"1"``, ``2.50`` -> ``"2.5"``)."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(s):
        out = s.astype(object).where(s.notna(), None)
        return out.map(lambda v: v if v is None else str(v))
    text = s.astype(object).where(s.notna(), None)
    text = text.map(lambda v: v if v is None or isinstance(v, str) else _value_text(v))
    if numeric_labels:
        num = pd.to_numeric(text, errors="coerce")
        ok = num.notna() & np.isfinite(num.astype(float))
        if ok.any():
            text = text.copy()
            text[ok] = num[ok].astype(float).map(_number_text)
    return text


def _value_text(v) -> str:
    if isinstance(v, float):
        return _number_text(v)
    return str(v)


def _numeric_labels(real: pd.Series) -> bool:
    """Whether a categorical column's real values are numbers whose formatting carries no meaning."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(real):
        return False
    if pd.api.types.is_numeric_dtype(real):
        return True
    text = real.dropna().astype(str).str.strip()
    return bool(len(text)) and bool(text.str.match(_PLAIN_DECIMAL).all())


def column_types(real: pd.DataFrame, schema=None) -> tuple[dict[str, str], str]:
    """The type of each column of ``real``: the schema's where it lists the column, else the type
    :func:`anonlab.schema.infer_schema` infers from the real table."""
    from anonlab.schema import infer_schema

    types: dict[str, str] = {}
    missing = [c for c in real.columns if schema is None or c not in schema]
    if missing:
        try:
            inferred = infer_schema(real[missing])
            types.update({c.name: c.type for c in inferred})
        except Exception:  # inference is a convenience here: fall back to the table's own dtypes
            import pandas as pd

            for c in missing:
                s = real[c]
                numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
                types[c] = "float" if numeric else "categorical"
    if schema is not None:
        types.update({c: schema[c].type for c in real.columns if c in schema})
    source = (
        "schema"
        if schema is not None and not missing
        else "inferred from the real table"
        if schema is None
        else "schema, and inferred from the real table for the columns it lacks"
    )
    return {c: types[c] for c in real.columns}, source


def _strict_numeric(s: pd.Series, col: str, source: str) -> tuple[pd.Series, int]:
    import numpy as np
    import pandas as pd

    conv = pd.to_numeric(s, errors="coerce")
    bad = conv.isna() & s.notna() & ~s.astype(object).map(lambda v: isinstance(v, str) and not v.strip())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{source}: column {col!r}, row {i + 1}: {s.iloc[i]!r} is not a number")
    conv = conv.astype(float)
    inf = np.isinf(conv.to_numpy())
    if inf.any():
        conv = conv.where(~inf)
    if conv.notna().all() and (conv == conv.round()).all() and (conv.abs() < 2**53).all():
        conv = conv.astype("int64")
    return conv, int(inf.sum())


def _lenient_numeric(s: pd.Series) -> tuple[pd.Series, int]:
    """A release column: numbers where the cell is one (infinite -> missing); other cells kept as written."""
    import numpy as np
    import pandas as pd

    conv = pd.to_numeric(s, errors="coerce").astype(float)
    inf = np.isinf(conv.to_numpy())
    conv = conv.where(~inf)
    text = s.astype(object).where(s.notna(), None)
    labels = text.notna() & conv.isna() & ~inf
    labels &= ~text.map(lambda v: isinstance(v, str) and not v.strip())
    if not labels.any():
        return conv, int(inf.sum())
    out = conv.astype(object).where(conv.notna(), None)
    out[labels] = text[labels]
    return out, int(inf.sum())


def align_tables(
    real: pd.DataFrame,
    release: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    schema=None,
    *,
    names: tuple[str, str, str] = ("real", "release", "holdout"),
) -> AlignedTables:
    """Type ``real``, ``release`` and ``holdout`` (same columns) alike; see the module docstring.

    ``names`` name the three tables in error messages and notes.
    """
    types, source = column_types(real, schema)
    notes: list[str] = []
    r_out, x_out = real.copy(), release.copy()
    h_out = None if holdout is None else holdout.copy()
    empty = [c for c in real.columns if real[c].isna().all()]
    if empty:
        notes.append(
            f"no value at all in the {names[0]} table, left out of every metric: {', '.join(map(str, empty))}"
        )
        r_out, x_out = r_out.drop(columns=empty), x_out.drop(columns=empty)
        if h_out is not None:
            h_out = h_out.drop(columns=empty)
        types = {c: t for c, t in types.items() if c not in empty}
    infinite: dict[str, int] = {}
    for c, t in types.items():
        if t in NUMERIC_TYPES:
            r_out[c], n = _strict_numeric(real[c], c, names[0])
            infinite[c] = infinite.get(c, 0) + n
            x_out[c], n = _lenient_numeric(release[c])
            infinite[c] += n
            if h_out is not None:
                h_out[c], n = _strict_numeric(holdout[c], c, names[2])
                infinite[c] += n
        else:
            num = _numeric_labels(real[c])
            r_out[c] = canonical_text(real[c], num)
            x_out[c] = canonical_text(release[c], num)
            if h_out is not None:
                h_out[c] = canonical_text(holdout[c], num)
    inf_cols = {c: n for c, n in infinite.items() if n}
    if inf_cols:
        notes.append(
            "infinite or overflowing numbers were read as missing values: "
            + ", ".join(f"{c} ({n})" for c, n in inf_cols.items())
        )
    return AlignedTables(r_out, x_out, h_out, types, source, notes)
