"""Finding DICOM files in a folder and reading them whole, or not at all.

A file is taken for DICOM when it has the Part 10 preamble (``DICM`` at byte 128) or, without one, starts with a
plausible group 0002 or 0008 element. A DICOM file is read whole: a value shorter than its declared length or a
sequence that ends before its delimiter marks the file as truncated, and nothing of it is released.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

__all__ = ["walk_files", "sniff", "read_whole", "NotDicom", "Unreadable", "DICOMDIR_SOP_CLASS"]

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"


class NotDicom(Exception):
    """The file is not DICOM (skipped, listed)."""


class Unreadable(Exception):
    """The file is DICOM but cannot be read whole (failed, listed)."""


def walk_files(folder: str | os.PathLike) -> Iterator[Path]:
    """Every regular file under ``folder``, in a stable (sorted) order; hidden names included, links not followed."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            if p.is_file() and not p.is_symlink():
                yield p


def sniff(head: bytes) -> bool:
    """Whether the first bytes of a file look like DICOM (with or without the Part 10 preamble)."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return True
    if len(head) < 8:
        return False
    for order in ("little", "big"):
        group = int.from_bytes(head[0:2], order)
        elem = int.from_bytes(head[2:4], order)
        if group in (0x0002, 0x0008) and elem < 0x0200:
            return True
    return False


def _check_whole(ds, size: int) -> None:
    for elem in ds._dict.values():
        length = getattr(elem, "length", None)
        value = getattr(elem, "value", None)
        if length is None or length == 0xFFFFFFFF or not isinstance(value, (bytes, bytearray)):
            continue
        if len(value) < length:
            raise Unreadable(f"truncated: element ({elem.tag.group:04X},{elem.tag.elem:04X}) is short")


def read_whole(path: Path):
    """Read a DICOM file completely. Raises :class:`NotDicom` or :class:`Unreadable`."""
    from anonlab.errors import require_extra

    pydicom = require_extra("dicom", "pydicom", "DICOM de-identification")
    from pydicom.errors import InvalidDicomError

    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
            if not sniff(head):
                raise NotDicom("not DICOM")
            fh.seek(0)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ds = pydicom.dcmread(fh, force=True)
            size = os.fstat(fh.fileno()).st_size
    except (NotDicom, Unreadable):
        raise
    except InvalidDicomError as exc:
        raise NotDicom(str(exc).splitlines()[0][:120]) from None
    except (OSError, EOFError) as exc:
        raise Unreadable(f"cannot read: {type(exc).__name__}") from None
    except (
        Exception
    ) as exc:  # pydicom raises many types on corrupt data; its message may quote values: not echoed
        raise Unreadable(f"corrupt: {type(exc).__name__}") from None
    for w in caught:
        text = str(w.message)
        if "End of file reached" in text or "truncated" in text.lower():
            raise Unreadable("truncated: the file ends inside a value or sequence")
    _check_whole(ds, size)
    return ds
