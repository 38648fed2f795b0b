"""Cleaning text burned into DICOM pixels: known regions first, then OCR, then a second OCR pass that must pass.

An image that may show identifying text in its pixels (:mod:`anonlab.deid.dicom.burnedin`) is withheld from a
release unless it can be cleaned here. :class:`PixelCleaner` does, for one dataset, before its attributes are
de-identified (the rules read Manufacturer and model, which the profile removes):

1. **Known regions.** The pixel-cleaning filter rules that the DICOM community keeps per manufacturer and model
   (CTP's, as shipped in pydicom's ``deid`` package, MIT) say where devices burn names and dates: each rule that
   matches the file's attributes blanks its rectangles. Each rule applied is recorded.
2. **OCR.** The text detector of ``rapidocr-onnxruntime`` (PP-OCRv3, ONNX models inside the wheel) finds the
   remaining text in every frame; with ``ocr_policy="all"`` every region with text is blanked, with
   ``"identifying"`` only those whose text the recogniser reads as identifying (see :data:`IDENTIFYING`) or cannot
   read with confidence.
3. **Check.** A second OCR pass over every cleaned frame must find nothing to blank; otherwise the regions it
   finds are blanked and it runs once more. Only an image that passes is written, with ``BurnedInAnnotation NO``;
   one that fails, or cannot be decoded or re-encoded, or has more than ``max_frames`` frames, is withheld with
   the reason.

Blanked pixels take the darkest value the image can show (the minimum stored value for MONOCHROME2, the maximum
for MONOCHROME1, black for colour). Nothing else changes: an image with nothing to blank keeps its pixel data
bytes. A cleaned image keeps its transfer syntax where pydicom can re-encode it (uncompressed, RLE Lossless);
others (JPEG, JPEG-LS, JPEG 2000) are written uncompressed (Explicit VR Little Endian), which loses nothing of
what was decoded; the outcome says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["OCR_POLICIES", "IDENTIFYING", "PixelCleaner", "PixelOutcome"]

OCR_POLICIES = ("all", "identifying")

#: What ``ocr_policy="identifying"`` treats as identifying: dates, long digit runs, identifiers mixing letters and
#: digits, names written as DICOM person names or "Last, First", and the patient's own names, IDs and dates from
#: the file's attributes. All are matched case-insensitively.
IDENTIFYING = (
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}",  # dates
    r"\d{5,}",  # record numbers, phone numbers
    r"\b(?=\w*\d)(?=\w*[A-Za-z])\w{6,}\b",  # identifiers mixing letters and digits
    r"[A-Za-z]+\^[A-Za-z]+",  # DICOM person names
    r"\b[A-Z][a-z]+, [A-Z][a-z]+",  # Last, First
    r"\b(name|patient|pat|dob|birth|mrn|id|acc)\b",  # labels of identifying fields
)

_FEATURE = "DICOM pixel cleaning"
_DETECT_SIDE = (
    1280  # larger frames are scaled down for text detection (burned-in text stays legible at this size)
)


@dataclass
class PixelOutcome:
    """What :meth:`PixelCleaner.clean` did to one dataset.

    cleaned : the image passed the check and ``BurnedInAnnotation`` is now ``NO``.
    reason : why not (the image must stay withheld).
    rules : the filter rules applied (their group and conditions, never the file's values).
    regions : rectangles blanked ``(frame, x0, y0, x1, y1)``, by rules and by OCR.
    transfer_syntax : a note when the transfer syntax changed.
    """

    cleaned: bool = False
    reason: str | None = None
    rules: list[str] = field(default_factory=list)
    regions: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    ocr_regions: int = 0
    frames: int = 0
    transfer_syntax: str | None = None

    def to_dict(self) -> dict:
        return {
            "cleaned": self.cleaned,
            "reason": self.reason,
            "rules": self.rules,
            "regions_blanked": len(self.regions),
            "ocr_regions": self.ocr_regions,
            "frames": self.frames,
            "transfer_syntax": self.transfer_syntax,
        }


class PixelCleaner:
    """Cleans burned-in text from one dataset at a time (see the module docstring).

    ocr_policy : ``"all"`` blanks every region where OCR finds text (the default: safest, also removes harmless
        labels such as ``L`` or ``5 cm``); ``"identifying"`` blanks only text read as identifying, or not read with
        confidence.
    max_frames : images with more frames than this are withheld (OCR costs about 0.1-0.5 s per frame and pass).
    rules : apply the deid filter rules before OCR.
    """

    def __init__(self, ocr_policy: str = "all", max_frames: int = 200, rules: bool = True) -> None:
        from anonlab.errors import UsageError

        if ocr_policy not in OCR_POLICIES:
            raise UsageError(f"ocr_policy={ocr_policy!r} is not one of {', '.join(OCR_POLICIES)}")
        if max_frames < 1:
            raise UsageError(f"max_frames={max_frames} must be at least 1")
        self.ocr_policy, self.max_frames, self.use_rules = ocr_policy, max_frames, rules
        self._ocr = None
        self._recipe = None

    def __repr__(self) -> str:
        return f"PixelCleaner(ocr_policy={self.ocr_policy!r}, max_frames={self.max_frames})"

    # -- engines, loaded on first use --------------------------------------------------------------------------------

    def _engine(self):
        if self._ocr is None:
            import contextlib
            import io

            from anonlab.errors import require_extra

            require_extra("media", "rapidocr_onnxruntime", _FEATURE)
            from rapidocr_onnxruntime import RapidOCR

            with contextlib.redirect_stdout(io.StringIO()):
                self._ocr = RapidOCR()
        return self._ocr

    def _rules(self, ds) -> tuple[list[str], list[tuple[int, list]]]:
        """The deid filter rules that match ``ds``: descriptions, and (mask value, rectangle) pairs in order."""
        from anonlab.errors import require_extra

        require_extra("media", "deid", _FEATURE)
        import logging

        from deid.config import DeidRecipe
        from deid.dicom.pixels.detect import has_burned_pixels

        logging.getLogger("deid").setLevel(logging.ERROR)
        if self._recipe is None:
            self._recipe = DeidRecipe("dicom")
        found = has_burned_pixels(ds, deid=self._recipe)
        rules, coords = [], []
        for item in found.get("results", []):
            if item.get("group") == "whitelist":
                continue
            reason = re.sub(r"\s+", " ", str(item.get("reason", ""))).strip()
            boxes = []
            for value, spec in item.get("coordinates", []):
                for c in spec if isinstance(spec, list) else [spec]:
                    boxes.append(c)
                    coords.append((int(value), c))
            rules.append(
                f"{item.get('group')}: {reason}" + (f" -> {', '.join(boxes)}" if boxes else " (no region)")
            )
        return rules, coords

    # -- the steps ---------------------------------------------------------------------------------------------------

    def clean(self, ds, terms=()) -> PixelOutcome:
        """Clean ``ds`` in place; ``terms`` are the patient's identifying strings (for ``"identifying"``)."""
        import numpy as np

        out = PixelOutcome()
        if "PixelData" not in ds:
            out.reason = "no pixel data to clean (an encapsulated document or a non-image object)"
            return out
        try:
            arr = ds.pixel_array
        except Exception as exc:  # a codec pydicom lacks, damaged data
            out.reason = f"pixel data could not be decoded: {type(exc).__name__}"
            return out
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        stack = arr if frames > 1 else arr[np.newaxis]
        out.frames = frames
        if frames > self.max_frames:
            out.reason = f"{frames} frames: more than max_frames={self.max_frames} to check"
            return out
        photometric = str(ds.get("PhotometricInterpretation", "")).upper()
        dark = _dark_value(stack, photometric, samples)
        stack = stack.copy()
        h, w = stack.shape[1:3]
        if self.use_rules:
            rules, coords = self._rules(ds)
            out.rules = rules
            mask = np.ones((h, w), bool)
            for value, c in coords:
                x0, y0, x1, y1 = (0, 0, w, h) if c.lower() == "all" else (int(v) for v in c.split(","))
                mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = bool(value)
            if not mask.all():
                stack[:, ~mask] = dark
                ys, xs = np.nonzero(~mask)
                out.regions.append((-1, int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
        pattern = _identifying(terms) if self.ocr_policy == "identifying" else None
        every = range(frames)
        sample = sorted({0, frames // 2, frames - 1})
        for attempt in range(3):  # clean, then check (and clean what the check finds, once)
            # static overlays: a cine's first pass reads three frames and blanks what they show in every frame;
            # the check passes read every frame
            scan = sample if attempt == 0 and frames > 3 else every
            found = [(f, box) for f in scan for box in self._text_boxes(stack[f], photometric, pattern)]
            if not found:
                if attempt == 0 and scan is sample:
                    continue
                break
            if attempt == 2:
                out.reason = f"text still found after cleaning ({len(found)} regions in the check pass)"
                return out
            for f, (x0, y0, x1, y1) in found:
                if scan is sample:
                    stack[:, y0:y1, x0:x1] = dark
                else:
                    stack[f, y0:y1, x0:x1] = dark
                out.regions.append((-1 if scan is sample else f, x0, y0, x1, y1))
            out.ocr_regions += len(found)
        if out.regions:
            try:
                out.transfer_syntax = _store(ds, stack if frames > 1 else stack[0], samples)
            except Exception as exc:
                out.reason = f"cleaned pixels could not be encoded: {type(exc).__name__}"
                return out
        ds.BurnedInAnnotation = "NO"
        out.cleaned = True
        return out

    def _text_boxes(self, frame, photometric: str, pattern) -> list[tuple[int, int, int, int]]:
        """Rectangles (x0, y0, x1, y1) around the text OCR finds in one frame (all of it, or the identifying)."""
        import cv2
        import numpy as np

        engine = self._engine()
        img = _display(frame, photometric)
        h, w = frame.shape[:2]
        scale = min(1.0, _DETECT_SIDE / max(h, w))  # large radiographs: detect on a smaller picture
        small = (
            img
            if scale == 1.0
            else cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        )
        boxes, _ = engine.text_detector(small)
        if boxes is None or len(boxes) == 0:
            return []
        rects = []
        for quad in boxes:
            q = np.asarray(quad, dtype=float) / scale
            pad = max(2.0, 0.2 * (q[:, 1].max() - q[:, 1].min()))  # the detector's box hugs the glyphs
            x0, y0 = int(max(0, np.floor(q[:, 0].min() - pad))), int(max(0, np.floor(q[:, 1].min() - pad)))
            x1, y1 = int(min(w, np.ceil(q[:, 0].max() + pad))), int(min(h, np.ceil(q[:, 1].max() + pad)))
            if x1 > x0 and y1 > y0:
                rects.append((x0, y0, x1, y1))
        if pattern is None:
            return rects
        crops = [img[y0:y1, x0:x1] for x0, y0, x1, y1 in rects]
        read, _ = engine.text_recognizer(crops)
        return [
            r for r, (text, score) in zip(rects, read, strict=True) if score < 0.5 or pattern.search(text)
        ]


def _identifying(terms) -> re.Pattern:
    words = sorted({t.strip() for t in terms if len(t.strip()) >= 3}, key=len, reverse=True)
    parts = list(IDENTIFYING) + [re.escape(t) for t in words]
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


def _dark_value(stack, photometric: str, samples: int):
    if samples > 1:
        return 0
    return stack.max() if photometric == "MONOCHROME1" else stack.min()


def _display(frame, photometric: str):
    """An 8-bit RGB picture of one frame for OCR: stored values stretched to 0-255 (MONOCHROME1 inverted)."""
    import numpy as np

    f = frame.astype(np.float32)
    lo, hi = float(f.min()), float(f.max())
    img = np.zeros(f.shape, np.uint8) if hi <= lo else ((f - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    if photometric == "MONOCHROME1":
        img = 255 - img
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, ::-1])  # rapidocr expects OpenCV's BGR order


def _store(ds, arr, samples: int) -> str | None:
    """Put ``arr`` back as the pixel data; re-encode to the original transfer syntax where pydicom can (RLE),
    else uncompressed. Returns a note when the transfer syntax changed."""
    from pydicom.uid import ExplicitVRLittleEndian, RLELossless

    before = ds.file_meta.TransferSyntaxUID
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if samples > 1:
        photometric = "RGB"  # pydicom decodes YBR to RGB
    ds.set_pixel_data(arr, photometric, int(ds.BitsStored))
    if before == RLELossless:
        ds.compress(RLELossless)
        return None
    if before.is_compressed:
        return f"{before.name} -> {ExplicitVRLittleEndian.name} (pydicom cannot re-encode {before.name})"
    if ds.file_meta.TransferSyntaxUID != before:
        return f"{before.name} -> {ds.file_meta.TransferSyntaxUID.name}"
    return None
