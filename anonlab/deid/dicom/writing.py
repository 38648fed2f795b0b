"""Writing a de-identified dataset as a DICOM file, fast.

The profile touches a few dozen elements of a file; the rest, pixel data included, stay as pydicom read them
(undecoded raw elements). pydicom writes each raw element through its general element writer, which costs more than
the bytes themselves. :func:`write_file` writes unchanged top-level raw elements directly (tag, VR, length, the
bytes as read) and hands every other element to pydicom's own writer, so the output is byte for byte what
``pydicom.dcmwrite`` writes (a test checks this on every real test file). Anything unusual (a deflated transfer
syntax, an encoding or character set that differs from the one read, an incomplete meta header) goes to
``dcmwrite`` whole.
"""

from __future__ import annotations

import struct

__all__ = ["write_file"]

_LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
_DEFLATED = "1.2.840.10008.1.2.1.99"


def _pydicom_write(fh, ds, complete: bool) -> None:
    from pydicom.filewriter import dcmwrite

    start = fh.tell()
    try:
        # a fragment without SOP class or instance UID is written as it came, without a complete meta header
        dcmwrite(fh, ds, enforce_file_format=complete)
    except (TypeError, ValueError, AttributeError):
        # a file whose meta names another encoding than its body: decode every element, then write as the meta says
        for _ in ds.iterall():
            pass
        fh.seek(start)
        fh.truncate()
        dcmwrite(fh, ds, enforce_file_format=complete)


def write_file(fh, ds) -> None:
    """Write ``ds`` (with ``ds.file_meta``) as a DICOM Part 10 file to the open binary file ``fh``."""
    from pydicom.uid import UID

    meta = ds.file_meta
    complete = all(meta.get(k) for k in ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID"))
    ts = meta.get("TransferSyntaxUID")
    if not complete or ts is None or str(ts) == _DEFLATED:
        return _pydicom_write(fh, ds, complete)
    ts = UID(str(ts))
    if not ts.is_transfer_syntax or ts.is_private:
        return _pydicom_write(fh, ds, complete)
    encoding = (ts.is_implicit_VR, ts.is_little_endian)
    if encoding != tuple(ds.original_encoding) or ds.original_character_set != ds._character_set:
        return _pydicom_write(fh, ds, complete)
    if meta.get("MediaStorageSOPClassUID") != ds.get("SOPClassUID", meta.get("MediaStorageSOPClassUID")):
        return _pydicom_write(fh, ds, complete)

    start = fh.tell()
    try:
        _write_fast(fh, ds, meta, ts, encoding)
    except (TypeError, ValueError, AttributeError):
        # elements whose encoding differs from the one the file declares: pydicom decodes and re-encodes them
        fh.seek(start)
        fh.truncate()
        _pydicom_write(fh, ds, complete)


def _write_fast(fh, ds, meta, ts, encoding) -> None:
    from pydicom.filebase import DicomIO
    from pydicom.filewriter import write_data_element, write_file_meta_info

    implicit, little = encoding
    fp = DicomIO(fh)
    fp.is_implicit_VR, fp.is_little_endian = encoding
    preamble = getattr(ds, "preamble", None) or b"\x00" * 128
    fp.write(preamble)
    fp.write(b"DICM")
    write_file_meta_info(fp, meta, enforce_standard=True)
    if "PixelData" in ds:
        ds["PixelData"].is_undefined_length = ts.is_compressed
    charset = ds.get("SpecificCharacterSet", "iso8859")
    order = "<" if little else ">"
    tag_fmt = struct.Struct(order + "HH")
    ul = struct.Struct(order + "L")
    us = struct.Struct(order + "H")
    items = ds._dict
    for tag in sorted(items):
        if (tag & 0xFFFF) == 0 and (tag >> 16) > 6:
            continue  # retired group lengths are not written
        elem = items[tag]
        raw = getattr(elem, "is_raw", False)
        if (
            raw
            and elem.length != 0xFFFFFFFF
            and elem.is_implicit_VR == implicit
            and elem.is_little_endian == little
            and isinstance(elem.value, bytes)
            and (implicit or elem.VR)
        ):
            value = elem.value
            head = tag_fmt.pack(tag >> 16, tag & 0xFFFF)
            if implicit:
                head += ul.pack(len(value))
            elif elem.VR in _LONG_VRS:
                head += elem.VR.encode("ascii") + b"\x00\x00" + ul.pack(len(value))
            else:
                head += elem.VR.encode("ascii") + us.pack(len(value))
            fh.write(head)
            fh.write(value)
        else:
            write_data_element(fp, ds.get_item(tag), charset)
