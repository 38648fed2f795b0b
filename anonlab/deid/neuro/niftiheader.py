"""NIfTI headers without free text: ``descrip``, ``aux_file``, ``intent_name`` (and NIfTI-1's legacy ``db_name``,
``data_type``) emptied and header extensions removed, voxel bytes untouched.

Converters put what they like in these fields: dcm2niix writes the echo time and the acquisition time of day into
``descrip``, other tools a file name, a patient name or a whole DICOM header as an extension. The header is parsed
with nibabel, its text fields emptied, and written back at the same size; the extension flag is zeroed and the
space up to ``vox_offset`` filled with zeros, so the voxel data starts where it did and is copied byte for byte.
A gzip copy is written without a file name or a time stamp in its own header.
"""

from __future__ import annotations

import gzip
import os
import shutil
import struct
from pathlib import Path

from anonlab.errors import InputError

__all__ = ["TEXT_FIELDS", "header_findings", "clean_nifti", "read_header"]

#: Header fields that hold free text.
TEXT_FIELDS = ("descrip", "aux_file", "intent_name", "db_name", "data_type")


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def read_header(fh, source: str):
    """The NIfTI-1 or NIfTI-2 header at the start of ``fh`` (with its extensions), by nibabel."""
    import nibabel as nib

    start = fh.read(4)
    if len(start) < 4:
        raise InputError(f"{source}: not a NIfTI file (too short)")
    sizes = {struct.unpack("<i", start)[0], struct.unpack(">i", start)[0]}
    klass = nib.Nifti1Header if 348 in sizes else nib.Nifti2Header if 540 in sizes else None
    if klass is None:
        raise InputError(f"{source}: not a NIfTI-1 or NIfTI-2 file")
    fh.seek(0)
    try:
        return klass.from_fileobj(fh, check=False)
    except Exception as exc:  # nibabel's HeaderDataError and struct errors on a cut file
        raise InputError(f"{source}: cannot read the NIfTI header: {type(exc).__name__}") from None


def header_findings(header) -> list[str]:
    """Names of the text fields that are not empty, and ``extensions`` when the header carries any."""
    found = [f for f in TEXT_FIELDS if f in header and bytes(header[f]).strip(b"\x00 ")]
    if len(header.extensions):
        found.append("extensions")
    return found


def clean_nifti(src: str | os.PathLike, dst: str | os.PathLike, *, compress: bool | None = None) -> list[str]:
    """Copy the single-file NIfTI ``src`` to ``dst`` with empty text fields and no extensions; returns what was
    cleared (field names, ``extensions``). Voxel bytes are copied unchanged. ``compress``: gzip the output
    (default: when ``dst`` ends in ``.gz``); the gzip header holds no file name and time 0."""
    src, dst = Path(src), Path(dst)
    with _open(src) as fh:
        hdr = read_header(fh, str(src))
        vox = int(hdr["vox_offset"])
        size = hdr.sizeof_hdr
        if vox < size + 4:
            raise InputError(
                f"{src}: a NIfTI header pair (.hdr/.img) or a bad vox_offset; give a single .nii file"
            )
        cleared = header_findings(hdr)
        for f in TEXT_FIELDS:
            if f in hdr:
                hdr[f] = b""
        block = hdr.binaryblock
        fh.seek(vox)
        gz = dst.name.endswith(".gz") if compress is None else compress
        with open(dst, "wb") as raw:
            out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if gz else raw
            try:
                out.write(block)
                out.write(b"\x00" * (vox - len(block)))  # extension flag 0, no extensions
                shutil.copyfileobj(fh, out, 1 << 20)
            finally:
                if gz:
                    out.close()
    return cleared
