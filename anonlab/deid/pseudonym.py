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
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from anonlab.deid.keys import SecretKey
from anonlab.io import factorize_text, parse_dates

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PSEUDONYM_LENGTH",
    "Pseudonymizer",
    "pseudonymize",
    "pseudonym_mapping",
    "PseudonymizationReport",
    "pseudonymize_table",
    "pseudonymize_rows",
    "column_warnings",
    "checked_arguments",
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
            from anonlab.errors import UsageError

            raise UsageError(f"max_shift_days={self.max_shift_days!r}: must be at least 1")

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
        return self._pseudonyms(s, _identifier_codes(s))

    def _pseudonyms(self, s: pd.Series, factorized) -> pd.Series:
        import numpy as np
        import pandas as pd

        codes, uniques = factorized
        digests = _digests(self.key.derive("pseudonym"), uniques, PSEUDONYM_LENGTH * 5 // 8)
        tokens = np.append(_base32(digests), np.array([None], dtype=object))
        return pd.Series(tokens[codes], index=s.index, name=s.name)

    def offsets_for(self, subjects: pd.Series) -> pd.Series:
        """Per-row day offsets for the subjects in a column (``NaN`` where the subject is missing)."""
        return self._offsets(subjects, _identifier_codes(subjects))

    def _offsets(self, subjects: pd.Series, factorized) -> pd.Series:
        import numpy as np
        import pandas as pd

        codes, uniques = factorized
        digests = _digests(self.key.derive("date-shift"), uniques, 8)
        span = self.max_shift_days
        k = (digests.view(">u8").ravel() % np.uint64(2 * span)).astype(np.int64)  # as offset_days, per value
        offs = np.append(np.where(k < span, k - span, k - span + 1).astype(float), np.nan)
        return pd.Series(offs[codes], index=subjects.index)


def _identifier_codes(s: pd.Series):
    """(codes, distinct values as text) of an identifier column, missing values coded -1; a float column is
    refused (see :meth:`Pseudonymizer.pseudonymize_series`)."""

    _refuse_float(s)
    return factorize_text(s.astype("string"))  # whole values: "a\0b" and "a\0c" keep their own pseudonyms


_B32 = b"abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, lowercase


def _digests(subkey: bytes, values, width: int):
    """The first ``width`` bytes of HMAC-SHA256(subkey, value) for each value (as text), one row each (uint8).

    HMAC as RFC 2104 defines it, with the key's inner and outer SHA-256 states computed once and copied per
    value (2.5 times faster than a one-shot ``hmac.digest`` per value, which sets the key up each time); the
    same bytes as :meth:`Pseudonymizer.pseudonym` and :meth:`Pseudonymizer.offset_days` compute one by one
    (tested). The sub-key is derived once by the caller."""
    import numpy as np

    block = 64  # SHA-256's block size
    k = hashlib.sha256(subkey).digest() if len(subkey) > block else subkey
    k = k.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in k))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in k))

    new_inner, new_outer = inner.copy, outer.copy
    raw = []
    for v in np.asarray(values, dtype=object).tolist():
        h = new_inner()
        h.update(str(v).encode("utf-8"))
        o = new_outer()
        o.update(h.digest())
        raw.append(o.digest())
    raw = b"".join(raw)
    return np.ascontiguousarray(np.frombuffer(raw, dtype=np.uint8).reshape(len(values), 32)[:, :width])


