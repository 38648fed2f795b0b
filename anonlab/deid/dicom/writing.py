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
    from pydicom.filewriter import write_file_meta_info

    fp = DicomIO(fh)
    fp.is_implicit_VR, fp.is_little_endian = encoding
    preamble = getattr(ds, "preamble", None) or b"\x00" * 128
    fp.write(preamble)
    fp.write(b"DICM")
    write_file_meta_info(fp, meta, enforce_standard=True)
    if "PixelData" in ds:
        ds["PixelData"].is_undefined_length = ts.is_compressed
    _Writer(*encoding).dataset(fp, ds, ds.get("SpecificCharacterSet", "iso8859"))


class _Writer:
    """Writes datasets the way pydicom's ``write_dataset`` does, with raw elements copied straight through."""

    def __init__(self, implicit: bool, little: bool) -> None:
        order = "<" if little else ">"
        self.implicit, self.little = implicit, little
        self.tag = struct.Struct(order + "HH")
        self.ul = struct.Struct(order + "L")
        self.us = struct.Struct(order + "H")

    def dataset(self, fp, ds, charset) -> None:
        from pydicom.filewriter import write_data_element, write_dataset

        if tuple(ds.original_encoding) != (self.implicit, self.little) or (
            ds.original_character_set != ds._character_set
        ):
            write_dataset(fp, ds, parent_encoding=charset)  # pydicom re-encodes what must change
            return
        charset = ds.get("SpecificCharacterSet", charset)
        implicit, little = self.implicit, self.little
        items = ds._dict
        for tag in sorted(items):
            if (tag & 0xFFFF) == 0 and (tag >> 16) > 6:
                continue  # retired group lengths are not written
            elem = items[tag]
            if getattr(elem, "is_raw", False):
                if (
                    elem.length != 0xFFFFFFFF
                    and elem.is_implicit_VR == implicit
                    and elem.is_little_endian == little
                    and isinstance(elem.value, bytes)
                    and (implicit or elem.VR)
                ):
                    self._raw(fp, tag, elem.VR, elem.value)
                    continue
            elif elem.VR == "SQ" and not getattr(elem, "is_buffered", False):
                self._sequence(fp, tag, elem, charset)
                continue
            write_data_element(fp, ds.get_item(tag), charset)

    def _raw(self, fp, tag: int, vr, value: bytes) -> None:
        head = self.tag.pack(tag >> 16, tag & 0xFFFF)
        if self.implicit:
            head += self.ul.pack(len(value))
        elif vr in _LONG_VRS:
            head += vr.encode("ascii") + b"\x00\x00" + self.ul.pack(len(value))
        else:
            head += vr.encode("ascii") + self.us.pack(len(value))
        fp.write(head)
        fp.write(value)

    def _sequence(self, fp, tag: int, elem, charset) -> None:
        import io

        from pydicom.charset import convert_encodings
        from pydicom.filebase import DicomIO

        encodings = convert_encodings(charset or ["iso8859"])
        buf = DicomIO(io.BytesIO())
        buf.is_implicit_VR, buf.is_little_endian = self.implicit, self.little
        for item in elem.value:
            buf.write(self.tag.pack(0xFFFE, 0xE000))
            at = buf.tell()
            buf.write(self.ul.pack(0xFFFFFFFF))
            self.dataset(buf, item, encodings)
            if getattr(item, "is_undefined_length_sequence_item", False):
                buf.write(self.tag.pack(0xFFFE, 0xE00D) + self.ul.pack(0))
            else:
                end = buf.tell()
                buf.seek(at)
                buf.write(self.ul.pack(end - at - 4))
                buf.seek(end)
        value = buf.parent.getvalue()
        undefined = elem.is_undefined_length
        head = self.tag.pack(tag >> 16, tag & 0xFFFF)
        if not self.implicit:
            head += b"SQ\x00\x00"
        head += self.ul.pack(0xFFFFFFFF if undefined else len(value))
        fp.write(head)
        fp.write(value)
        if undefined:
            fp.write(self.tag.pack(0xFFFE, 0xE0DD) + self.ul.pack(0))
