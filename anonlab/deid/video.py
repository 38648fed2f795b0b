"""Hiding faces in videos, frame by frame, with temporal smoothing; container metadata dropped.

Frames are decoded and encoded by the ffmpeg binary that ships inside the ``imageio-ffmpeg`` wheel and streamed
through :class:`~anonlab.deid.faces.FaceRedactor`: memory holds ``2 * smoothing + 1`` frames at most, whatever the
video's length.

Temporal smoothing: a detector misses a face in some frames (motion blur, a turned head, a hand in front). Each
frame hides the union of the faces detected in the ``smoothing`` frames before and after it, so a face missed in up
to ``smoothing`` consecutive frames stays hidden, and a moving face is covered along its path. The price is that a
hiding box appears up to ``smoothing`` frames before a face enters and stays as long after it leaves.

Metadata: the output carries no container or stream metadata from the input (``-map_metadata -1``: creation time,
GPS location, device make and model, handler names, chapters); the video is re-encoded (H.264, CRF 20) so no
encoder side data of the input survives. Audio is dropped unless ``keep_audio=True``: voices identify too.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from anonlab.errors import InputError, UsageError

__all__ = ["VideoReport", "redact_video", "MUXERS"]

#: output suffix -> ffmpeg muxer (the suffix picks the container)
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi", ".webm": "webm"}
_CODECS = {"webm": ("libvpx-vp9", "libopus"), "avi": ("libx264", "mp3")}
_FEATURE = "video face redaction"


@dataclass
class VideoReport:
    """What was done to one video.

    frames : frames written. frames_with_faces : frames where the detector found a face. frames_bridged : frames
    where it found none but smoothing still hid a face seen in a neighbouring frame. faces_hidden : boxes hidden,
    summed over frames. metadata_removed : names (never values) of the input's container and stream tags dropped.
    audio : ``kept``, ``dropped`` or ``none`` (the input had no audio).
    """

    input: str
    output: str
    frames: int = 0
    fps: float = 0.0
    size: tuple[int, int] = (0, 0)
    frames_with_faces: int = 0
    frames_bridged: int = 0
    faces_hidden: int = 0
    mode: str = "blur"
    smoothing: int = 0
    audio: str = "none"
    metadata_removed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        from anonlab import __version__
        from anonlab.deid.faces import MODEL_NOTICE

        return {
            "anonlab_version": __version__,
            "model": MODEL_NOTICE,
            "input": self.input,
            "output": self.output,
            "frames": self.frames,
            "fps": self.fps,
            "size": list(self.size),
            "mode": self.mode,
            "smoothing": self.smoothing,
            "frames_with_faces": self.frames_with_faces,
            "frames_bridged": self.frames_bridged,
            "faces_hidden": self.faces_hidden,
            "audio": self.audio,
            "metadata_removed": self.metadata_removed,
            "seconds": round(self.seconds, 3),
            "frames_per_second": round(self.frames / self.seconds, 2) if self.seconds > 0 else None,
        }

    def _repr_html_(self) -> str:
        from anonlab.deid.report import html_table

        rows = [
            ("frames", f"{self.frames} at {self.fps:g} fps, {self.size[0]} x {self.size[1]}"),
            ("faces", f"{self.faces_hidden} boxes hidden ({self.mode}); {self.frames_with_faces} frames with a "
             f"detection, {self.frames_bridged} bridged by smoothing"),
            ("audio", self.audio),
            ("metadata removed", ", ".join(self.metadata_removed) or "none found"),
        ]  # fmt: skip
        return html_table(f"{self.input} -> {self.output}", rows, ["a detector misses some faces: review"])


def _metadata_names(ffmpeg: str, src: Path) -> list[str]:
    """Names of the container and stream metadata tags of ``src`` (from ffmpeg's description; no values)."""
    proc = subprocess.run(
        [ffmpeg, "-hide_banner", "-i", str(src)], capture_output=True, text=True, errors="replace"
    )
    names: list[str] = []
    inside = False
    for line in proc.stderr.splitlines():
        if line.strip() == "Metadata:":
            inside = True
            continue
        m = re.match(r"^\s{4,}([A-Za-z0-9_.:-]+)\s*:", line)
        if inside and m and not line.lstrip().startswith(("Stream", "Duration", "Chapter")):
            name = m.group(1)
            if name not in names and name not in ("major_brand", "minor_version", "compatible_brands"):
                names.append(name)
        else:
            inside = False
    return names


def redact_video(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    mode: str = "blur",
    margin: float = 0.2,
    threshold: float = 0.2,
    max_side: int | None = 1280,
    smoothing: int = 5,
    keep_audio: bool = False,
    preview: bool = False,
    crf: int = 20,
    threads: int | None = None,
    force: bool = False,
    progress: bool = False,
) -> VideoReport:
    """Write ``src`` to ``dst`` with every detected face hidden in every frame and no metadata (see the module
    docstring). The container follows ``dst``'s suffix (:data:`MUXERS`).

    mode, margin, threshold, max_side, preview : see :class:`~anonlab.deid.faces.FaceRedactor` (``max_side``
        scales frames down for detection only).
    smoothing : frames before and after each frame whose detections it also hides (0: none).
    keep_audio : copy the audio track (re-encoded); dropped otherwise.
    crf : H.264 quality (0 lossless - 51 worst; 20 looks like the source).
    force : replace an existing ``dst``. progress : a progress bar with ETA on standard error.

    ``dst`` appears only when the whole video is written. Raises :class:`~anonlab.errors.InputError` for a file
    ffmpeg cannot decode, :class:`~anonlab.errors.MissingExtraError` without the ``media`` extra.
    """
    import time

    import numpy as np

    from anonlab.deid.faces import FaceRedactor
    from anonlab.errors import require_extra
    from anonlab.io import atomic_path, guard_outputs

    ioff = require_extra("media", "imageio_ffmpeg", _FEATURE)
    redactor = FaceRedactor(mode, margin, threshold, max_side, preview, threads)
    if smoothing < 0:
        raise UsageError(f"smoothing={smoothing} must be at least 0")
    if not 0 <= crf <= 51:
        raise UsageError(f"crf={crf} must lie between 0 and 51")
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    muxer = MUXERS.get(dst.suffix.lower())
    if muxer is None:
        raise UsageError(f"{dst}: the output must end in one of {', '.join(MUXERS)}")
    guard_outputs([dst], {"input": src})
    ffmpeg = ioff.get_ffmpeg_exe()
    t0 = time.perf_counter()
    reader = ioff.read_frames(str(src), pix_fmt="rgb24")
    try:
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as exc:
        raise InputError(f"{src}: not a video ffmpeg can read ({_first_line(exc)})") from None
    w, h = meta["size"]
    fps = float(meta.get("fps") or 25.0)
    has_audio = bool(meta.get("audio_codec"))
    report = VideoReport(
        str(src), str(dst), fps=fps, size=(w, h), mode="preview" if preview else mode, smoothing=smoothing,
        audio=("kept" if keep_audio else "dropped") if has_audio else "none",
        metadata_removed=_metadata_names(ffmpeg, src),
    )  # fmt: skip
    vcodec, acodec = _CODECS.get(muxer, ("libx264", "aac"))
    params = ["-map_metadata", "-1", "-map_chapters", "-1", "-f", muxer]
    params += ["-crf", str(crf)] + (["-b:v", "0"] if vcodec == "libvpx-vp9" else [])
    bar = None
    if progress:
        from tqdm import tqdm

        total = int(round(float(meta.get("duration") or 0) * fps)) or None
        bar = tqdm(total=total, desc="video faces", unit="frame", leave=False)
    try:
        with atomic_path(dst, force) as tmp:
            target = str(tmp).replace("/proc/self/", f"/proc/{os.getpid()}/")  # ffmpeg is another process
            writer = ioff.write_frames(
                target, (w, h), fps=fps, codec=vcodec, pix_fmt_out="yuv420p", macro_block_size=2,
                quality=None, output_params=params, ffmpeg_log_level="error",
                audio_path=str(src) if keep_audio and has_audio else None,
                audio_codec=acodec if keep_audio and has_audio else None,
            )  # fmt: skip
            writer.send(None)
            frames: deque = deque()  # (frame, its own detections), awaiting the detections after them
            history: deque = deque(maxlen=smoothing)  # detections of the frames already written

            def emit() -> None:
                frame, own = frames.popleft()
                ahead = [d for _, d in frames]
                boxes = [b for d in (*history, own, *ahead) for b in d]
                out, _ = redactor.redact_array(frame, boxes)
                writer.send(np.ascontiguousarray(out))
                report.frames += 1
                report.faces_hidden += len(boxes)
                report.frames_with_faces += bool(own)
                report.frames_bridged += bool(boxes) and not own
                history.append(own)
                if bar is not None:
                    bar.update(1)

            try:
                for raw in reader:
                    frame = np.frombuffer(raw, np.uint8).reshape(h, w, 3)
                    frames.append((frame, redactor.detector.detect(frame)))
                    if len(frames) > smoothing:
                        emit()
                while frames:
                    emit()
            except RuntimeError as exc:
                raise InputError(f"{src}: ffmpeg could not decode it ({_first_line(exc)})") from None
            finally:
                reader.close()
                writer.close()
    finally:
        if bar is not None:
            bar.close()
    report.seconds = time.perf_counter() - t0
    return report


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:160] if text else type(exc).__name__