def _base32(digests):
    """Lowercase base32 of each row of ``digests`` (a multiple of 5 bytes, so no padding), as Python strings."""
    import numpy as np

    n, width = digests.shape
    if n == 0:
        return np.zeros(0, dtype=object)
    groups = np.unpackbits(digests, axis=1).reshape(n, width * 8 // 5, 5)
    idx = groups @ np.array([16, 8, 4, 2, 1], dtype=np.uint8)
    chars = np.frombuffer(_B32, dtype=np.uint8)[idx]
    return np.ascontiguousarray(chars).view(f"S{width * 8 // 5}").ravel().astype(str).astype(object)


def _refuse_float(s: pd.Series) -> None:
    import pandas as pd

    from anonlab.errors import InputError

    if pd.api.types.is_float_dtype(s):
        raise InputError(
            f"column {s.name!r} holds floating-point numbers: identifiers must be read as text "
            "(anonlab.io.read_table(path, text_columns=[...])) so that each links exactly"
        )


@dataclass(frozen=True)
class PseudonymizationReport:
    """What :func:`pseudonymize` did, by column name and count: never an identifier, a pseudonym or the key.

    ``distinct_ids``: per pseudonymised column, the number of distinct identifiers; ``free_text_warnings`` and
    ``identifier_warnings``: columns left as they are that look like free text (may hold names) or like a direct
    identifier."""

    rows: int
    pseudonymized: list[str]
    dropped: list[str]
    shifted: list[str]
    free_text_warnings: list[str]
    distinct_ids: dict[str, int]
    identifier_warnings: list[str] = field(default_factory=list)
    by: str | None = None

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "pseudonymized": self.pseudonymized,
            "dropped": self.dropped,
            "date_shifted": self.shifted,
            "by": self.by,
            "distinct_ids": self.distinct_ids,
            "free_text_warnings": self.free_text_warnings,
            "identifier_warnings": self.identifier_warnings,
        }

    def _repr_html_(self) -> str:
        from anonlab.deid.report import html_table

        rows = [("rows", f"{self.rows:,}")]
        rows += [
            (f"pseudonymised {c}", f"{self.distinct_ids.get(c, 0):,} distinct identifiers")
            for c in self.pseudonymized
        ]
        rows += [(f"dropped {c}", "") for c in self.dropped]
        rows += [(f"dates shifted in {c}", f"per subject ({self.by})") for c in self.shifted]
        notes = [f"column {c!r} looks like free text: review it by hand" for c in self.free_text_warnings]
        notes += [
            f"column {c!r} looks like a direct identifier and is kept as it is"
            for c in self.identifier_warnings
        ]
        notes.append("pseudonymised data is still personal data: the key holder can re-identify it")
        return html_table("Pseudonymisation", rows, notes)


PseudonymizeResult = PseudonymizationReport  # the name before the keyword API


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


def _names(value, what: str) -> list[str]:
    from anonlab.errors import UsageError

    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return [str(c) for c in value]
    except TypeError:
        raise UsageError(f"{what}= must be a list of column names, not {value!r}") from None


def _check(df, ids, drop, dates, by, date_format, source) -> None:
    from anonlab.deid.encoded_table import require_named
    from anonlab.errors import UsageError

    if not (ids or drop or dates):
        raise UsageError("nothing to do: give ids=, drop= or dates=")
    for what, cols in (("ids", ids), ("drop", drop), ("dates", dates), ("by", [by] if by else [])):
        require_named(df, cols, what, source)
    overlap = sorted(set(ids) & set(drop))
    if overlap:
        raise UsageError(f"column {overlap[0]!r} is in both ids= and drop=")
    if dates and not by:
        raise UsageError("dates= needs by=, the column that identifies the subject")
    if by and not dates:
        raise UsageError("by= is only used with dates=")
    if date_format and not dates:
        raise UsageError("date_format= is only used with dates=")
    if set(dates) & (set(ids) | set(drop)):
        raise UsageError("a column in dates= cannot also be in ids= or drop=")


def _as_key(key):
    from anonlab.deid.keys import SecretKey, read_key
    from anonlab.errors import UsageError

    if isinstance(key, SecretKey):
        return key
    if isinstance(key, str | os.PathLike):
        return read_key(key)
    raise UsageError(
        "key= must be a SecretKey (anonlab.deid.generate_key(), read_key(path)) or a key file's path"
    )


def _shift_dates(df, out, pz: Pseudonymizer, dates, by, date_format, source, subjects=None) -> None:
    """Write into ``out`` every date column of ``dates`` shifted by its subject's offset, in its own format
    (``date_format``: one format for all, ``None`` for ISO, or a dict of each column's). ``subjects``: ``by``'s
    factorization (:func:`_identifier_codes`), when the caller has it.

    Each distinct date text is parsed once (the format decided from the distinct values is the one decided from
    the whole column: the same first value, the same ISO and ambiguity verdicts), and each distinct shifted date
    is formatted once per shape, so the cost follows the distinct values, not the rows."""
    import numpy as np
    import pandas as pd

    from anonlab.errors import InputError

    formats = date_format if isinstance(date_format, dict) else dict.fromkeys(dates, date_format)
    parsed = {col: _parse_distinct(df[col], col, formats[col], source) for col in dates}
    offsets = pz._offsets(df[by], subjects if subjects is not None else _identifier_codes(df[by]))
    if offsets.isna().any():
        row = int(offsets.isna().to_numpy().nonzero()[0][0]) + 1
        raise InputError(f"{source}: column {by!r}, row {row}: no subject identifier to shift dates by")
    delta = (offsets.to_numpy().astype(np.int64) * 86_400_000_000_000).view("m8[ns]")  # whole days
    for col, (codes, uniques, udates, fmt) in parsed.items():
        present = codes >= 0
        known = udates.to_numpy()
        _check_shift_range(known, codes, pz.max_shift_days, col, source)
        shifted = np.append(known, np.array(["NaT"], dtype=known.dtype))[codes] + delta  # NaT: missing
        if fmt:
            written = _formatted(shifted, present, np.full(len(codes), fmt, dtype=object))
            written[~present] = float("nan")  # as Series.where gives
            out[col] = pd.Series(written, index=df.index, name=col)
            continue
        # ISO: each value keeps the shape it was written in (date only, space or T, minutes, seconds)
        shapes = _iso_shapes(pd.Series(uniques)).to_numpy(dtype=object)
        written = _formatted(shifted, present, np.append(shapes, None)[codes])
        written[~present] = pd.NA
        out[col] = pd.Series(written, index=df.index, dtype=object, name=col)


