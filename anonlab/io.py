"""Reading and writing tables and files, safely.

Tables are CSV (optionally gzip-compressed) or Parquet, chosen by extension. Every read error becomes an
:class:`~anonlab.errors.InputError` naming the file and, where known, the line or column.

How anonlab reads a table (one rule for every command, :func:`read_table`): every cell is read as text, exactly
as written; only an empty cell is missing (``NA``, ``NaN``, ``null`` are values unless ``na_values=`` says
otherwise). Values are then converted only through a schema's types (``schema=``, :meth:`Schema.coerce`), or,
without a schema, by :func:`infer_types`, which never alters a value: integers only when every value writes back
the same (no leading zeros, no ``+``, within int64; nullable ``Int64`` when values are missing, never ``123.0``),
floats only when every value is a plain decimal that float64 holds exactly, everything else (codes such as
``02140``, long IDs) stays text. Columns named in ``text_columns=`` (IDs, keys) always stay text. So an identifier
reads the same whatever else is in the file, and codes are written back exactly. Short or long rows, NUL bytes
and bytes that are not UTF-8 are refused naming the line (and byte offset).

Every write goes to a temporary file in the destination folder that cannot outlive the process (Linux
``O_TMPFILE``, else a named file cleaned on exit and by the next run) and gets its name only when complete, so a
failure or a kill never leaves half a file; an existing output is refused unless ``force`` is given, and
:func:`guard_outputs` refuses an output that is (or links to) an input, key, ledger or schema of the same command,
``force`` or not.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import re
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from anonlab.errors import InputError, OutputError, OutputExistsError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.schema import Schema

__all__ = [
    "TABLE_SUFFIXES",
    "table_format",
    "read_table",
    "infer_types",
    "parse_dates",
    "factorize_text",
    "MISSING_VALUES",
    "write_table",
    "check_output",
    "guard_outputs",
    "Temporary",
    "remove_stale_temporaries",
    "ensure_folder",
    "created_folders",
    "atomic_path",
    "write_text",
    "write_bytes",
    "refuse_inside",
    "require_columns",
]

TABLE_SUFFIXES = {".csv": "csv", ".csv.gz": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: str | os.PathLike) -> str:
    """Return ``"csv"``, ``"tsv"`` or ``"parquet"`` from the file name, or raise :class:`UsageError`."""
    name = str(path).lower()
    for suffix, fmt in sorted(TABLE_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    raise UsageError(f"{path}: unknown table format (use one of {', '.join(TABLE_SUFFIXES)})")


_FIELDS_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")

#: The cell values read as missing: only the empty cell (after the spaces that follow a delimiter). ``NA``,
#: ``NaN``, ``null``, ``?`` and the like are values (``NA`` is Namibia's country code, ``Nan`` a surname); pass
#: ``na_values=`` to :func:`read_table` to read such markers as missing too.
MISSING_VALUES: tuple[str, ...] = ("",)

_FLOAT_RE = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]{1,3})?|-?\.[0-9]+(?:[eE][-+]?[0-9]{1,3})?"
_FLOAT_DIGITS = 15  # any decimal of up to 15 significant digits survives a round trip through float64
_SCAN_CHUNK = 1 << 24


def read_table(
    path: str | os.PathLike,
    *,
    columns: Sequence[str] | None = None,
    schema: Schema | None = None,
    text_columns: Sequence[str] = (),
    infer: bool = True,
    na_values: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet table exactly as written. Never modifies the file.

    How a CSV/TSV is read (the one rule for all of anonlab):

    * every cell is read as text; a cell is missing only when it is empty (:data:`MISSING_VALUES`, plus
      ``na_values`` when given). Spaces right after a delimiter are not part of a value.
    * with a ``schema``, each column the schema lists is converted to its type (:meth:`Schema.coerce`: a value
      that does not fit is an :class:`InputError` naming column and row); schema columns the file lacks are
      ignored here (consumers that need them check with ``columns=`` or :func:`require_columns`).
    * ``text_columns`` (identifiers, codes) stay text, exactly as written.
    * the other columns are typed by :func:`infer_types` when ``infer`` is true (a conversion that never alters
      a value), else they stay text.

    Refused with an :class:`InputError` naming the file and line: rows with fewer or more fields than the header,
    a NUL byte, bytes that are not UTF-8 (with the byte offset), duplicate or empty headers.
    Parquet files keep their stored types; ``schema`` and ``text_columns`` apply to them too.

    ``columns``, when given, must all exist (else :class:`InputError` naming the missing one).
    """
    path = Path(path)
    fmt = table_format(path)
    _check_readable(path)
    df = _parse_table(path, fmt, [*MISSING_VALUES, *na_values])
    _check_shape(path, df)
    if columns:
        require_columns(df, columns, path)
    text = [c for c in text_columns if c in df.columns]
    for c in text:
        df[c] = _as_text(df[c])
    typed: list[str] = []
    if schema is not None:
        typed = [c for c in schema.names if c in df.columns and c not in text]
        if typed:
            df = schema.subset(typed).coerce(df, str(path))
    if infer and fmt != "parquet":
        rest = [c for c in df.columns if c not in text and c not in typed]
        df = infer_types(df, columns=rest)
    return df


