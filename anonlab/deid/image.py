"""Stripping identifying metadata from photos: EXIF (GPS, serial numbers, owner, maker notes), XMP, IPTC, comments.

A photo's metadata often says more than its pixels: where it was taken (GPS), with which camera (body and lens serial
numbers, which link every photo of one owner), by whom (owner, artist, copyright) and when. This module removes all
of it and keeps the pixels exactly:

- JPEG: segments are dropped at byte level; the compressed image data is copied, never re-encoded. Kept: JFIF
  (APP0), Adobe (APP14, needed for colour decoding), ICC colour profiles (APP2 ``ICC_PROFILE``), and the tables and
  scans. Dropped: EXIF and XMP (APP1), IPTC/Photoshop (APP13), FlashPix, MPF preview images and every other APPn,
  comments (COM) and anything after the end-of-image marker.
- PNG: chunks are dropped at byte level. Kept: the image chunks and those that change how it is rendered
  (transparency, gamma, chromaticities, sRGB, ICC profile, significant bits, physical size, background, animation).
  Dropped: text (tEXt, zTXt, iTXt, which carry XMP too), eXIf, tIME and any unknown chunk.
- WebP: EXIF and XMP chunks are dropped and the VP8X flags and RIFF size fixed; image chunks are copied.
- TIFF: the metadata lives in the same directory as the image layout, so the image is rewritten by Pillow with only
  the tags the pixels need, losslessly (same pixels, same compression where Pillow can write it).

Orientation is kept: where the original says the image is rotated or mirrored, a minimal EXIF block holding only
that one tag is written back (JPEG, PNG, WebP), or the rotation is applied to the pixels (TIFF).
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from anonlab.errors import InputError, UsageError

__all__ = ["StripReport", "StripResult", "strip_image", "strip_path", "SUFFIXES"]

SUFFIXES = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}

# EXIF tags worth naming in a report (values are never reported)
_NAMED_TAGS = {
    0x010F: "Make",
    0x0110: "Model",
    0x0131: "Software",
    0x0132: "DateTime",
    0x013B: "Artist",
    0x8298: "Copyright",
    0x9003: "DateTimeOriginal",
    0x927C: "MakerNote",
    0x9286: "UserComment",
    0xA420: "ImageUniqueID",
    0xA430: "CameraOwnerName",
    0xA431: "BodySerialNumber",
    0xA435: "LensSerialNumber",
    0x010E: "ImageDescription",
    0xC62F: "CameraSerialNumber",
}


@dataclass(frozen=True)
class StripReport:
    """What was removed from one photo.

    removed : kinds of metadata removed (``EXIF``, ``XMP``, ``IPTC``, ``comment``, ``text``, ``trailer`` ...).
    exif_tags : names of notable EXIF tags that were present (``GPSInfo``, ``BodySerialNumber``...), never values.
    orientation : the EXIF orientation kept (1 = upright, or none found).
    """

    input: str
    output: str
    format: str
    removed: tuple[str, ...] = ()
    exif_tags: tuple[str, ...] = ()
    orientation: int = 1
    bytes_in: int = 0
    bytes_out: int = 0

    def to_dict(self) -> dict:
        return {
            "input": self.input,
            "output": self.output,
            "format": self.format,
            "removed": list(self.removed),
            "exif_tags": list(self.exif_tags),
            "orientation_kept": self.orientation,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
        }

    def _repr_html_(self) -> str:
        return StripResult([self])._repr_html_()


@dataclass
class StripResult:
    """The photos stripped and the files skipped in one run."""

    stripped: list[StripReport] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        from anonlab import __version__

        return {
            "anonlab_version": __version__,
            "stripped": [r.to_dict() for r in self.stripped],
            "skipped": self.skipped,
        }

    def _repr_html_(self) -> str:
        from anonlab.deid.report import html_table

        rows = [
            (f"{r.input} -> {r.output}", f"{r.format}: removed {', '.join(r.removed) or 'nothing'}"
             + (f" (EXIF held {', '.join(r.exif_tags)})" if r.exif_tags else ""))
            for r in self.stripped
        ]  # fmt: skip
        rows += [(f"skipped {s['input']}", s["reason"]) for s in self.skipped]
        notes = ["pixels themselves can identify (faces, badges, screens): not examined"]
        return html_table(
            f"{len(self.stripped)} photos stripped, {len(self.skipped)} files skipped", rows, notes
        )


# -- EXIF inspection -------------------------------------------------------------------------------------------------


def _exif_summary(path: Path) -> tuple[tuple[str, ...], int]:
    """Names of notable EXIF tags present, and the orientation (1 when absent)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            exif = im.getexif()
            names = []
            if exif.get_ifd(0x8825) or 0x8825 in exif:
                names.append("GPSInfo")
            sub = exif.get_ifd(0x8769)
            for tag, name in _NAMED_TAGS.items():
                if tag in exif or tag in sub:
                    names.append(name)
            orientation = int(exif.get(0x0112, 1) or 1)
    except Exception:
        return (), 1
    return tuple(names), orientation if 1 <= orientation <= 8 else 1


