"""Reading and writing tables and files, safely.

Tables are CSV (optionally gzip-compressed) or Parquet, chosen by extension. Every read error becomes an
:class:`~anonlab.errors.InputError` naming the file and, where known, the line or column. Every write goes to a
temporary file in the destination folder and is renamed into place, so a failure never leaves half a file, and an
existing output is refused unless ``force`` is given.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from anonlab.errors import InputError, OutputExistsError, UsageError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "TABLE_SUFFIXES",
    "table_format",
    "read_table",
    "write_table",
    "check_output",
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


def read_table(path: str | os.PathLike, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet table. Never modifies the file.

    ``columns``, when given, must all exist (else :class:`InputError` naming the missing one).
    """
    import pandas as pd

    path = Path(path)
    fmt = table_format(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a table file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    try:
        if fmt == "parquet":
            df = _read_parquet(path)
        else:
            sep = "\t" if fmt == "tsv" else ","
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
                low_memory=False,
            )
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8"
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty file (no header row)") from None
    except pd.errors.ParserError as exc:
        m = _FIELDS_RE.search(str(exc))
        if m:
            want, line, saw = m.groups()
            raise InputError(f"{path}: line {line}: expected {want} fields, saw {saw}") from None
        raise InputError(f"{path}: cannot parse: {str(exc).strip().splitlines()[0]}") from None
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
    if columns:
        require_columns(df, columns, path)
    return df


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise InputError(f"{path}: not a readable Parquet file ({type(exc).__name__})") from None


def require_columns(df: pd.DataFrame, columns: Sequence[str], source: str | os.PathLike = "input") -> None:
    """Raise :class:`InputError` naming the first of ``columns`` that ``df`` lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        known = ", ".join(map(str, df.columns[:20])) + (" ..." if df.shape[1] > 20 else "")
        raise InputError(f"{source}: no column named {missing[0]!r} (columns: {known})")


def check_output(path: str | os.PathLike, force: bool = False) -> Path:
    """Refuse to overwrite ``path`` unless ``force``; return it as a Path."""
    path = Path(path)
    if path.is_dir():
        raise OutputExistsError(f"{path}: is a folder; give a file name")
    if path.exists() and not force:
        raise OutputExistsError(f"{path}: exists; refusing to overwrite it (use --force)")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, force: bool = False, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The parent folder is created if needed. ``mode`` sets the file permissions before the rename (so a secret is
    never readable by others, even briefly).
    """
    path = check_output(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if mode is not None:
            os.chmod(tmp_path, mode)
        if not force and path.exists():  # appeared while we worked
            raise OutputExistsError(f"{path}: exists; refusing to overwrite it (use --force)")
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


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