def _check_readable(path: Path) -> None:
    """A regular, non-empty file, or an :class:`InputError` saying what it is instead."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a table file")
    if not path.is_file():  # a FIFO, device or socket: read only once (a table is read several times)
        raise InputError(f"{path}: not a regular file (a FIFO, device or socket); save it to a file first")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")


def _parse_table(path: Path, fmt: str, missing: list[str]) -> pd.DataFrame:
    """The file's cells (text for CSV/TSV), with parse failures turned into one-line :class:`InputError`."""
    import pandas as pd

    try:
        if fmt == "parquet":
            return _read_parquet(path)
        return _read_delimited(path, "\t" if fmt == "tsv" else ",", missing)
    except UnicodeDecodeError as exc:  # _scan_bytes reports first; kept for a file that changed meanwhile
        raise InputError(
            f"{path}: not valid UTF-8 (byte 0x{exc.object[exc.start]:02x}); re-save the file as UTF-8"
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty file (no header row)") from None
    except pd.errors.ParserError as exc:
        m = _FIELDS_RE.search(str(exc))
        if m:
            want, where, saw = m.groups()
            raise InputError(f"{path}: line {where}: expected {want} fields, saw {saw}") from None
        raise InputError(f"{path}: cannot parse: {str(exc).strip().splitlines()[0]}") from None


def _read_delimited(path: Path, sep: str, missing: list[str]) -> pd.DataFrame:
    """A CSV/TSV with every cell as text; only ``missing`` cells are missing; ragged rows refused."""
    import pandas as pd

    _scan_bytes(path)
    header = pd.read_csv(path, sep=sep, nrows=1, header=None, dtype=str, encoding="utf-8")
    names = [str(v).strip() for v in header.iloc[0].tolist()]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{path}: duplicate column name {dupes[0]!r}")
    df = pd.read_csv(
        path,
        sep=sep,
        encoding="utf-8",
        encoding_errors="strict",
        skipinitialspace=True,
        dtype=str,
        keep_default_na=False,
        na_values=missing,  # the missing-value rule: only these cells (by default the empty one)
        low_memory=False,
    )
    # rows with one field more than the header: pandas took the first column as an index and shifted the others
    # (a trailing delimiter, say)
    if len(df) and not isinstance(df.index, pd.RangeIndex):
        line = 2 + sum(str(n).count("\n") for n in names)
        raise InputError(f"{path}: line {line}: expected {len(names)} fields, saw {len(names) + 1}")
    if df.shape[1] > 1 and len(df):
        _check_short_rows(path, df, sep)
    return df


def _check_shape(path: Path, df: pd.DataFrame) -> None:
    """At least one named column and one data row; no duplicate or empty header."""
    if df.shape[1] == 0:
        raise InputError(f"{path}: no columns")
    if len(df) == 0:
        raise InputError(f"{path}: header only, no data rows")
    dupes = df.columns[df.columns.duplicated()].tolist()
    if dupes:
        raise InputError(f"{path}: duplicate column name {dupes[0]!r}")
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed: ")]
    if unnamed:
        raise InputError(f"{path}: a column has an empty header ({unnamed[0]!r})")


def infer_types(df: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Type text columns without altering any value; returns a new frame (``df`` is not modified).

    A column (of ``columns``, default all) whose non-missing cells are all strings becomes

    * ``int64`` when every non-missing value is an integer written canonically (digits, an optional ``-``, no
      leading zero, no ``+``, no spaces, within int64), so writing it back gives the same text; nullable
      ``Int64`` when the column has missing values (never float: ``123`` stays ``123``, not ``123.0``);
    * ``float64`` when every value is a decimal number (no leading zeros, no ``+``, at most 15 significant digits,
      so the value survives float64 exactly; values without a point or exponent must be integers as above;
      ``nan``/``inf`` are not numbers here);
    * text otherwise: codes with leading zeros (``02140``), long IDs, mixed columns stay as written.
    """
    import pandas as pd

    todo = set(df.columns if columns is None else columns)
    return pd.DataFrame({c: _infer_column(df[c]) if c in todo else df[c] for c in df.columns}, index=df.index)


_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_NUMERIC_DATE = r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?:[ T].*)?"


def factorize_text(s: pd.Series):
    """``pd.factorize(s)`` (missing values coded -1) comparing text values whole: ``(codes, distinct values)``.

    pandas' string hash table stops at a NUL character (1.5 to 2.3 at least), so ``"a"`` and ``"a\\0b"`` are one
    value to ``pd.factorize``, under whichever comes first, and a NUL-holding value need not be among the distinct
    values it returns. When any row holds a NUL (checked on every row: the distinct values cannot show it), the
    values are factorized escaped injectively instead, and each code keeps its own value as written."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return codes, uniques
    try:
        nul = bool(s.str.contains("\0", regex=False, na=False).any())
    except AttributeError:  # objects that are not all text (the .str accessor refuses them)
        nul = any(isinstance(v, str) and "\0" in v for v in uniques) or bool(
            s.map(lambda v: isinstance(v, str) and "\0" in v).any()
        )
    if not nul:
        return codes, uniques

    def escaped(v):
        return v.replace("\\", "\\\\").replace("\0", "\\0") if isinstance(v, str) else v

    codes, first = pd.factorize(s.map(escaped, na_action="ignore"), use_na_sentinel=True)
    rows = np.flatnonzero(codes >= 0)
    at = np.empty(len(first), dtype=np.int64)
    at[codes[rows][::-1]] = rows[::-1]  # the first row of each code
    return codes, s.iloc[at].array


def parse_dates(
    s: pd.Series,
    column: str,
    date_format: str | None = None,
    source: str = "input",
    hint: str = "--date-format '%d/%m/%Y' (library: date_format=)",
) -> tuple[pd.Series, str | None]:
    """Parse a column of dates with one format for the whole column; return ``(dates, format)``.

    With ``date_format`` (a ``strftime`` pattern such as ``%d/%m/%Y``), every value must match it. Without, the
    values must be ISO dates (``YYYY-MM-DD``, optionally with a time); dates such as ``01/02/2020`` are refused
    because the order of day and month cannot be known (``13/02/2020`` in the same column would otherwise be read
    day-first while ``01/02/2020`` is read month-first, distorting every interval). Other unambiguous forms
    (``2 Jan 2020``) are parsed with the one format guessed from the first value. Missing values stay missing;
    a value that does not fit is an :class:`InputError` naming the column and row. The returned format is the one
    given or guessed (``None`` for ISO). ``hint`` says, in the ambiguity error, how to give the format.
    """
    import pandas as pd

    text = s.dropna().astype(str).str.strip()
    fmt = date_format
    if fmt is None and len(text):
        if text.str.fullmatch(_ISO_DATE).all():
            fmt = None
        elif text.str.fullmatch(_NUMERIC_DATE).any():
            raise InputError(
                f"{source}: column {column!r}: dates such as DD/MM/YYYY or MM/DD/YYYY are ambiguous (is "
                f"01/02 the 1st of February or the 2nd of January?); give the format: {hint}"
            )
        else:
            from pandas._libs.tslibs.parsing import guess_datetime_format

            fmt = guess_datetime_format(text.iloc[0])
            if fmt is None:
                raise InputError(
                    f"{source}: column {column!r}, row {int(s.notna().to_numpy().argmax()) + 1}: value is not a "
                    f"date anonlab can read without a format; give the format: {hint}"
                )
    strings = s.astype(object).where(s.isna(), s.astype(str).str.strip())
    dates = (
        pd.to_datetime(strings, format=fmt, errors="coerce")
        if fmt
        # ISO 8601 with or without a time in one column (pandas 2 otherwise applies the first value's format to all)
        else pd.to_datetime(strings, format="ISO8601", errors="coerce")
    )
    bad = dates.isna() & s.notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 1
        what = f"does not match the date format {fmt!r}" if fmt else "is not a date (YYYY-MM-DD)"
        raise InputError(f"{source}: column {column!r}, row {row}: value {what}")
    return dates, fmt


def _infer_column(s: pd.Series) -> pd.Series:
    import numpy as np
    import pandas as pd

    if s.dtype != object:
        return s
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if len(uniq) == 0 or pd.api.types.infer_dtype(uniq, skipna=False) != "string":  # all missing, or not text
        return s
    ints = _exact_ints(uniq[:1000])  # a cheap look first: most text columns fail here
    ints = _exact_ints(uniq) if ints is not None and len(uniq) > 1000 else ints
    if ints is not None:
        values = ints[codes]
        if (codes < 0).any():
            return pd.Series(pd.arrays.IntegerArray(values, codes < 0), index=s.index, name=s.name)
        return pd.Series(values, index=s.index, name=s.name)
    u = pd.Series(uniq, dtype=object)
    if not u.str.fullmatch(_FLOAT_RE).all():
        return s
    whole = ~u.str.contains(r"[.eE]", regex=True)  # "-0" or a 21-digit ID would not write back as a float
    if whole.any() and _exact_ints(u[whole].to_numpy()) is None:
        return s
    mantissa = u.str.replace(r"[eE].*$", "", regex=True).str.replace(r"[-.]", "", regex=True)
    if (mantissa.str.lstrip("0").str.rstrip("0").str.len() > _FLOAT_DIGITS).any():
        return s
    floats = pd.to_numeric(u, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(floats).all():
        return s
    values = np.append(floats, np.nan)[codes]  # code -1 (missing) takes the appended NaN
    return pd.Series(values, index=s.index, name=s.name)


def _exact_ints(uniq):
    """int64 values of the distinct strings ``uniq`` if every one is an integer that writes back identically
    (no leading zero, no ``+``, no space, within int64), else ``None``. Parsed and re-printed in C (numpy)."""
    import numpy as np

    text = np.asarray(uniq, dtype=np.str_)
    try:
        ints = text.astype(np.int64)
    except (ValueError, OverflowError):  # not integers, or beyond int64: stays text rather than rounding
        return None
    # "007", "+7", " 7", "-0", "1_000" would not write back the same
    if not np.array_equal(ints.astype(np.str_), text):
        return None
    return ints


def _as_text(s: pd.Series) -> pd.Series:
    """A column as text (object of ``str``, missing stays missing); whole floats print as integers."""
    import pandas as pd

    if s.dtype == object:
        return s.where(s.isna(), s.astype(str))
    if pd.api.types.is_float_dtype(s):
        nonnull = s.dropna()
        if len(nonnull) and (nonnull == nonnull.round()).all() and (nonnull.abs() < 2**53).all():
            s = s.astype("Int64")
    return s.astype("string").astype(object).where(s.notna(), None)


def _open_raw(path: Path):
    import gzip

    return gzip.open(path, "rb") if str(path).lower().endswith(".gz") else open(path, "rb")  # noqa: SIM115


def _scan_bytes(path: Path) -> None:
    """Refuse a NUL byte or bytes that are not UTF-8, naming the byte offset and the line (1-based)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    newlines = 0
    try:
        with _open_raw(path) as fh:
            while True:
                chunk = fh.read(_SCAN_CHUNK)
                final = not chunk
                nul = chunk.find(b"\0")
                if nul >= 0:
                    line = newlines + chunk.count(b"\n", 0, nul) + 1
                    raise InputError(
                        f"{path}: line {line}: a NUL byte inside a value (byte offset {offset + nul}); "
                        "anonlab does not read NUL bytes, remove them"
                    )
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(chunk, final=final)
                except UnicodeDecodeError as exc:
                    data = exc.object  # the decoder's pending bytes (never a newline) + this chunk
                    pos = offset - pending + exc.start
                    line = newlines + data.count(b"\n", 0, exc.start) + 1
                    raise InputError(
                        f"{path}: line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {pos}); "
                        "re-save the file as UTF-8"
                    ) from None
                if final:
                    return
                newlines += chunk.count(b"\n")
                offset += len(chunk)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
            raise InputError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None
        raise InputError(f"{path}: cannot read ({exc})") from None
    except (EOFError, zlib.error) as exc:  # a gzip stream cut short or damaged (a partial download)
        raise InputError(f"{path}: cannot read: damaged or truncated gzip file ({exc})") from None


def _check_short_rows(path: Path, df: pd.DataFrame, sep: str) -> None:
    """Refuse a row with fewer fields than the header (pandas pads it silently), naming its line.

    Only a row whose last cell is missing can be short, so files without such rows cost one check.
    """
    import csv
    import io as _io

    import numpy as np

    if not df.iloc[:, -1].isna().any():
        return
    want = df.shape[1]
    with _open_raw(path) as fh:
        data = fh.read()
    if b'"' not in data:
        # no quoting: each row is a non-blank physical line; count the delimiters on the lines of rows whose last
        # cell is missing (vectorised), the only rows that can be short
        buf = np.frombuffer(data, dtype=np.uint8)
        nl = np.flatnonzero(buf == ord("\n"))
        starts = np.concatenate(([0], nl + 1))
        ends = np.concatenate((nl, [len(buf)]))
        lens = ends - starts
        last_byte = len(buf) - 1
        head = buf[np.minimum(starts, last_byte)]
        lines = np.flatnonzero((lens > 1) | ((lens == 1) & (head != ord("\r"))))  # pandas skips blank lines
        if len(lines) == len(df) + 1:
            cand = lines[1:][np.flatnonzero(df.iloc[:, -1].isna().to_numpy())]
            bounds = np.empty(2 * len(cand), dtype=np.int64)
            bounds[0::2], bounds[1::2] = starts[cand], np.minimum(ends[cand], last_byte)
            is_sep = buf == ord(sep)
            per_line = np.add.reduceat(is_sep, bounds, dtype=np.int64)[0::2]
            per_line[bounds[0::2] == bounds[1::2]] = 0  # reduceat gives a byte, not 0, for an empty range
            per_line += (ends[cand] > last_byte) & is_sep[last_byte]  # a last line without a newline
            short = np.flatnonzero(per_line < want - 1)
            if len(short):
                line, saw = int(cand[short[0]]) + 1, int(per_line[short[0]]) + 1  # fields = delimiters + 1
                raise InputError(f"{path}: line {line}: expected {want} fields, saw {saw}")
            return
    # quoted fields may span lines: let the csv module find records and their physical lines
    reader = csv.reader(_io.StringIO(data.decode("utf-8")), delimiter=sep, skipinitialspace=True)
    first = True
    for record in reader:
        if first:
            first = False
            continue
        if len(record) < want and any(f.strip() for f in record):  # pandas skips blank lines
            raise InputError(f"{path}: line {reader.line_num}: expected {want} fields, saw {len(record)}")


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    from anonlab.errors import require_extra

    require_extra("parquet", "pyarrow", "reading Parquet")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise InputError(f"{path}: not a readable Parquet file ({type(exc).__name__})") from None
    if isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1:
        return df
    # a stored index: named levels (a frame indexed by `id`) are data and become columns; unnamed row numbers
    # (a filtered frame's) are not
    named = [n for n in df.index.names if n is not None]
    if set(map(str, named)) & set(map(str, df.columns)):
        raise InputError(f"{path}: the stored index {named[0]!r} repeats a column name")
    return df.reset_index(drop=not named)


def require_columns(df: pd.DataFrame, columns: Sequence[str], source: str | os.PathLike = "input") -> None:
    """Raise :class:`InputError` naming the first of ``columns`` that ``df`` lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        known = ", ".join(map(str, df.columns[:20])) + (" ..." if df.shape[1] > 20 else "")
        raise InputError(f"{source}: no column named {missing[0]!r} (columns: {known})")


def check_output(path: str | os.PathLike, force: bool = False) -> Path:
    """Refuse to overwrite ``path`` unless ``force``; return it as a Path.

    Something that exists and is not a regular file (a folder, a device such as ``/dev/full``, a FIFO, a socket,
    or a symbolic link to one) is refused even with ``force``: the atomic rename would replace it.

    Also refuses (:class:`OutputError`) an output whose folder, or nearest existing ancestor, cannot be written
    (permissions, read-only file system), so a long computation is not run only to fail at the end.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputExistsError(f"{path}: is a folder; give a file name")
    # a device (/dev/full), FIFO or socket: the rename of --force would destroy it
    if path.exists() and not path.is_file():
        raise OutputError(f"{path}: exists and is not a regular file (a device, FIFO or socket)")
    if path.exists() and not force:
        raise OutputExistsError(f"{path}: exists; refusing to overwrite it (use --force)")
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if folder.is_dir() and not os.access(
        folder, os.W_OK | os.X_OK, effective_ids=os.access in os.supports_effective_ids
    ):
        cause = "read-only file system" if _read_only(folder) else "permission denied"
        raise OutputError(f"{path}: cannot write: the folder {folder} is not writable ({cause})")
    return path


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: the same resolved path, or one inode (a hard or symbolic link)."""
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):  # a symlink loop
        pass
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def guard_outputs(outputs, protected) -> None:
    """Refuse any output that is, or links to, a file the same command reads or keeps: ``--force`` or not.

    outputs : the paths the command will write (``None`` entries are ignored).
    protected : ``{role: path or list of paths}`` (``"input"``, ``"key file"``, ``"ledger"``, ``"schema"``...);
        ``None`` entries are ignored.

    An output is refused when its resolved path equals a protected one, or when both exist and share one inode (a
    hard link, or a symbolic link on either side): writing it would destroy an input, a key or a ledger, which
    may be the only copy. Two outputs naming one file are refused too. Raises :class:`UsageError`.
    """
    outs = [Path(o) for o in outputs if o is not None]
    for role, paths in protected.items():
        if paths is None:
            continue
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        elif not isinstance(paths, (list, tuple, set)):
            continue  # not a path (an in-memory schema, say): nothing on disk to protect
        for p in paths:
            if p is None:
                continue
            for o in outs:
                if _same_file(o, Path(p)):
                    same = "" if str(o) == str(p) else f" ({p})"
                    raise UsageError(
                        f"{o}: the output would overwrite the {role}{same}; an input, a key, a ledger or a "
                        "schema is never overwritten, --force or not"
                    )
    for i, o in enumerate(outs):
        for other in outs[i + 1 :]:
            if _same_file(o, other):
                raise UsageError(f"{o}: two outputs of this command name the same file ({other})")


# -- temporary files that cannot outlive the process ------------------------------------------------------------

_RUN_STARTED = time.time()
_LIVE_TEMPS: set[str] = set()  # named temporaries of this process, removed on exit, SIGTERM or SIGINT
_CREATED_FOLDERS: list[str] = []  # output folders this process created (the CLI's summary names them)
_INCOMPLETE: list[str] = []  # output folders this process marked incomplete and has not finished yet


def _temp_name(target: Path) -> str:
    import secrets

    return f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike, name: str) -> list[Path]:
    """Remove temporaries of anonlab's naming (``.NAME.PID.XXXX.tmp``) that a killed run left in ``folder``.

    A temporary is stale when the process that made it no longer runs, or (for the older ``.NAME.XXXX.tmp``
    naming, which carries no process id) when it is older than this run. Temporaries of live runs are kept.
    Returns the paths removed. Errors are ignored: this is housekeeping.
    """
    folder = Path(folder)
    prefix = f".{name}."
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        n = entry.name
        if not (n.startswith(prefix) and n.endswith(".tmp")) or str(folder / n) in _LIVE_TEMPS:
            continue
        middle = n[len(prefix) : -len(".tmp")].split(".")
        try:
            if len(middle) == 2 and middle[0].isdigit():
                stale = not _pid_alive(int(middle[0]))
            elif len(middle) == 1:
                stale = entry.stat(follow_symlinks=False).st_mtime < _RUN_STARTED
            else:
                continue
            if stale and entry.is_file(follow_symlinks=False):
                os.unlink(folder / n)
                removed.append(folder / n)
        except OSError:
            continue
    return removed


def _cleanup_live_temporaries() -> None:
    for name in list(_LIVE_TEMPS):
        with contextlib.suppress(OSError):
            os.unlink(name)
        _LIVE_TEMPS.discard(name)


atexit.register(_cleanup_live_temporaries)


class Temporary:
    """A file being written in ``folder`` that becomes visible only when :meth:`link` or :meth:`replace` is called.

    On Linux it is an anonymous ``O_TMPFILE`` inode: it has no name until linked, so a ``kill -9``, a crash or a
    full disk never leaves anything behind. Where the file system does not support that, it is a named
    ``.NAME.PID.XXXX.tmp`` beside the target, removed on exit, on SIGTERM / SIGINT (the CLI turns those into an
    orderly exit) and, if the process was killed outright, by the next run writing there
    (:func:`remove_stale_temporaries`). ``path`` is where to write (``/proc/self/fd/N`` for an anonymous file).
    """

    def __init__(self, folder: str | os.PathLike, target_name: str, mode: int = 0o600) -> None:
        self.folder = Path(folder)
        self.named: Path | None = None
        self.fd: int | None = None
        flag = getattr(os, "O_TMPFILE", None)
        if flag is not None and os.path.isdir("/proc/self/fd"):
            try:
                self.fd = os.open(self.folder, flag | os.O_RDWR, mode)
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOENT):
                    raise
                self.fd = None  # EOPNOTSUPP, EISDIR, EINVAL: no O_TMPFILE on this file system
        if self.fd is not None:
            self.path = Path(f"/proc/self/fd/{self.fd}")
        else:
            self.named = self.folder / _temp_name(Path(target_name))
            _LIVE_TEMPS.add(str(self.named))
            fd = os.open(self.named, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
            os.close(fd)
            self.path = self.named

    def _sync(self) -> None:
        if self.fd is not None:
            os.fsync(self.fd)
        elif self.named is not None:
            fd = os.open(self.named, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def chmod(self, mode: int) -> None:
        if self.fd is not None:
            os.fchmod(self.fd, mode)
        else:
            os.chmod(self.path, mode)

    def link(self, target: str | os.PathLike, sync: bool = True) -> None:
        """Give the file the name ``target``; :class:`FileExistsError` if it is taken (never overwrites).
        ``sync`` first flushes it to disk (fsync), so the name never points at data a power cut could lose."""
        if sync:
            self._sync()
        if self.fd is not None:
            _link_fd(self.fd, target)
        else:
            assert self.named is not None  # a temporary has a file descriptor or a name
            os.link(self.named, target)

    def replace(self, target: str | os.PathLike, sync: bool = True) -> None:
        """Put the file in place of ``target`` in one step (an old file of that name is replaced whole)."""
        if sync:
            self._sync()
        if self.fd is not None:
            named = self.folder / _temp_name(Path(target))
            _LIVE_TEMPS.add(str(named))
            try:
                _link_fd(self.fd, named)
                os.replace(named, target)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(named)
                _LIVE_TEMPS.discard(str(named))
        else:
            assert self.named is not None  # a temporary has a file descriptor or a name
            os.replace(self.named, target)

    def close(self) -> None:
        """Close the file; an anonymous file that was never linked vanishes, a named one is removed."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        if self.named is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.named)
            _LIVE_TEMPS.discard(str(self.named))
            self.named = None


def _link_fd(fd: int, target: str | os.PathLike) -> None:
    """linkat(2) with AT_SYMLINK_FOLLOW of an O_TMPFILE descriptor through /proc (os.link without a dir_fd calls
    link(2), which would try to link the /proc entry itself and fail with EXDEV)."""
    dir_fd = os.open(os.path.dirname(os.path.abspath(target)) or ".", os.O_RDONLY)
    try:
        os.link(f"/proc/self/fd/{fd}", target, src_dir_fd=dir_fd, follow_symlinks=True)
    finally:
        os.close(dir_fd)


def ensure_folder(folder: str | os.PathLike) -> bool:
    """Create ``folder`` (and its parents) if missing; return whether it was created. The CLI's summary names every
    folder a command created, so a mistyped path does not go unnoticed. Raises :class:`OutputError` when it cannot.
    """
    folder = Path(folder)
    if folder.is_dir():
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the output folder: {_cause(exc)}") from None
    _CREATED_FOLDERS.append(str(folder))
    return True


def created_folders(reset: bool = False) -> list[str]:
    """The output folders :func:`ensure_folder` created in this process (``reset`` empties the record)."""
    out = list(_CREATED_FOLDERS)
    if reset:
        _CREATED_FOLDERS.clear()
    return out


def mark_incomplete(folder: str | os.PathLike, done: bool = False) -> None:
    """Record that ``folder`` (an output folder filled file by file, e.g. by ``dicom deidentify``) carries an
    incomplete marker until the run finishes (``done=True`` clears it). When a run is interrupted, the CLI names
    these folders instead of saying that no partial output was left."""
    if done:
        with contextlib.suppress(ValueError):
            _INCOMPLETE.remove(str(folder))
    else:
        _INCOMPLETE.append(str(folder))


def incomplete_outputs(reset: bool = False) -> list[str]:
    """The folders :func:`mark_incomplete` recorded and that were not finished (``reset`` empties the record)."""
    out = list(_INCOMPLETE)
    if reset:
        _INCOMPLETE.clear()
    return out


def _cause(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def write_new_secret(path: str | os.PathLike, text: str, what: str, why: str = "") -> Path:
    """Write ``text`` to a new file ``path`` (a key, a seed): mode 0600 from its first byte, whole or not at all.

    It is written to an anonymous :class:`Temporary` and linked into place only when complete, so a kill or a full
    disk never leaves part of a secret, and the link fails rather than replace a file that appeared meanwhile.
    ``what`` names the file in messages ("key file"), ``why`` says why it is never overwritten. Raises
    :class:`OutputExistsError` or :class:`OutputError` (folder not writable, read-only file system, disk full).
    """
    path = Path(path)
    exists = f"{path}: exists; a {what} is never overwritten{f' ({why})' if why else ''}"
    if path.exists() or path.is_symlink():
        raise OutputExistsError(exists)
    ensure_folder(path.parent)
    tmp = None
    try:
        tmp = Temporary(path.parent, path.name, 0o600)
        with open(tmp.path, "w", encoding="ascii") as fh:
            fh.write(text)
        tmp.chmod(0o600)
        tmp.link(path)
    except FileExistsError:
        raise OutputExistsError(exists) from None
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the {what}: {_cause(exc)}") from None
    finally:
        if tmp is not None:
            tmp.close()
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, force: bool = False, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path to write ``path`` through; it takes the name ``path`` only if the block succeeds.

    The temporary cannot outlive the process (see :class:`Temporary`), so a kill, a crash or a full disk never
    leaves half a file or a stray temporary. Without ``force`` an existing ``path`` is refused, also one that
    appeared while the block ran (the final link fails rather than overwrite). The parent folder is created if
    needed. ``mode`` sets the file permissions before it gets its name (so a secret is never readable by others,
    even briefly); the default is owner-only. An operating-system error (read-only file system, no space left,
    permission denied) becomes an :class:`OutputError` naming ``path`` and the cause.
    """
    path = check_output(path, force)
    ensure_folder(path.parent)
    remove_stale_temporaries(path.parent, path.name)
    try:
        tmp = Temporary(path.parent, path.name)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {_cause(exc)}") from None
    try:
        yield tmp.path
        if mode is not None:
            tmp.chmod(mode)
        try:
            tmp.link(path)
        except FileExistsError:
            if not force:  # appeared while we worked
                raise OutputExistsError(f"{path}: exists; refusing to overwrite it (use --force)") from None
            tmp.replace(path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {_cause(exc)}") from None
    finally:
        tmp.close()


def write_bytes(path: str | os.PathLike, data: bytes, force: bool = False, mode: int | None = None) -> Path:
    """Write ``data`` atomically to ``path``."""
    with atomic_path(path, force, mode) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, force: bool = False, mode: int | None = None) -> Path:
    """Write ``text`` (UTF-8) atomically to ``path``."""
    return write_bytes(path, text.encode("utf-8"), force, mode)


def write_table(df: pd.DataFrame, path: str | os.PathLike, force: bool = False) -> Path:
    """Write ``df`` atomically as CSV/TSV/Parquet, chosen by the extension of ``path``."""
    fmt = table_format(path)
    if fmt == "parquet":
        from anonlab.errors import require_extra

        require_extra("parquet", "pyarrow", "writing Parquet")
    with atomic_path(path, force) as tmp:
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            compression = "gzip" if str(path).lower().endswith(".gz") else None
            df.to_csv(tmp, index=False, sep="\t" if fmt == "tsv" else ",", compression=compression)
    return Path(path)


def refuse_inside(path: str | os.PathLike, folder: str | os.PathLike, what: str, where: str) -> None:
    """Raise :class:`UsageError` if ``path`` would lie inside ``folder`` (for example a mapping beside a release)."""
    p = Path(path).resolve()
    f = Path(folder).resolve()
    if p == f or f in p.parents:
        raise UsageError(
            f"{path}: refusing to write the {what} inside {where} ({folder}); keep it apart from the release"
        )
