"""A table's content fingerprint: the SHA-256 of its CSV text, as the privacy ledger records it.

:func:`dataset_fingerprint` (re-exported by :mod:`anonlab.privacy.ledger`) is the hash of a tag and the table's
CSV text as pandas writes it (columns in sorted order, no index, ``\\n`` line ends). :func:`csv_text` builds that
text: byte for byte what ``DataFrame.to_csv`` writes, several times faster for the common column types (numbers,
booleans, text), with ``to_csv`` itself for any other. The definition has not changed since the first ledger
(``anonlab-dataset-v1``): old ledger entries and the replays of seeded releases, whose noise is keyed by this
fingerprint, keep matching. A partitioned table is fingerprinted by streaming each partition's text, in row order,
into one hash (:func:`anonlab.distributed.stats.fingerprint`): the same rows in the same order give the same
fingerprint however they are partitioned.

The fingerprint must never be published (see :func:`dataset_fingerprint`).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from anonlab.io import factorize_text

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["TAG", "csv_text", "dataset_fingerprint", "new_hash"]

#: What the hash reads before the table's text (names the definition).
TAG = b"anonlab-dataset-v1\n"
_QUOTE = (",", '"', "\n", "\r")  # the csv module's QUOTE_MINIMAL triggers for pandas' dialect


def new_hash():
    """The fingerprint's hash, fed with :data:`TAG`: update it with the table's :func:`csv_text` in row order."""
    return hashlib.sha256(TAG)


def dataset_fingerprint(df: pd.DataFrame) -> str:
    """A stable SHA-256 of a table's content (column names and values, columns in sorted order).

    Kept inside a ledger (the operator's own file) to warn when a release is computed from a table whose content
    differs from the last one charged. It reveals nothing readable, but anyone holding a candidate copy of the whole
    table (or all rows but one) can confirm a match, i.e. confirm membership: it must **never be published** (no
    release artifact, sidecar, report, ``--json`` or log line may carry it).
    """
    h = new_hash()
    h.update(csv_text(df))
    return h.hexdigest()


def csv_text(df: pd.DataFrame, header: bool = True) -> bytes:
    """``df`` (column names made text, columns in sorted order) as pandas writes it to CSV (``to_csv(index=False,
    header=header, lineterminator="\\n")``), UTF-8: the fingerprint's input. Columns of numbers, booleans and
    text are formatted here, each distinct value once (the same bytes, tested against ``to_csv``); a frame
    holding any other column type (dates, categoricals, mixed objects), one column only, or duplicate names is
    written by ``to_csv``."""
    frame = df.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    cols = sorted(frame.columns)
    frame = frame[cols]
    fields = _fields(frame) if len(cols) >= 2 and len(set(cols)) == len(cols) else None
    if fields is None:
        return frame.to_csv(index=False, header=header, lineterminator="\n").encode("utf-8")
    lines = map(",".join, zip(*fields, strict=True))
    head = [",".join(_quoted(c) for c in cols)] if header else []
    rows = len(frame)
    text = "\n".join([*head, *lines]) if rows else "\n".join(head)
    return (text + "\n").encode("utf-8") if (rows or header) else b""


def _quoted(v: str) -> str:
    if any(c in v for c in _QUOTE):
        return '"' + v.replace('"', '""') + '"'
    return v


def _fields(frame: pd.DataFrame) -> list[np.ndarray] | None:
    """Each column's CSV fields (an object array of text), or ``None`` when a column is of a type formatted only
    by ``to_csv``."""
    out = []
    for i in range(frame.shape[1]):
        f = _column_fields(frame.iloc[:, i])
        if f is None:
            return None
        out.append(f)
    return out


def _column_fields(s: pd.Series) -> np.ndarray | None:
    import numpy as np
    import pandas as pd

    dtype = s.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        # to_csv: the values as Python objects, written with str()
        codes, uniq = pd.factorize(s.to_numpy(), use_na_sentinel=True)
        text = np.asarray(uniq).astype(str).astype(object)
    elif isinstance(dtype, np.dtype) and dtype.kind == "f":
        # to_csv: values.astype(str), missing values empty; distinct by their bits (-0.0 is not 0.0)
        x = np.ascontiguousarray(s.to_numpy())
        codes, bits = pd.factorize(x.view(f"i{x.dtype.itemsize}"), use_na_sentinel=True)
        uniq = np.asarray(bits).view(x.dtype)
        text = uniq.astype(str).astype(object)
        text[np.isnan(uniq)] = ""
    elif isinstance(dtype, pd.StringDtype) or (
        dtype == np.dtype(object) and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")
    ):
        codes, uniq = factorize_text(s)  # whole values: to_csv writes "x\0y" whole
        text = np.array([_quoted(str(v)) for v in uniq], dtype=object)
    else:
        return None
    return np.append(text, "")[codes]  # code -1 (missing): the last, empty