def _check_shift_range(known, codes, span: int, column: str, source) -> None:
    """Refuse a date that a shift of up to ``span`` days could carry past what pandas holds (1677-09-21 to
    2262-04-11): numpy's datetime arithmetic would wrap around silently and write a wrong date."""
    import numpy as np
    import pandas as pd

    from anonlab.errors import InputError

    limit = np.timedelta64(int(span), "D")
    lo = np.datetime64(pd.Timestamp.min, "ns") + limit
    hi = np.datetime64(pd.Timestamp.max, "ns") - limit
    bad = ~np.isnat(known) & ((known < lo) | (known > hi))
    if bad.any():
        row = int(np.flatnonzero(bad[codes] & (codes >= 0))[0]) + 1
        raise InputError(
            f"{source}: column {column!r}, row {row}: a date within {span} days of the range pandas can hold "
            "(1677-09-21 to 2262-04-11) cannot be shifted"
        )


def _parse_distinct(s: pd.Series, column: str, date_format, source):
    """(codes, distinct values, their parsed dates, format) of a date column: :func:`anonlab.io.parse_dates` on
    the distinct values; on an error, on the whole column, so that the error names the row it names today."""
    import pandas as pd

    codes, uniques = factorize_text(s)  # whole values: a NUL does not merge two texts
    try:
        udates, fmt = parse_dates(pd.Series(uniques), column, date_format, source)
    except Exception:
        parse_dates(s, column, date_format, source)  # raises naming the row
        raise
    return codes, uniques, udates, fmt


def _formatted(shifted, present, shapes):
    """``shifted`` (datetime64 per row) as text in each row's strftime ``shapes`` (rows not ``present`` are left
    ``None``): each distinct (shape, date) formatted once, by the formatter ``Series.dt.strftime`` uses."""
    import numpy as np
    import pandas as pd

    written = np.full(len(shifted), None, dtype=object)
    if not present.any():
        return written
    shape_codes, shape_names = pd.factorize(np.asarray(shapes, dtype=object)[present])
    when = shifted[present]
    got = np.empty(len(when), dtype=object)
    for i, shape in enumerate(shape_names):
        rows = shape_codes == i
        distinct, inverse = np.unique(when[rows], return_inverse=True)
        text = pd.DatetimeIndex(distinct).strftime(shape).to_numpy(dtype=object)
        got[rows] = text[inverse]
    written[present] = got
    return written


def pseudonymize(
    df: pd.DataFrame,
    *,
    key,
    ids=(),
    drop=(),
    dates=(),
    by: str | None = None,
    date_format: str | None = None,
    max_shift_days: int = 365,
    source: str = "input",
) -> tuple[pd.DataFrame, PseudonymizationReport]:
    """Replace identifiers by keyed pseudonyms, drop direct identifiers, shift dates per subject.

    Parameters
    ----------
    key : the secret key (:class:`~anonlab.deid.keys.SecretKey`, or the path of a key file from
        ``anonlab keygen`` / :func:`~anonlab.deid.keys.write_key`). It decides every pseudonym and date shift:
        the same key gives the same pseudonyms in every file and run (linkable), another key unrelated ones.
        Never stored in the result or the report.
    ids : identifier columns, each value replaced by HMAC-SHA256 under the key (16 base32 characters). Read
        them as text (``read_table(path, text_columns=[...])``): ``00123`` and ``123`` are different identifiers.
    drop : direct identifiers (names, addresses) to remove outright.
    dates : date columns whose every date of one subject (``by``, the column identifying the subject) moves by
        the same secret number of days in ``[-max_shift_days, max_shift_days]``, never 0: intervals within a
        subject survive, calendar dates do not. ``date_format``: their one strftime format (needed for day/month
        dates such as ``01/02/2020``; default ISO); shifted dates are written back in it.

    Returns the released table (same column order, less ``drop``) and a report. ``df`` is not modified.
    Pseudonymised data is still personal data: the key holder can re-identify it. The mapping from identifiers
    to pseudonyms is :func:`pseudonym_mapping`.
    """
    ids, drop, dates = checked_arguments(df, ids, drop, dates, by, date_format, max_shift_days, source)
    pz = Pseudonymizer(_as_key(key), max_shift_days=max_shift_days)
    out = pseudonymize_rows(df, pz, ids, drop, dates, by, date_format, source)
    free_text, id_like = column_warnings(out, ids, dates)
    report = PseudonymizationReport(
        rows=len(df),
        pseudonymized=ids,
        dropped=drop,
        shifted=dates,
        free_text_warnings=free_text,
        distinct_ids={c: len(_identifier_codes(df[c])[1]) for c in ids},
        identifier_warnings=id_like,
        by=by,
    )
    return out, report


