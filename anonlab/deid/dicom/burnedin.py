"""Which images may carry identifying text burned into their pixels.

The profile cleans attributes, never pixels. An image whose BurnedInAnnotation is YES, or whose SOP class commonly
holds burned-in text (secondary capture, ultrasound, scanned and encapsulated documents) and whose flag does not
say NO, is withheld from a release until someone has reviewed or cleaned its pixels. So is an image without any SOP
Class UID, whose kind cannot be told.
"""

from __future__ import annotations

__all__ = ["RISKY_SOP_CLASSES", "burned_in_reason"]

RISKY_SOP_CLASSES: dict[str, str] = {
    "1.2.840.10008.5.1.4.1.1.7": "secondary capture",
    "1.2.840.10008.5.1.4.1.1.7.1": "multi-frame single bit secondary capture",
    "1.2.840.10008.5.1.4.1.1.7.2": "multi-frame grayscale byte secondary capture",
    "1.2.840.10008.5.1.4.1.1.7.3": "multi-frame grayscale word secondary capture",
    "1.2.840.10008.5.1.4.1.1.7.4": "multi-frame true color secondary capture",
    "1.2.840.10008.5.1.4.1.1.6": "ultrasound (retired)",
    "1.2.840.10008.5.1.4.1.1.6.1": "ultrasound",
    "1.2.840.10008.5.1.4.1.1.6.2": "enhanced ultrasound volume",
    "1.2.840.10008.5.1.4.1.1.6.3": "photoacoustic",
    "1.2.840.10008.5.1.4.1.1.3": "ultrasound multi-frame (retired)",
    "1.2.840.10008.5.1.4.1.1.3.1": "ultrasound multi-frame",
    "1.2.840.10008.5.1.4.1.1.104.1": "encapsulated PDF (scanned document)",
    "1.2.840.10008.5.1.4.1.1.104.2": "encapsulated CDA",
    "1.2.840.10008.5.1.4.1.1.77.1.1": "VL endoscopic",
    "1.2.840.10008.5.1.4.1.1.77.1.4": "VL photographic",
}


def burned_in_reason(ds) -> str | None:
    """Why ``ds`` may show identifying text in its pixels, or None. Reads the top level only."""
    flag = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    if flag == "YES":
        return "BurnedInAnnotation is YES"
    if flag == "NO":
        return None
    sop = str(ds.get("SOPClassUID", "") or "").strip()
    if not sop:
        meta = getattr(ds, "file_meta", None)
        sop = str(meta.get("MediaStorageSOPClassUID", "") or "").strip() if meta is not None else ""
    kind = RISKY_SOP_CLASSES.get(sop)
    if kind:
        return f"{kind} image without BurnedInAnnotation NO"
    if not sop and 0x7FE00010 in ds:
        return "image without a SOP Class UID (its kind cannot be told) and without BurnedInAnnotation NO"
    return None
