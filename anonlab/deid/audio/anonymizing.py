"""Voice anonymisation of recordings: files and folders in, fresh WAV/FLAC files out, one voice per speaker.

:class:`VoiceAnonymizer` holds a method (``mcadams`` or ``cascade``) and where its per-speaker settings come from
(:mod:`anonlab.deid.audio.settings`); :func:`anonymize_voice` runs it over a file or a folder. Every output is
written fresh from the samples (16-bit PCM, mono, the input's sampling rate), so no tag, comment, date or device
field of the input survives (:mod:`anonlab.deid.audio.tags` names what the input held). Outputs appear atomically;
an input is never modified.

What it does not do: the words themselves can identify (names said aloud, places): transcribe and redact the text
separately. Signal-processing anonymisation lowers a speaker-verification attacker's success; an attacker who
anonymises their own enrolment recordings the same way (with another key) still links voices above chance
(``benchmarks/results/voice.md``).
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from anonlab.deid.audio.settings import METHODS, CascadeSettings, McAdamsSettings
from anonlab.deid.keys import SecretKey
from anonlab.errors import InputError, UsageError

__all__ = ["AUDIO_SUFFIXES", "VoiceAnonymizer", "VoiceReport", "VoiceResult", "anonymize_voice"]

#: files a folder run picks up (what libsndfile reads); outputs are .flac for .flac inputs, .wav otherwise
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".aifc", ".mp3", ".au", ".caf", ".w64")
_OUTPUT_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


@dataclass(frozen=True)
class VoiceReport:
    """One recording: its length, rate and channels (mixed to mono), where its settings came from (``keyed``,
    ``seeded``, ``random`` or ``fixed``), how its speaker was named (``given``, ``mapped``, ``file``) and the
    metadata the input held (names only). Never the speaker id or the drawn settings."""

    input: str
    output: str
    duration_s: float
    sample_rate: int
    channels: int
    settings_from: str
    speaker_from: str
    metadata_removed: tuple[str, ...] = ()
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "input": self.input,
            "output": self.output,
            "duration_s": round(self.duration_s, 3),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "settings_from": self.settings_from,
            "speaker_from": self.speaker_from,
            "metadata_removed": list(self.metadata_removed),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class VoiceResult:
    """The recordings written and the files skipped in one run."""

    method: str
    written: list[VoiceReport] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def audio_seconds(self) -> float:
        return sum(r.duration_s for r in self.written)

    @property
    def real_time_factor(self) -> float:
        """Processing time per second of audio (whole run, all workers together)."""
        return self.seconds / self.audio_seconds if self.audio_seconds else 0.0

    def to_dict(self) -> dict:
        from anonlab import __version__

        return {
            "anonlab_version": __version__,
            "method": self.method,
            "recordings": len(self.written),
            "audio_seconds": round(self.audio_seconds, 3),
            "seconds": round(self.seconds, 3),
            "real_time_factor": round(self.real_time_factor, 4),
            "written": [r.to_dict() for r in self.written],
            "skipped": self.skipped,
        }

    def _repr_html_(self) -> str:
        from anonlab.deid.report import html_table

        rows = [
            (f"{r.input} -> {r.output}", f"{r.duration_s:.1f} s ({r.settings_from})") for r in self.written
        ]
        rows += [(f"skipped {s['input']}", s["reason"]) for s in self.skipped]
        notes = ["the words themselves can identify: redact the transcript separately"]
        return html_table(f"{len(self.written)} recordings anonymised ({self.method})", rows, notes)


class VoiceAnonymizer:
    """A voice anonymisation with its per-speaker settings.

    method : ``"mcadams"`` (VoicePrivacy B2: pole angles raised to a per-speaker ``alpha``) or ``"cascade"`` (Kai
        et al.: resampling, vocal-tract-length warping, modulation-spectrum smoothing, chorus).
    key : a :class:`~anonlab.deid.keys.SecretKey` (``anonlab keygen``): each speaker's settings are
        HMAC-SHA256(speaker id) under it, the same in every recording and run. As secret as the recordings.
    seed : without a key, the settings are drawn from this (reproducible; whoever knows it can recompute them),
        or from fresh entropy (consistent within one run only).
    alpha : mcadams only: one fixed coefficient for every speaker (the Challenge's 2020 B2 used 0.8); draws nothing.
    settings : a :class:`McAdamsSettings` or :class:`CascadeSettings` used for every speaker; draws nothing.
    """

    def __init__(
        self,
        method: str = "mcadams",
        *,
        key: SecretKey | None = None,
        seed: int | None = None,
        alpha: float | None = None,
        settings: McAdamsSettings | CascadeSettings | None = None,
    ) -> None:
        from anonlab.deid.audio.settings import run_key

        if method not in METHODS:
            raise UsageError(f"method={method!r}: one of {', '.join(METHODS)}")
        if alpha is not None:
            if method != "mcadams":
                raise UsageError(f"alpha= is the McAdams coefficient: method={method!r} does not use it")
            if settings is not None:
                raise UsageError("alpha= and settings= both given: give one")
            settings = McAdamsSettings(alpha=alpha)
        if settings is not None:
            want = McAdamsSettings if method == "mcadams" else CascadeSettings
            if not isinstance(settings, want):
                raise UsageError(f"settings= must be a {want.__name__} for method={method!r}")
            if key is not None or seed is not None:
                raise UsageError("fixed settings draw nothing: key= and seed= are not used")
        self.method = method
        self.fixed = settings
        self._key: SecretKey | None = None
        self.settings_from = "fixed"
        if settings is None:
            self._key, self.settings_from = run_key(key, seed)
        self._cache: dict[str, McAdamsSettings | CascadeSettings] = {}

    def __repr__(self) -> str:
        return f"VoiceAnonymizer(method={self.method!r}, settings_from={self.settings_from!r})"

    def settings_for(self, speaker: str) -> McAdamsSettings | CascadeSettings:
        """The settings of ``speaker`` (secret: they help to undo the modification)."""
        from anonlab.deid.audio.settings import draw_settings, speaker_generator

        if self.fixed is not None:
            return self.fixed
        if speaker not in self._cache:
            assert self._key is not None
            self._cache[speaker] = draw_settings(
                speaker_generator(self._key, self.method, speaker), self.method
            )
        return self._cache[speaker]

    def anonymize_array(self, x: np.ndarray, sr: int, speaker: str) -> np.ndarray:
        """A mono float signal in [-1, 1] anonymised as ``speaker``'s voice; the output has the input's loudness
        (RMS), its peak limited to 0.99."""
        x = np.asarray(x, dtype=float)
        if x.ndim != 1:
            raise UsageError("x must be one channel (mix to mono first)")
        y = self.settings_for(speaker).apply(x, sr)
        rms_in, rms_out = np.sqrt(np.mean(x**2)), np.sqrt(np.mean(y**2)) if len(y) else 0.0
        if rms_out > 0:
            y = y * (rms_in / rms_out)
        peak = np.abs(y).max() if len(y) else 0.0
        if peak > 0.99:
            y = y * (0.99 / peak)
        return y

    def anonymize_file(
        self, src: str | os.PathLike, dst: str | os.PathLike, speaker: str, *, speaker_from: str = "given",
        force: bool = False,
    ) -> VoiceReport:  # fmt: skip
        """Read ``src``, anonymise it as ``speaker`` and write ``dst`` (.wav or .flac, 16-bit, mono) atomically."""
        from anonlab.deid.audio.tags import metadata_found
        from anonlab.io import write_bytes

        t0 = time.perf_counter()
        src, dst = Path(src), Path(dst)
        fmt = _OUTPUT_FORMATS.get(dst.suffix.lower())
        if fmt is None:
            raise UsageError(f"{dst}: an output ends in .wav or .flac")
        x, sr, channels = read_audio(src)
        removed = tuple(metadata_found(src))
        y = self.anonymize_array(x, sr, speaker)
        buf = io.BytesIO()
        import soundfile as sf

        sf.write(buf, y, sr, format=fmt, subtype="PCM_16")
        write_bytes(dst, buf.getvalue(), force=force)
        return VoiceReport(
            input=str(src),
            output=str(dst),
            duration_s=len(x) / sr,
            sample_rate=sr,
            channels=channels,
            settings_from=self.settings_from,
            speaker_from=speaker_from,
            metadata_removed=removed,
            seconds=time.perf_counter() - t0,
        )


def read_audio(src: Path) -> tuple[np.ndarray, int, int]:
    """The samples of ``src`` mixed to mono (float64), its sampling rate and its channel count. A file libsndfile
    cannot read, or one without samples, is an :class:`InputError` naming the file."""
    from anonlab.errors import require_extra

    sf = require_extra("audio", "soundfile", "voice anonymisation")
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    try:
        data, sr = sf.read(str(src), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        import re

        cause = str(exc).split("\n")[0].strip() or type(exc).__name__
        cause = re.sub(r"^Error opening .*?: ", "", cause).rstrip(".")
        raise InputError(f"{src}: not an audio file soundfile can read ({cause})") from None
    if data.shape[0] == 0:
        raise InputError(f"{src}: holds no samples")
    if sr < 8000:
        raise InputError(f"{src}: sampling rate {sr} Hz; speech needs at least 8000 Hz")
    if not np.isfinite(data).all():
        raise InputError(f"{src}: holds samples that are not finite numbers")
    return data.mean(axis=1), int(sr), int(data.shape[1])


def _read_speakers(speakers) -> dict[str, str]:
    if speakers is None:
        return {}
    if isinstance(speakers, dict):
        return {str(k): str(v) for k, v in speakers.items()}
    from anonlab.io import read_table

    df = read_table(speakers, text_columns=["file", "speaker"], infer=False)
    if list(df.columns[:2]) != ["file", "speaker"]:
        raise InputError(
            f"{speakers}: a speakers file has the columns file,speaker (found {list(df.columns)})"
        )
    if df["file"].isna().any() or df["speaker"].isna().any():
        raise InputError(f"{speakers}: a row without a file or a speaker")
    return dict(zip(df["file"].astype(str), df["speaker"].astype(str), strict=True))


def _output_name(rel: Path) -> Path:
    return rel.with_suffix(".flac" if rel.suffix.lower() == ".flac" else ".wav")


class _FileWorker:
    """One per worker process: the anonymiser and the folders (for :func:`parallel_map`)."""

    def __init__(self, anonymizer: VoiceAnonymizer, src: str, dst: str, force: bool) -> None:
        self.anonymizer, self.src, self.dst, self.force = anonymizer, Path(src), Path(dst), force

    def run(self, item: tuple[str, str, str]):
        path, speaker, speaker_from = item
        p = Path(path)
        rel = p.relative_to(self.src)
        try:
            return self.anonymizer.anonymize_file(
                p, self.dst / _output_name(rel), speaker, speaker_from=speaker_from, force=self.force
            )
        except InputError as exc:
            return {"input": path, "reason": str(exc).split(": ", 1)[-1]}


class _Speakers:
    """Who speaks in each recording: one ``speaker`` for all, a mapping from relative path, or the file itself."""

    def __init__(self, speaker, speakers) -> None:
        if speaker is not None and speakers is not None:
            raise UsageError("speaker= and speakers= both given: one speaker for all, or a mapping")
        if speaker is not None and not str(speaker).strip():
            raise UsageError("speaker= is empty")
        self.speaker, self.source = speaker, speakers
        self.mapping = _read_speakers(speakers)

    def __call__(self, rel: str) -> tuple[str, str]:
        if self.speaker is not None:
            return str(self.speaker), "given"
        if self.source is not None:
            if rel not in self.mapping:
                raise InputError(f"{self.source}: no speaker for {rel!r}")
            return self.mapping[rel], "mapped"
        return rel, "file"


def _folder_items(src: Path, who: _Speakers, skipped: list[dict]) -> list[tuple[str, str, str]]:
    """(path, speaker, how named) of every audio file under ``src``; links and other files go to ``skipped``."""
    items = []
    for p in sorted(q for q in src.rglob("*") if q.is_symlink() or q.is_file()):
        if p.is_symlink():
            skipped.append({"input": str(p), "reason": "symbolic link; not followed"})
        elif p.suffix.lower() not in AUDIO_SUFFIXES:
            skipped.append({"input": str(p), "reason": "not an audio file (by its extension)"})
        else:
            items.append((str(p), *who(p.relative_to(src).as_posix())))
    outs = [_output_name(Path(i[0]).relative_to(src)) for i in items]
    if len(set(outs)) < len(outs):
        clash = next(o for o in outs if outs.count(o) > 1)
        raise UsageError(f"{src}: two recordings would both be written as {clash} (a.wav and a.ogg?)")
    return items


def anonymize_voice(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    method: str = "mcadams",
    key: SecretKey | None = None,
    seed: int | None = None,
    alpha: float | None = None,
    speaker: str | None = None,
    speakers: dict | str | os.PathLike | None = None,
    workers: int = 1,
    force: bool = False,
    progress: bool = False,
) -> VoiceResult:
    """Anonymise the voice in one recording, or in every recording under a folder (same relative paths under
    ``dst``; ``.flac`` stays FLAC, every other format becomes WAV), with no metadata carried over.

    method, key, seed, alpha : see :class:`VoiceAnonymizer`.
    speaker : the speaker of every recording (one voice for all of them).
    speakers : a mapping ``{file: speaker}`` or a CSV with columns ``file,speaker``; a file is named by its path
        relative to ``src`` (for a single file: its name). Every recording must be listed.
        Without ``speaker`` or ``speakers`` each recording is its own speaker (keyed by its relative path), so one
        person's recordings get different voices.
    workers : processes for a folder. force : replace existing outputs. progress : a bar on standard error.

    Raises :class:`~anonlab.errors.MissingExtraError` without the ``audio`` extra (soundfile).
    """
    from anonlab.io import guard_outputs, refuse_inside

    anonymizer = VoiceAnonymizer(method, key=key, seed=seed, alpha=alpha)
    who = _Speakers(speaker, speakers)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers={workers!r} must be at least 1")
    src, dst = Path(src), Path(dst)
    result = VoiceResult(method=method)
    t0 = time.perf_counter()
    if src.is_file():
        if dst.is_dir():
            dst = dst / _output_name(Path(src.name))
        guard_outputs([dst], {"input": src})
        spk, how = who(src.name)
        result.written.append(anonymizer.anonymize_file(src, dst, spk, speaker_from=how, force=force))
        result.seconds = time.perf_counter() - t0
        return result
    if not src.is_dir():
        raise InputError(f"{src}: no such file or folder")
    refuse_inside(dst, src, "anonymised recordings", "the input folder")
    items = _folder_items(src, who, result.skipped)
    from anonlab.deid.dicom.deidentifying import run_files

    args = (anonymizer, str(src), str(dst), force)
    run_files(_FileWorker, args, items, workers, result, desc="audio voice", unit="file", progress=progress)
    result.seconds = time.perf_counter() - t0
    return result