def checked_arguments(
    df, ids, drop, dates, by, date_format, max_shift_days, source
) -> tuple[list, list, list]:
    """(ids, drop, dates) as lists of names, checked against ``df``'s columns and each other; a parameter at fault
    is named (``ids=``, ``max_shift_days=``)."""
    from anonlab.errors import UsageError

    ids, drop, dates = _names(ids, "ids"), _names(drop, "drop"), _names(dates, "dates")
    _check(df, ids, drop, dates, by, date_format, source)
    if isinstance(max_shift_days, bool) or not isinstance(max_shift_days, int) or max_shift_days < 1:
        raise UsageError(f"max_shift_days={max_shift_days!r}: must be a whole number of days, at least 1")
    return ids, drop, dates


def pseudonymize_rows(
    df: pd.DataFrame, pz: Pseudonymizer, ids, drop, dates, by, date_format, source: str = "input"
) -> pd.DataFrame:
    """The released rows of :func:`pseudonymize` for checked arguments: a row's output depends only on the row
    and the key (and on the dates' format, ``date_format``, one per column or a dict of them), so any split of
    the rows into parts gives the same rows (the per-partition kernel of :mod:`anonlab.distributed`)."""
    out = df.copy()
    subjects = _identifier_codes(df[by]) if dates else None  # factorized once when by is also an id
    if dates:
        _shift_dates(df, out, pz, dates, by, date_format, source, subjects)
    for col in ids:
        out[col] = pz._pseudonyms(df[col], subjects if col == by else _identifier_codes(df[col]))
    return out.drop(columns=drop)


def column_warnings(out: pd.DataFrame, ids, dates) -> tuple[list[str], list[str]]:
    """(columns that look like free text, columns that look like direct identifiers) among those left as they
    are in the released table ``out``."""
    from anonlab.schema import _guess_type, guess_role

    untouched = [c for c in out.columns if c not in ids and c not in dates]
    free_text = [c for c in untouched if _guess_type(out[c]) == "text"]
    id_like = [c for c in untouched if c not in free_text and guess_role(str(c), out[c]) == "identifier"]
    return free_text, id_like


def pseudonym_mapping(df: pd.DataFrame, *, key, ids) -> pd.DataFrame:
    """The re-identification table of :func:`pseudonymize`: ``column, original, pseudonym``, one row per
    distinct identifier of each column of ``ids``. As secret as the key: store it only where the key may be."""
    import pandas as pd

    pz = Pseudonymizer(_as_key(key))
    parts = []
    for col in _names(ids, "ids"):
        pairs = pd.DataFrame(
            {
                "column": col,
                "original": df[col].astype("string"),
                "pseudonym": pz.pseudonymize_series(df[col]),
            }
        )
        parts.append(pairs.dropna().drop_duplicates())
    if not parts:
        return pd.DataFrame(columns=["column", "original", "pseudonym"])
    return pd.concat(parts, ignore_index=True)


def pseudonymize_table(
    df: pd.DataFrame,
    pseudonymizer: Pseudonymizer,
    id_columns: list[str],
    drop: list[str] = (),
    shift_dates: list[str] = (),
    by: str | None = None,
    source: str = "input",
    date_format: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, PseudonymizationReport]:
    """:func:`pseudonymize` and :func:`pseudonym_mapping` under a :class:`Pseudonymizer`: returns (released
    table, mapping, report); the form before the keyword API."""
    out, report = pseudonymize(
        df,
        key=pseudonymizer.key,
        ids=id_columns,
        drop=drop,
        dates=shift_dates,
        by=by,
        date_format=date_format,
        max_shift_days=pseudonymizer.max_shift_days,
        source=source,
    )
    return out, pseudonym_mapping(df, key=pseudonymizer.key, ids=id_columns), report
