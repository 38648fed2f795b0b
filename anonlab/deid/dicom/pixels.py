"""Cleaning text burned into DICOM pixels: known regions first, then OCR, then a check by other detectors.

An image that may show identifying text in its pixels (:mod:`anonlab.deid.dicom.burnedin`) is withheld from a
release unless it can be cleaned here. :class:`PixelCleaner` does, for one dataset, before its attributes are
de-identified (the rules read Manufacturer and model, which the profile removes):

1. **Known regions.** The pixel-cleaning filter rules that the DICOM community keeps per manufacturer and model
   (CTP's, as shipped in pydicom's ``deid`` package, MIT) say where devices burn names and dates: each rule that
   matches the file's attributes blanks its rectangles. Each rule applied is recorded.
2. **OCR.** The text detector of ``rapidocr-onnxruntime`` (PP-OCRv3, ONNX models inside the wheel) finds the
   remaining text in every frame (:data:`CLEAN_VIEWS`: the frame as shown, at lower thresholds than rapidocr's
   defaults);
   with ``ocr_policy="all"`` every region with text is blanked, with ``"identifying"`` only those whose text the
   recogniser reads as identifying (see :data:`IDENTIFYING`) or cannot read with confidence.
3. **Check.** Detectors that see differently from the cleaning pass look at every cleaned frame: the OCR
   detector on a view the cleaning pass does not use (:data:`CHECK_VIEWS`) and a classical text-line detector
   that is no OCR at all (:func:`text_lines`: rows of small, dense, stroke-like edge clusters). The check blanks
   nothing: if it finds anything (for ``"identifying"``: anything read as identifying or unreadable), the image
   is withheld. Only an image that passes is written, with ``BurnedInAnnotation NO``; one that fails, or cannot
   be decoded or re-encoded, or has more than ``max_frames`` frames, is withheld with the reason.

Blanked pixels take the darkest value the image can show (the minimum stored value for MONOCHROME2, the maximum
for MONOCHROME1, black for colour). Nothing else changes: an image with nothing to blank keeps its pixel data
bytes. A cleaned image keeps its transfer syntax where pydicom can re-encode it (uncompressed, RLE Lossless);
others (JPEG, JPEG-LS, JPEG 2000) are written uncompressed (Explicit VR Little Endian), which loses nothing of
what was decoded; the outcome says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "OCR_POLICIES",
    "IDENTIFYING",
    "CLEAN_VIEWS",
    "CHECK_VIEWS",
    "PixelCleaner",
    "PixelOutcome",
    "text_lines",
]

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

#: The views of a frame the cleaning pass's OCR detector looks at: (name, picture, resizing rule, pixel threshold,
#: box threshold). ``shown``: the frame as displayed, its shorter side enlarged to 736 (rapidocr's rule), at
#: thresholds below rapidocr's defaults (0.3, 0.5): for privacy a miss costs more than a blanked label.
CLEAN_VIEWS = (("shown", "shown", ("min", 736), 0.2, 0.3),)
#: The check's OCR view, one the cleaning pass does not use: ``inverted`` (contrast-stretched between the 1st and
#: 99.5th percentiles, inverted: dark text on light), at the frame's own resolution (never enlarged; reduced to
#: 1280 at most).
CHECK_VIEWS = (("inverted", "inverted", ("max", 1280), 0.2, 0.3),)

_CHECK_TALLEST = (
    0.12  # the check's OCR ignores boxes taller than this share of the frame (at least 48 pixels)
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
    check_found : what the check pass found, ``(frame, detector, x0, y0, x1, y1)``: empty when cleaned.
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
    check_found: list[tuple[int, str, int, int, int, int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "cleaned": self.cleaned,
            "reason": self.reason,
            "rules": self.rules,
            "regions_blanked": len(self.regions),
            "ocr_regions": self.ocr_regions,
            "frames": self.frames,
            "transfer_syntax": self.transfer_syntax,
            "check_found": len(self.check_found),
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
        self._detectors: dict = {}
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

    def _detector(self, view):
        """rapidocr's text detector (its ONNX session shared) with the view's resizing rule and thresholds."""
        name, _, (limit_type, side), thresh, box_thresh = view
        if view not in self._detectors:
            import copy

            from rapidocr_onnxruntime.ch_ppocr_v3_det.utils import DBPostProcess, create_operators

            det = copy.copy(self._engine().text_detector)
            det.preprocess_op = create_operators(
                {
                    "DetResizeForTest": {"limit_side_len": side, "limit_type": limit_type},
                    "NormalizeImage": {
                        "std": [0.229, 0.224, 0.225],
                        "mean": [0.485, 0.456, 0.406],
                        "scale": "1./255.",
                        "order": "hwc",
                    },
                    "ToCHWImage": None,
                    "KeepKeys": {"keep_keys": ["image", "shape"]},
                }
            )
            det.postprocess_op = DBPostProcess(
                thresh=thresh,
                box_thresh=box_thresh,
                max_candidates=1000,
                unclip_ratio=1.6,
                use_dilation=True,
                score_mode="fast",
            )
            self._detectors[view] = det
        return self._detectors[view]

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
        # static overlays: a cine is first read on three frames and what they show is blanked in every frame;
        # then every frame is read
        passes = ([sorted({0, frames // 2, frames - 1})] if frames > 3 else []) + [range(frames)]
        for scan in passes:
            static = len(scan) < frames
            for f in scan:
                for x0, y0, x1, y1 in self._text_boxes(stack[f], photometric, pattern, CLEAN_VIEWS):
                    if static:
                        stack[:, y0:y1, x0:x1] = dark
                    else:
                        stack[f, y0:y1, x0:x1] = dark
                    out.regions.append((-1 if static else f, x0, y0, x1, y1))
                    out.ocr_regions += 1
        for f in range(frames):  # the check: other eyes; it blanks nothing
            out.check_found += [(f, *hit) for hit in self._check(stack[f], photometric, pattern)]
        if out.check_found:
            kinds = sorted({hit[1] for hit in out.check_found})
            out.reason = (
                f"the check pass still found text: {len(out.check_found)} regions ({', '.join(kinds)})"
            )
            return out
        if out.regions:
            try:
                out.transfer_syntax = _store(ds, stack if frames > 1 else stack[0], samples)
            except Exception as exc:
                out.reason = f"cleaned pixels could not be encoded: {type(exc).__name__}"
                return out
        ds.BurnedInAnnotation = "NO"
        out.cleaned = True
        return out

    def _text_boxes(self, frame, photometric: str, pattern, views) -> list[tuple[int, int, int, int]]:
        """Rectangles (x0, y0, x1, y1) around the text the OCR detector finds in one frame, in any of ``views``
        (all of it, or the identifying)."""
        import cv2

        img = _display(frame, photometric)
        rects = []
        for view in views:
            rects += self._detect(img, view)
        rects = self._read(img, rects, pattern)
        if not rects:
            return rects
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        return [_complete(gray, r) for r in rects]

    def _detect(self, img, view) -> list[tuple[int, int, int, int]]:
        import cv2
        import numpy as np

        h, w = img.shape[:2]
        scale = min(1.0, _DETECT_SIDE / max(h, w))  # large radiographs: detect on a smaller picture
        small = (
            img
            if scale == 1.0
            else cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        )
        boxes, _ = self._detector(view)(_view(small, view[1]))
        if boxes is None or len(boxes) == 0:
            return []
        rects = []
        for quad in boxes:
            q = np.asarray(quad, dtype=float) / scale
            # the detector's box hugs the glyphs and may stop short of the last one: grow it by 0.3 of its
            # height above and below, 0.6 left and right
            tall = q[:, 1].max() - q[:, 1].min()
            py, px = max(2.0, 0.3 * tall), max(2.0, 0.6 * tall)
            x0, y0 = int(max(0, np.floor(q[:, 0].min() - px))), int(max(0, np.floor(q[:, 1].min() - py)))
            x1, y1 = int(min(w, np.ceil(q[:, 0].max() + px))), int(min(h, np.ceil(q[:, 1].max() + py)))
            if x1 > x0 and y1 > y0:
                rects.append((x0, y0, x1, y1))
        return rects

    def _read(self, img, rects, pattern):
        """All ``rects`` (policy ``all``), or those whose text reads as identifying or cannot be read."""
        if pattern is None or not rects:
            return rects
        crops = [img[y0:y1, x0:x1] for x0, y0, x1, y1 in rects]
        read, _ = self._engine().text_recognizer(crops)
        return [
            r for r, (text, score) in zip(rects, read, strict=True) if score < 0.5 or pattern.search(text)
        ]

    def _check(self, frame, photometric: str, pattern) -> list[tuple[str, int, int, int, int]]:
        """What the check's detectors find in one cleaned frame: ``(detector, x0, y0, x1, y1)``."""
        import cv2

        img = _display(frame, photometric)
        tallest = max(48, _CHECK_TALLEST * img.shape[0])  # burned-in text is small; a drawing is not text
        found = [
            ("ocr-" + v[0], *r)
            for v in CHECK_VIEWS
            for r in self._read(img, [b for b in self._detect(img, v) if _wordlike(b, tallest)], pattern)
        ]
        lines = text_lines(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
        found += [("text-lines", *r) for r in self._read(img, lines, pattern)]
        return found


def _complete(gray, rect) -> tuple[int, int, int, int]:
    """``rect`` grown over the glyph strokes it cuts: strong-edge clusters (as in :func:`text_lines`) that cross
    its border and are no taller than 1.5 times the rectangle, looked for within one rectangle height around it
    (the detector's box may stop inside the last letter or above a descender)."""
    import cv2
    import numpy as np

    x0, y0, x1, y1 = rect
    h, w = gray.shape
    reach = y1 - y0
    wx0, wy0, wx1, wy1 = max(0, x0 - reach), max(0, y0 - reach), min(w, x1 + reach), min(h, y1 + reach)
    win = gray[wy0:wy1, wx0:wx1]
    grad = cv2.morphologyEx(win, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    t, _ = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    edges = (grad >= max(t, 60)).astype(np.uint8)
    inside = np.zeros_like(edges, bool)
    inside[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0] = True
    n, lab, st, _ = cv2.connectedComponentsWithStats(edges, connectivity=8)
    nx0, ny0, nx1, ny1 = x0, y0, x1, y1
    for i in range(1, n):
        cx, cy, cw, ch, _ = st[i]
        if ch > 1.5 * reach or cw > 3 * reach:
            continue
        part = lab[cy : cy + ch, cx : cx + cw] == i
        within = inside[cy : cy + ch, cx : cx + cw][part]
        if within.any() and not within.all():  # crosses the border
            nx0, ny0 = min(nx0, wx0 + cx - 1), min(ny0, wy0 + cy - 1)
            nx1, ny1 = max(nx1, wx0 + cx + cw + 1), max(ny1, wy0 + cy + ch + 1)
    return max(0, nx0), max(0, ny0), min(w, nx1), min(h, ny1)


def _wordlike(box, tallest: float) -> bool:
    """A box that can hold a word: at most ``tallest`` high and at least twice as wide as high (two
    characters or more; single marks, ticks and icons are not words)."""
    x0, y0, x1, y1 = box
    return y1 - y0 <= tallest and x1 - x0 >= 2.0 * (y1 - y0)


def text_lines(gray) -> list[tuple[int, int, int, int]]:
    """Rows of text in an 8-bit grey picture, found without OCR: a classical edge-density detector.

    Strong edges (morphological gradient above Otsu's threshold and at least 60 grey levels) are kept where they
    form small clusters (1-70 pixels tall: glyph outlines; long anatomical contours are dropped), joined along
    rows, and a joined run counts as a line of text when it is 7-70 pixels tall, at least 2.5 times as wide as
    tall, 20-75 % edge pixels, and crossed by at least 1.2 rising edges per character width along its middle
    (the vertical strokes of letters). Small pictures (longer side under 300) are enlarged 3 times, large ones
    reduced to 1024. Returns rectangles ``(x0, y0, x1, y1)`` in the picture's pixels.
    """
    import cv2
    import numpy as np

    h, w = gray.shape[:2]
    f = 3.0 if max(h, w) < 300 else min(1.0, 1024 / max(h, w))
    g = gray
    if f != 1.0:
        interp = cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA
        g = cv2.resize(gray, (round(w * f), round(h * f)), interpolation=interp)
    grad = cv2.morphologyEx(g, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    t, _ = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    edges = (grad >= max(t, 60)).astype(np.uint8)
    n, lab, st, _ = cv2.connectedComponentsWithStats(edges, connectivity=8)
    drop = np.zeros(n, bool)
    drop[1:] = (st[1:, 3] > 70) | (st[1:, 3] < 4)
    edges[drop[lab]] = 0
    found = set()
    for width in (7, 13, 21):
        joined = cv2.morphologyEx(
            edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (width, 1))
        )
        n, _, st, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
        for x, y, ww, hh, _ in st[1:]:
            if not 7 <= hh <= 70 or ww < 2.5 * hh:
                continue
            box = edges[y : y + hh, x : x + ww]
            if not 0.2 <= box.mean() <= 0.75:
                continue
            middle = box[hh // 4 : hh - hh // 4].astype(np.int8)
            rising = (np.diff(middle, axis=1) == 1).sum(axis=1)
            if np.median(rising) < 1.2 * ww / hh:
                continue
            found.add(
                (
                    max(0, int(x / f) - 1),
                    max(0, int(y / f) - 1),
                    min(w, int(np.ceil((x + ww) / f)) + 1),
                    min(h, int(np.ceil((y + hh) / f)) + 1),
                )
            )
    return sorted(found)


def _view(img, kind: str):
    """One BGR uint8 picture as a detector sees it: ``shown``, or ``inverted`` (stretched between its 1st and
    99.5th percentiles, at most 4 times, then inverted)."""
    import cv2
    import numpy as np

    if kind == "shown":
        return img
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    lo, hi = np.percentile(g, [1, 99.5])
    span = max(64.0, hi - lo)  # at most 4 times the contrast: a near-uniform picture's noise stays noise
    g = 255 - np.clip((g.astype(np.float32) - lo) * (255.0 / span), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(cv2.cvtColor(g, cv2.COLOR_GRAY2BGR))


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
