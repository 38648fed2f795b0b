"""Reading and writing partitioned tables by the rules of :mod:`anonlab.io`.

:func:`read_table` gives a Dask DataFrame of a CSV/TSV (one file, or a glob of files) or of Parquet (a file or a
folder of part files). A CSV cell is text, exactly as written, and missing only when empty; columns are then typed
as :func:`anonlab.io.infer_types` types the whole column in one frame (its rules depend on every value of the
column, so each partition reports what its values allow and the column is converted one way everywhere): the
partitions hold exactly the values and dtypes that :func:`anonlab.io.read_table` gives in-process.

:func:`write_parquet` writes a folder of Parquet part files under the staging and completion rule of
:mod:`anonlab.io`: the parts are written into a hidden staging folder beside the target (``.NAME.PID.XXXX.tmp``)
that gets the target's name only when every part is written, so a killed run never leaves a folder that looks
complete; the next run removes stale staging folders of dead processes.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from anonlab.errors import InputError, OutputError, OutputExistsError, UsageError

__all__ = ["read_table", "write_parquet", "staged_folder", "is_parquet"]

_INT, _FLOAT, _TEXT = "int", "float", "text"
#: the most Parquet data (as Parquet counts it) gathered into one partition from small row groups
PARQUET_BLOCKSIZE = "16MiB"
_PARQUET_META = {"_metadata", "_common_metadata", "_SUCCESS"}


def is_parquet(path: str | os.PathLike) -> bool:
    """Whether ``path`` names Parquet: a ``.parquet``/``.pq`` file or folder, or a folder of such files."""
    p = str(path).rstrip("/")
    if p.lower().endswith((".parquet", ".pq")):
        return True
    return os.path.isdir(p) and any(n.lower().endswith((".parquet", ".pq")) for n in os.listdir(p))


def read_table(
    path: str | os.PathLike,
    *,
    columns: Sequence[str] | None = None,
    text_columns: Sequence[str] = (),
    infer: bool = True,
    blocksize: str | int | None = "64MiB",
    text_as_categories: bool = False,
) -> Any:
    """A Dask DataFrame of the table at ``path``, read as :func:`anonlab.io.read_table` reads it in-process.

    ``columns``: read only these (each must exist). ``text_columns`` stay text exactly as written (identifiers);
    the others are typed by the in-process rules when ``infer``. ``blocksize``: bytes of CSV per partition
    (a ``.csv.gz`` is one partition per file; Parquet keeps its row groups/files). ``text_as_categories``: a
    Parquet text column comes as a pandas categorical (its values the same strings, decoded once per distinct
    value from Parquet's dictionary instead of once per row; CSV is unaffected). Bad input raises
    :class:`InputError` naming the file: missing, not UTF-8, a NUL byte, a duplicate or empty header, a row with
    too many or too few fields (with its line, as in-process).
    """
    from anonlab.distributed.scheduler import dask_modules

    dask_modules()
    if is_parquet(path):
        ddf = _read_parquet(path, columns, text_as_categories)
        infer = False  # Parquet keeps its stored types, as in-process
    else:
        ddf = _read_delimited(path, columns, blocksize)
    text = [c for c in text_columns if c in ddf.columns]
    if text:
        from anonlab.io import _as_text

        ddf = ddf.map_partitions(_texts, text, _as_text, meta=_text_meta(ddf._meta, text, _as_text))
    if infer:
        ddf = _infer(ddf, [c for c in ddf.columns if c not in text])
    return ddf


def _texts(part, cols, as_text):
    part = part.copy()
    for c in cols:
        part[c] = as_text(part[c])
    return part


def _text_meta(meta, cols, as_text):
    return _texts(meta, cols, as_text)


def _files(path: str | os.PathLike) -> list[str]:
    p = str(path)
    files = sorted(glob.glob(p)) if any(ch in p for ch in "*?[") else [p]
    if not files:
        raise InputError(f"{path}: no file matches")
    return files


def _read_parquet(path, columns, text_as_categories=False):
    import dask.dataframe as dd

    p = str(path)
    if not (glob.glob(p) if any(ch in p for ch in "*?[") else os.path.exists(p)):
        raise InputError(f"{path}: no such file or folder")
    try:
        # row groups are the unit: small ones are gathered up to PARQUET_BLOCKSIZE (as Parquet measures them,
        # several times smaller than the pandas frame they become), a large one is a partition of its own (Dask's
        # default would read a file of a few hundred MiB as one partition: one worker holding the whole table)
        ddf = dd.read_parquet(
            str(path),
            columns=list(columns) if columns else None,
            index=False,
            split_row_groups="adaptive",
            blocksize=PARQUET_BLOCKSIZE,
            arrow_to_pandas={"strings_to_categorical": True} if text_as_categories else None,
        )
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        if columns and isinstance(exc, (KeyError, ValueError)) and "column" in str(exc).lower():
            _require(path, dd.read_parquet(str(path), index=False).columns, columns)
        raise InputError(f"{path}: not a readable Parquet table ({type(exc).__name__})") from None
    return ddf


def _require(path, have, columns) -> None:
    missing = [c for c in columns if c not in have]
    if missing:
        known = ", ".join(map(str, list(have)[:20]))
        raise InputError(f"{path}: no column named {missing[0]!r} (columns: {known})")


def _read_delimited(path, columns, blocksize):
    import dask.dataframe as dd
    import pandas as pd

    from anonlab.io import MISSING_VALUES, _check_readable, _scan_bytes, table_format

    files = _files(path)
    sep = "\t" if table_format(files[0]) == "tsv" else ","
    header = None
    for f in files:
        _check_readable(Path(f))
        _scan_bytes(Path(f))  # NUL bytes and bytes that are not UTF-8, with the line (streams the file)
        names = [str(v).strip() for v in pd.read_csv(f, sep=sep, nrows=1, header=None, dtype=str).iloc[0]]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InputError(f"{f}: duplicate column name {dupes[0]!r}")
        if any(n in ("", "nan") for n in names):
            raise InputError(f"{f}: a column has an empty header")
        if header is not None and names != header:
            raise InputError(f"{f}: its header differs from {files[0]}'s")
        header = names
        _check_short_rows(Path(f), len(names), sep)
    if columns:
        _require(files[0], header, columns)
    gz = any(f.lower().endswith(".gz") for f in files)
    try:
        ddf = dd.read_csv(
            files,
            sep=sep,
            encoding="utf-8",
            skipinitialspace=True,
            dtype=str,
            keep_default_na=False,
            na_values=list(MISSING_VALUES),
            usecols=list(columns) if columns else None,
            blocksize=None if gz else blocksize,
            compression="gzip" if gz else None,
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{files[0]}: empty file (no header row)") from None
    ddf.columns = [str(c).strip() for c in ddf.columns]
    return ddf


_SHORT_CHUNK = 1 << 24


def _check_short_rows(path: Path, want: int, sep: str) -> None:
    """Refuse a row with fewer fields than the header, naming its line, as :func:`anonlab.io.read_table` does
    (Dask's reader pads it silently). Streams the file in 16 MiB pieces: without a quote character each row is a
    non-blank physical line and its delimiters are counted in numpy; a file with quotes (fields may span lines)
    goes through the csv module, line by line."""
    import numpy as np

    from anonlab.io import _open_raw

    if want < 2:
        return
    lines_before = 0  # physical lines ended before the current piece
    header_seen = False
    with _open_raw(path) as fh:
        rest = b""
        while True:
            chunk = fh.read(_SHORT_CHUNK)
            data = rest + chunk
            if b'"' in data:
                return _check_short_rows_quoted(path, want, sep)
            cut = len(data) if not chunk else data.rfind(b"\n") + 1
            piece, rest = data[:cut], data[cut:]
            if piece:
                buf = np.frombuffer(piece, dtype=np.uint8)
                nl = np.flatnonzero(buf == ord("\n"))
                starts = np.concatenate(([0], nl + 1))
                ends = np.concatenate((nl, [len(buf)]))
                if ends[-1] == starts[-1]:  # the piece ends with a newline: no line after it
                    starts, ends = starts[:-1], ends[:-1]
                lens = ends - starts
                head = buf[np.minimum(starts, len(buf) - 1)]
                lines = np.flatnonzero(
                    (lens > 1) | ((lens == 1) & (head != ord("\r")))
                )  # pandas skips blanks
                if not header_seen and len(lines):
                    header_seen, lines = True, lines[1:]
                if len(lines):
                    is_sep = np.r_[0, np.cumsum(buf == ord(sep))]
                    per_line = is_sep[ends[lines]] - is_sep[starts[lines]]
                    short = np.flatnonzero(per_line < want - 1)
                    if len(short):
                        line, saw = lines_before + int(lines[short[0]]) + 1, int(per_line[short[0]]) + 1
                        raise InputError(f"{path}: line {line}: expected {want} fields, saw {saw}")
                lines_before += len(nl)
            if not chunk:
                return None


def _check_short_rows_quoted(path: Path, want: int, sep: str) -> None:
    import csv
    import io as _io

    from anonlab.io import _open_raw

    with _open_raw(path) as raw, _io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        reader = csv.reader(text, delimiter=sep, skipinitialspace=True)
        next(reader, None)
        for record in reader:
            if len(record) < want and any(f.strip() for f in record):  # pandas skips blank lines
                raise InputError(f"{path}: line {reader.line_num}: expected {want} fields, saw {len(record)}")


# -- typing the columns as the in-process reader does ----------------------------------------------------------


def _kinds(part, cols) -> Any:
    """Per column of one partition: (values present, any missing, all canonical integers, all plain decimals)."""
    import numpy as np
    import pandas as pd

    from anonlab.io import _exact_ints, _infer_column

    rows = []
    for c in cols:
        s = part[c]
        uniq = pd.unique(s.dropna().to_numpy(dtype=object))
        strings = len(uniq) == 0 or pd.api.types.infer_dtype(uniq, skipna=False) == "string"
        ints = strings and len(uniq) > 0 and _exact_ints(uniq) is not None
        # the in-process float rule, decided by io itself: a plain decimal appended so that integers take the
        # float branch; the column comes back float exactly when every value passes that rule
        floats = (
            strings
            and len(uniq) > 0
            and _infer_column(pd.Series(np.append(uniq, "0.5"), dtype=object)).dtype.kind == "f"
        )
        rows.append((c, len(uniq), bool(s.isna().any()), bool(ints), bool(floats), bool(strings)))
    return pd.DataFrame(rows, columns=["column", "values", "missing", "ints", "floats", "strings"])


def _decide(kinds) -> dict[str, tuple[str, bool]]:
    """Each column's type over all partitions: int (with missing values: nullable), float, or text."""
    out = {}
    for c, g in kinds.groupby("column", sort=False):
        present = g[g["values"] > 0]
        missing = bool(g["missing"].any())
        if len(present) == 0 or not present["strings"].all():
            kind = _TEXT
        elif present["ints"].all():
            kind = _INT
        elif present["floats"].all():
            kind = _FLOAT
        else:
            kind = _TEXT
        out[c] = (kind, missing)
    return out


def _convert(part, decided):
    import numpy as np
    import pandas as pd

    from anonlab.io import _exact_ints

    part = part.copy()
    for c, (kind, missing) in decided.items():
        if kind == _TEXT:
            continue
        codes, uniq = pd.factorize(part[c], use_na_sentinel=True)
        if kind == _INT:
            ints = _exact_ints(np.asarray(uniq, dtype=object)) if len(uniq) else np.zeros(0, dtype=np.int64)
            values = np.append(ints, 0)[codes]
            part[c] = pd.arrays.IntegerArray(values, codes < 0) if missing else values
        else:
            floats = pd.to_numeric(pd.Series(uniq, dtype=object)).to_numpy(dtype=float)
            part[c] = np.append(floats, np.nan)[codes]
    return part


def _infer(ddf, cols):
    import pandas as pd

    if not cols:
        return ddf
    kinds = ddf.map_partitions(
        _kinds,
        cols,
        meta=pd.DataFrame(
            {"column": pd.Series(dtype=object), "values": pd.Series(dtype="int64")}
            | {k: pd.Series(dtype=bool) for k in ("missing", "ints", "floats", "strings")}
        ),
    ).compute()
    decided = {c: v for c, v in _decide(kinds).items() if v[0] != _TEXT}
    if not decided:
        return ddf
    meta = ddf._meta.copy()
    for c, (kind, missing) in decided.items():
        meta[c] = pd.Series(dtype="Int64" if kind == _INT and missing else "int64" if kind == _INT else float)
    return ddf.map_partitions(_convert, decided, meta=meta)


# -- writing a folder of Parquet parts --------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    from anonlab.io import _pid_alive as alive

    return alive(pid)


def _remove_stale_staging(folder: Path, name: str) -> None:
    prefix = f".{name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            n = entry.name
            if not (n.startswith(prefix) and n.endswith((".tmp", ".old"))) or not entry.is_dir():
                continue
            middle = n[len(prefix) : -4].split(".")
            if len(middle) == 2 and middle[0].isdigit() and not _pid_alive(int(middle[0])):
                shutil.rmtree(folder / n, ignore_errors=True)


def _replaceable(path: Path) -> bool:
    """An existing folder that holds only Parquet parts (what :func:`write_parquet` writes): ``force`` may
    replace it. Anything else is never removed."""
    try:
        names = os.listdir(path)
    except OSError:
        return False
    return all(n.lower().endswith((".parquet", ".pq")) or n in _PARQUET_META for n in names)


def write_parquet(ddf, path: str | os.PathLike, force: bool = False, also: Sequence[Any] = ()) -> Any:
    """Write ``ddf`` as a folder of Parquet parts (``part.00000.parquet``...) at ``path``, atomically.

    An existing ``path`` is refused unless ``force``; with ``force`` only a folder of Parquet parts (or a file) is
    replaced, never a folder holding anything else. Raises :class:`OutputExistsError` / :class:`OutputError`.
    ``also``: other Dask collections computed in the same pass (sharing its reading of the table); their values
    are returned as a list. Without ``also``, returns ``path``.
    """
    import dask

    with staged_folder(path, force) as staging:
        write = ddf.to_parquet(
            str(staging),
            write_index=False,
            name_function=lambda i: f"part.{i:05d}.parquet",
            overwrite=False,
            compute=False,
        )
        with (
            warnings.catch_warnings()
        ):  # delayed beside the writer's expression: materialized together, as meant
            warnings.filterwarnings("ignore", message="Computing mixed collections", category=UserWarning)
            _, *values = dask.compute(write, *also)
    return list(values) if also else Path(path)


@contextlib.contextmanager
def staged_folder(path: str | os.PathLike, force: bool = False):
    """A hidden staging folder beside ``path`` (a name ending ``.parquet``) to write Parquet parts into; on a
    clean exit it takes ``path``'s name in one rename (replacing, with ``force``, only a folder of Parquet parts or
    a file), on an error it is removed. The checks of :func:`write_parquet` run on entry."""
    import secrets

    from anonlab.io import ensure_folder, table_format

    path = Path(path)
    if table_format(path) != "parquet":
        raise UsageError(
            f"{path}: a distributed output is a folder of Parquet files: give a name ending .parquet"
        )
    _check_replaceable(path, force)
    parent = path.absolute().parent
    ensure_folder(parent)
    _remove_stale_staging(parent, path.name)
    staging = parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        staging.mkdir()
        yield staging
        _check_replaceable(path, force)  # something may have appeared meanwhile
        if path.exists():
            old = parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.old"
            os.rename(path, old)
            os.rename(staging, path)
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink()
        else:
            os.rename(staging, path)  # one step: the folder appears complete or not at all
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or type(exc).__name__}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _check_replaceable(path: Path, force: bool) -> None:
    if path.exists() or path.is_symlink():
        if not force:
            raise OutputExistsError(f"{path}: exists; refusing to overwrite it (use --force)")
        if path.is_symlink() or not (path.is_file() or (path.is_dir() and _replaceable(path))):
            raise OutputError(
                f"{path}: exists and is not a folder of Parquet parts; not replaced, even with force"
            )