def _orientation_tiff(orientation: int) -> bytes:
    """A minimal big-endian TIFF structure holding one IFD entry: Orientation."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    return b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + struct.pack(">I", 0)


# -- JPEG ------------------------------------------------------------------------------------------------------------

_JPEG_KEEP_APP = {0xE0: None, 0xEE: None}  # APP0 JFIF, APP14 Adobe


def _jpeg_kind(marker: int, payload: bytes) -> str:
    if marker == 0xE1:
        if payload.startswith(b"Exif\x00"):
            return "EXIF"
        if payload.startswith(b"http://ns.adobe.com/"):
            return "XMP"
        return "APP1"
    if marker == 0xED:
        return "IPTC"
    if marker == 0xFE:
        return "comment"
    if marker == 0xE2:
        if payload.startswith(b"MPF\x00"):
            return "MPF preview images"
        if payload.startswith(b"FPXR"):
            return "FlashPix"
        return "APP2"
    return f"APP{marker - 0xE0}"


def _scan_end(data: bytes, i: int) -> int:
    """Where the entropy-coded data that starts at ``i`` ends: the next real marker (not a stuffed ``FF 00``,
    a restart marker or fill bytes)."""
    n = len(data)
    j = i
    while True:
        j = data.find(b"\xff", j)
        if j < 0 or j + 1 >= n:
            raise ValueError("scan data runs to the end of the file without an end-of-image marker")
        nxt = data[j + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
            j += 1 if nxt == 0xFF else 2
            continue
        return j


def _dropped_kind(marker: int, payload: bytes) -> str | None:
    """The kind of metadata a segment holds when it is to be dropped (comments, APPn other than JFIF / Adobe),
    else None (kept: image data, tables, colour profiles)."""
    is_app = 0xE0 <= marker <= 0xEF
    if marker != 0xFE and not (is_app and marker not in _JPEG_KEEP_APP):
        return None
    if marker == 0xE2 and payload.startswith(b"ICC_PROFILE\x00"):
        return None
    return _jpeg_kind(marker, payload)


def _strip_jpeg(data: bytes, orientation: int) -> tuple[bytes, list[str]]:
    if data[:2] != b"\xff\xd8":
        raise ValueError("no JPEG start-of-image marker")
    out = [b"\xff\xd8"]
    removed: list[str] = []
    i, n = 2, len(data)
    inserted = orientation == 1
    while i < n:
        if data[i] != 0xFF:
            raise ValueError(f"bad marker at byte {i}")
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        marker = data[i]
        i += 1
        if marker == 0xD9:  # EOI
            out.append(b"\xff\xd9")
            if i < n:
                removed.append("trailer after end of image")
            return b"".join(out), removed
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(bytes((0xFF, marker)))
            continue
        length = int.from_bytes(data[i : i + 2], "big")
        if length < 2 or i + length > n:
            raise ValueError(f"segment runs past the end at byte {i}")
        payload, segment = data[i + 2 : i + length], data[i - 2 : i + length]
        i += length
        kind = _dropped_kind(marker, payload)
        if kind is not None:
            if kind not in removed:
                removed.append(kind)
            continue
        if not inserted and marker != 0xE0:
            body = b"Exif\x00\x00" + _orientation_tiff(orientation)
            out.append(b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body)
            inserted = True
        out.append(segment)
        if marker == 0xDA:  # start of scan: copy entropy-coded data up to the next real marker
            j = _scan_end(data, i)
            out.append(data[i:j])
            i = j
    raise ValueError("no end-of-image marker")


# -- PNG -------------------------------------------------------------------------------------------------------------

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"iCCP",
    b"sBIT",
    b"pHYs",
    b"bKGD",
    b"acTL",
    b"fcTL",
    b"fdAT",
    b"cICP",
    b"mDCv",
    b"cLLi",
}
_PNG_KIND = {
    b"tEXt": "text",
    b"zTXt": "text",
    b"iTXt": "text (XMP or international)",
    b"eXIf": "EXIF",
    b"tIME": "modification time",
}


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def _strip_png(data: bytes, orientation: int) -> tuple[bytes, list[str]]:
    if not data.startswith(_PNG_SIG):
        raise ValueError("no PNG signature")
    out = [_PNG_SIG]
    removed: list[str] = []
    i = len(_PNG_SIG)
    while i + 8 <= len(data):
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > len(data):
            raise ValueError(f"chunk {kind!r} runs past the end")
        if kind in _PNG_KEEP:
            if kind == b"IDAT" and orientation != 1:
                out.append(_png_chunk(b"eXIf", _orientation_tiff(orientation)))
                orientation = 1
            out.append(data[i:end])
        else:
            label = _PNG_KIND.get(kind, f"chunk {kind.decode('latin-1')}")
            if label not in removed:
                removed.append(label)
        i = end
        if kind == b"IEND":
            if i < len(data):
                removed.append("trailer after end of image")
            break
    return b"".join(out), removed


# -- WebP ------------------------------------------------------------------------------------------------------------


def _strip_webp(data: bytes, orientation: int) -> tuple[bytes, list[str]]:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("no RIFF WEBP header")
    chunks = []
    removed: list[str] = []
    i = 12
    end = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    while i + 8 <= end:
        kind = data[i : i + 4]
        size = int.from_bytes(data[i + 4 : i + 8], "little")
        stop = i + 8 + size + (size & 1)
        if kind in (b"EXIF", b"XMP "):
            removed.append("EXIF" if kind == b"EXIF" else "XMP")
        else:
            chunks.append([kind, bytearray(data[i + 8 : i + 8 + size])])
        i = stop
    if orientation != 1 and chunks and chunks[0][0] == b"VP8X":
        chunks.append([b"EXIF", bytearray(_orientation_tiff(orientation))])
    if chunks and chunks[0][0] == b"VP8X":
        flags = chunks[0][1][0] & ~0x0C
        if any(k == b"EXIF" for k, _ in chunks):
            flags |= 0x08
        chunks[0][1][0] = flags
    body = b"".join(
        k + struct.pack("<I", len(v)) + bytes(v) + (b"\x00" if len(v) & 1 else b"") for k, v in chunks
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body, removed


# -- TIFF ------------------------------------------------------------------------------------------------------------


def _transpose_table() -> dict:
    from PIL import Image

    T = Image.Transpose
    return {
        2: T.FLIP_LEFT_RIGHT,
        3: T.ROTATE_180,
        4: T.FLIP_TOP_BOTTOM,
        5: T.TRANSPOSE,
        6: T.ROTATE_270,
        7: T.TRANSVERSE,
        8: T.ROTATE_90,
    }


def _strip_tiff(path: Path, orientation: int) -> tuple[bytes, list[str]]:
    import io

    from PIL import Image, ImageSequence

    _TRANSPOSE = _transpose_table()
    removed: list[str] = []
    with Image.open(path) as im:
        tags = set(im.tag_v2.keys()) if hasattr(im, "tag_v2") else set()
        if 0x8769 in tags or 0x8825 in tags:
            removed.append("EXIF")
        if 700 in tags:
            removed.append("XMP")
        if 33723 in tags:
            removed.append("IPTC")
        if tags & {270, 271, 272, 305, 306, 315, 316, 33432}:
            removed.append(
                "descriptive tags (description, make, model, software, date, artist, host, copyright)"
            )
        compression = im.info.get("compression", "raw")
        frames = []
        for frame in ImageSequence.Iterator(im):
            f = frame.copy()
            if orientation != 1:
                f = f.transpose(_TRANSPOSE[orientation]) if orientation in _TRANSPOSE else f
            f.info = {}
            frames.append(f)
    buf = io.BytesIO()
    lossless = ("raw", "tiff_lzw", "tiff_adobe_deflate", "packbits", "group4", "group3", "tiff_deflate")
    kwargs = {"compression": compression if compression in lossless else "tiff_lzw"}
    if frames[0].mode != "1" and kwargs["compression"] in ("group3", "group4"):
        kwargs["compression"] = "tiff_lzw"
    if len(frames) > 1:
        frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:], **kwargs)
    else:
        frames[0].save(buf, format="TIFF", **kwargs)
    return buf.getvalue(), removed


# -- entry points ----------------------------------------------------------------------------------------------------


def _format_of(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(_PNG_SIG):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return None


def strip_image(src: str | os.PathLike, dst: str | os.PathLike, force: bool = False) -> StripReport:
    """Write ``src`` without identifying metadata to ``dst`` (atomically; refused if it exists unless ``force``).

    Raises :class:`InputError` for a file that is not a JPEG, PNG, TIFF or WebP, or is damaged.
    """
    from anonlab.io import write_bytes

    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    fmt = _format_of(src)
    if fmt is None:
        raise InputError(f"{src}: not a JPEG, PNG, TIFF or WebP image")
    exif_tags, orientation = _exif_summary(src)
    data = src.read_bytes()
    try:
        if fmt == "JPEG":
            out, removed = _strip_jpeg(data, orientation)
        elif fmt == "PNG":
            out, removed = _strip_png(data, orientation)
        elif fmt == "WEBP":
            out, removed = _strip_webp(data, orientation)
        else:
            out, removed = _strip_tiff(src, orientation)
            if orientation != 1:
                removed.append(f"orientation tag {orientation} (rotation applied to the pixels)")
            orientation = 1
    except (ValueError, OSError, SyntaxError) as exc:
        raise InputError(f"{src}: damaged {fmt} file ({exc})") from None
    if exif_tags and "EXIF" not in removed:
        removed.insert(0, "EXIF")
    write_bytes(dst, out, force=force)
    return StripReport(
        input=str(src),
        output=str(dst),
        format=fmt,
        removed=tuple(removed),
        exif_tags=exif_tags,
        orientation=orientation,
        bytes_in=len(data),
        bytes_out=len(out),
    )


def strip_path(src: str | os.PathLike, dst: str | os.PathLike, force: bool = False) -> StripResult:
    """Strip one photo, or every photo under a folder into ``dst`` (same relative paths; other files skipped)."""
    from anonlab.io import refuse_inside

    src, dst = Path(src), Path(dst)
    result = StripResult()
    if src.is_file():
        if dst.is_dir():
            dst = dst / src.name
        from anonlab.io import guard_outputs

        guard_outputs([dst], {"input": src})
        if dst.resolve() == src.resolve():
            raise UsageError(f"{dst}: the output must not be the input")
        result.stripped.append(strip_image(src, dst, force))
        return result
    if not src.is_dir():
        raise InputError(f"{src}: no such file or folder")
    refuse_inside(dst, src, "stripped photos", "the input folder")
    for p in sorted(q for q in src.rglob("*") if q.is_symlink() or q.is_file()):
        if p.is_symlink():  # never read through: it may point out of the input folder
            kind = "folder" if p.is_dir() else "file"
            result.skipped.append({"input": str(p), "reason": f"symbolic link (to a {kind}); not followed"})
            continue
        if _format_of(p) is None:
            result.skipped.append({"input": str(p), "reason": "not a JPEG, PNG, TIFF or WebP image"})
            continue
        try:
            result.stripped.append(strip_image(p, dst / p.relative_to(src), force))
        except InputError as exc:
            result.skipped.append({"input": str(p), "reason": str(exc).split(": ", 1)[-1]})
    return result
