"""Keyed pseudonymisation: HMAC-SHA256 pseudonyms and per-subject date shifts.

A pseudonym is HMAC-SHA256(sub-key, identifier), written as 16 characters of lowercase base32 (80 bits). Unlike an
unkeyed hash, it cannot be reversed by hashing every plausible identifier, as long as the key stays secret. The
same key and identifier give the same pseudonym in every file and run, so records stay linkable; another key gives
unrelated pseudonyms. Pseudonymised data is still personal data: the key holder can re-identify it.

Date shifting moves all dates of one subject by the same number of days, derived from the key and the subject's
identifier, so intervals within a subject survive while calendar dates are hidden.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from anonlab.deid.keys import SecretKey
from anonlab.io import parse_dates

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PSEUDONYM_LENGTH",
    "Pseudonymizer",
    "pseudonymize_table",
    "PseudonymizeResult",
    "parse_dates",
]

PSEUDONYM_LENGTH = 16


@dataclass(frozen=True)
class Pseudonymizer:
    """Keyed pseudonyms and date offsets under one key.

    Parameters
    ----------
    key : the secret key. Never stored in results.
    max_shift_days : date offsets are drawn (deterministically, from the key) in ``[-max_shift_days,
        max_shift_days]`` excluding 0. A wider range hides calendar dates better and distorts seasonality more.
    """

    key: SecretKey = field(repr=False)
    max_shift_days: int = 365

    def __post_init__(self) -> None:
        if self.max_shift_days < 1:
            raise ValueError("max_shift_days must be at least 1")

    def pseudonym(self, identifier: str) -> str:
        """The pseudonym of one identifier, exactly as written: ``00123`` and ``123`` are different identifiers.

        Read identifier columns as text (:func:`anonlab.io.read_table` with ``text_columns=``, or its default
        inference, which never turns ``00123`` or ``123`` into another string) so that an identifier gets the same
        pseudonym in every file."""
        digest = hmac.new(self.key.derive("pseudonym"), identifier.encode("utf-8"), hashlib.sha256).digest()
        return base64.b32encode(digest).decode("ascii").lower()[:PSEUDONYM_LENGTH]

    def offset_days(self, subject: str) -> int:
        """The date offset of one subject: nonzero, in ``[-max_shift_days, max_shift_days]``."""
        digest = hmac.new(self.key.derive("date-shift"), subject.encode("utf-8"), hashlib.sha256).digest()
        span = self.max_shift_days
        # 64 bits reduced modulo 2*span: the bias is below 2**-50 for any practical span
        k = int.from_bytes(digest[:8], "big") % (2 * span)
        return k - span if k < span else k - span + 1

    def pseudonymize_series(self, s: pd.Series) -> pd.Series:
        """Pseudonyms for a column; missing values stay missing. HMAC once per distinct value.

        Each value is taken as text: a string as it is, an integer in its decimal form (``123``). A float column
        (an integer column that was read through float) is refused, since ``123.0`` would not link to ``123``."""
        import numpy as np
        import pandas as pd

        _refuse_float(s)
        codes, uniques = pd.factorize(s.astype("string"), use_na_sentinel=True)
        tokens = np.array([self.pseudonym(str(u)) for u in uniques] + [None], dtype=object)
        return pd.Series(tokens[codes], index=s.index, name=s.name)

    def offsets_for(self, subjects: pd.Series) -> pd.Series:
        """Per-row day offsets for the subjects in a column (``NaN`` where the subject is missing)."""
        import numpy as np
        import pandas as pd

        _refuse_float(subjects)
        codes, uniques = pd.factorize(subjects.astype("string"), use_na_sentinel=True)
        offs = np.array([self.offset_days(str(u)) for u in uniques] + [np.nan], dtype=float)
        return pd.Series(offs[codes], index=subjects.index)


def _refuse_float(s: pd.Series) -> None:
    import pandas as pd

    from anonlab.errors import InputError

    if pd.api.types.is_float_dtype(s):
        raise InputError(
            f"column {s.name!r} holds floating-point numbers: identifiers must be read as text "
            "(anonlab.io.read_table(path, text_columns=[...])) so that each links exactly"
        )


@dataclass
class PseudonymizeResult:
    """What :func:`pseudonymize_table` did (no identifiers, no key)."""

    rows: int
    pseudonymized: list[str]
    dropped: list[str]
    shifted: list[str]
    free_text_warnings: list[str]
    distinct_ids: dict[str, int]
    identifier_warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "pseudonymized": self.pseudonymized,
            "dropped": self.dropped,
            "date_shifted": self.shifted,
            "distinct_ids": self.distinct_ids,
            "free_text_warnings": self.free_text_warnings,
            "identifier_warnings": self.identifier_warnings,
        }


def _iso_shapes(s: pd.Series) -> pd.Series:
    """The strftime format each ISO date of ``s`` was written in (missing stays missing), so a shifted date is
    written back in its own shape: ``2020-01-02``, ``2020-01-02 10:30``, ``2020-01-02T10:30:00.5`` (fractions come
    back with six digits)."""
    import numpy as np
    import pandas as pd

    text = s.astype("string").str.strip()
    n = text.str.len().fillna(0).to_numpy()
    sep = text.str.slice(10, 11).fillna("").to_numpy(dtype=object)
    date = np.full(len(text), "%Y-%m-%d", dtype=object)
    time = np.where(n > 10, sep + "%H:%M", "")
    secs = np.where(n >= 19, ":%S", "")
    frac = np.where(n > 19, ".%f", "")
    shapes = pd.Series(date + time + secs + frac, index=s.index, dtype=object)
    return shapes.where(text.notna().to_numpy(dtype=bool))


def pseudonymize_table(
    df: pd.DataFrame,
    pseudonymizer: Pseudonymizer,
    id_columns: list[str],
    drop: list[str] = (),
    shift_dates: list[str] = (),
    by: str | None = None,
    source: str = "input",
    date_format: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, PseudonymizeResult]:
    """Replace identifiers by keyed pseudonyms, drop direct identifiers, shift dates per subject.

    Identifier columns must hold text (or integers); read the table with
    ``read_table(path, text_columns=[*id_columns, *drop, by])`` so that each identifier is taken exactly as
    written. Every date column is parsed with one format (:func:`parse_dates`; ``date_format`` says it, and is
    required for day/month dates such as ``01/02/2020``); shifted dates are written back in that format.

    Returns the released table (same column order, less the dropped ones), a mapping table
    (``column, original, pseudonym``; write it only where the user asks) and a summary. The input is not modified.
    """
    import pandas as pd

    from anonlab.errors import InputError, UsageError
    from anonlab.io import require_columns
    from anonlab.schema import _guess_type, guess_role

    require_columns(df, [*id_columns, *drop, *shift_dates, *([by] if by else [])], source)
    overlap = set(id_columns) & set(drop)
    if overlap:
        raise UsageError(f"column {sorted(overlap)[0]!r} is both in --id and --drop")
    if shift_dates and not by:
        raise UsageError("--shift-dates needs --by COL, the column that identifies the subject")
    if by and not shift_dates:
        raise UsageError("--by is only used with --shift-dates")
    if date_format and not shift_dates:
        raise UsageError("--date-format is only used with --shift-dates")
    if set(shift_dates) & (set(id_columns) | set(drop)):
        raise UsageError("a date column to shift cannot also be pseudonymised or dropped")

    out = df.copy()
    mappings = []
    parsed = {}
    formats = {}
    for col in shift_dates:
        parsed[col], formats[col] = parse_dates(df[col], col, date_format, source)
    if shift_dates:
        offsets = pseudonymizer.offsets_for(df[by])
        if offsets.isna().any():
            row = int(offsets.isna().to_numpy().nonzero()[0][0]) + 1
            raise InputError(f"{source}: column {by!r}, row {row}: no subject identifier to shift dates by")
        delta = pd.to_timedelta(offsets, unit="D")
        for col, dates in parsed.items():
            shifted = dates + delta
            if formats[col]:
                out[col] = shifted.dt.strftime(formats[col]).where(dates.notna())
                continue
            # ISO: each value keeps the shape it was written in (date only, space or T, minutes, seconds)
            shapes = _iso_shapes(df[col])
            written = pd.Series(pd.NA, index=df.index, dtype=object)
            for shape in shapes.dropna().unique():
                rows = (shapes == shape).to_numpy()
                written[rows] = shifted[rows].dt.strftime(shape)
            out[col] = written
    distinct = {}
    for col in id_columns:
        pseudo = pseudonymizer.pseudonymize_series(df[col])
        out[col] = pseudo
        pairs = pd.DataFrame({"column": col, "original": df[col].astype("string"), "pseudonym": pseudo})
        pairs = pairs.dropna().drop_duplicates()
        distinct[col] = len(pairs)
        mappings.append(pairs)
    out = out.drop(columns=list(drop))
    untouched = [c for c in out.columns if c not in id_columns and c not in shift_dates]
    warnings = [c for c in untouched if _guess_type(out[c]) == "text"]
    id_like = [c for c in untouched if c not in warnings and guess_role(str(c), out[c]) == "identifier"]
    mapping = (
        pd.concat(mappings, ignore_index=True)
        if mappings
        else pd.DataFrame(columns=["column", "original", "pseudonym"])
    )
    result = PseudonymizeResult(
        rows=len(df),
        pseudonymized=list(id_columns),
        dropped=list(drop),
        shifted=list(shift_dates),
        free_text_warnings=warnings,
        distinct_ids=distinct,
        identifier_warnings=id_like,
    )
    return out, mapping, result
