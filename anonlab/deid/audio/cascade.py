"""The cascaded voice modifications of Kai et al. ("Lightweight voice anonymization based on data-driven
optimization of cascaded voice modification modules", IEEE SLT 2022): four light signal-processing steps, each
with one or a few parameters, applied one after another.

- resampling (:func:`resample`): the recording is resampled by ``factor`` and played at its original rate, so
  pitch and formants move together by that factor and the duration by its inverse (a tape sped up or slowed).
- vocal-tract-length warping (:func:`vtln`): every frame's formants move along the bilinear (all-pass) warp of
  ``alpha`` (positive: a shorter vocal tract), the pitch kept (:mod:`anonlab.deid.audio.lpc`).
- modulation-spectrum smoothing (:func:`smooth_modulation`): the log-magnitude spectrogram's trajectory in each
  frequency band is low-passed at ``cutoff_hz`` modulation frequency: fast, speaker-specific fluctuations are
  smoothed, the slower phonetic ones (a few syllables per second) kept.
- chorus (:func:`chorus`): copies delayed by a slowly varying 10-30 ms are added: the voice is blurred as by a few
  speakers at once.

Kai et al. optimised the parameters on data; anonlab draws them per speaker from ranges of its own choosing
(:func:`anonlab.deid.audio.settings.draw_settings`), not their optimised values. numpy and SciPy only.
"""

from __future__ import annotations

import numpy as np

from anonlab.deid.audio.lpc import bilinear_warp, modify_poles

__all__ = ["resample", "vtln", "smooth_modulation", "chorus"]


def resample(x: np.ndarray, sr: int, factor: float) -> np.ndarray:
    """Pitch and formants times ``factor``, duration divided by it (polyphase resampling, ratio to 1/100)."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(factor).limit_denominator(100)
    if ratio == 1:
        return np.asarray(x, dtype=float)
    return resample_poly(np.asarray(x, dtype=float), ratio.denominator, ratio.numerator)


def vtln(x: np.ndarray, sr: int, alpha: float, *, order: int | None = None) -> np.ndarray:
    """Formants moved along the bilinear warp of ``alpha`` (-0.3..0.3 is the useful range), pitch kept."""
    if not -1 < alpha < 1:
        raise ValueError(f"alpha={alpha!r}: a warping factor in (-1, 1)")
    return modify_poles(x, sr, bilinear_warp(alpha), order=order)


def _stft_size(sr: int) -> int:
    return int(2 ** round(np.log2(0.032 * sr)))  # about 32 ms: 512 samples at 16 kHz


def smooth_modulation(x: np.ndarray, sr: int, cutoff_hz: float) -> np.ndarray:
    """Each frequency band's log magnitude low-passed over time at ``cutoff_hz`` (a 2nd-order Butterworth run
    forwards and backwards); phases kept. A recording too short to filter is returned as it is."""
    from scipy.signal import butter, istft, sosfiltfilt, stft

    n = len(x)
    size = _stft_size(sr)
    hop = size // 4
    frame_rate = sr / hop
    if not 0 < cutoff_hz < frame_rate / 2:
        raise ValueError(f"cutoff_hz={cutoff_hz!r}: a modulation frequency below {frame_rate / 2:g} Hz")
    _, _, spec = stft(x, fs=sr, nperseg=size, noverlap=size - hop)
    if spec.shape[1] < 16:
        return np.asarray(x, dtype=float)
    mag = np.abs(spec)
    log = np.log(mag + 1e-9)
    sos = butter(2, cutoff_hz / (frame_rate / 2), output="sos")
    smooth = sosfiltfilt(sos, log, axis=1)
    phase = spec / np.maximum(mag, 1e-12)
    _, y = istft(np.exp(smooth) * phase, fs=sr, nperseg=size, noverlap=size - hop)
    out = np.zeros(n)
    out[: min(n, len(y))] = y[:n]
    return out


def chorus(
    x: np.ndarray,
    sr: int,
    *,
    delays_ms: tuple[float, ...],
    depth_ms: float,
    rate_hz: float,
    mix: float,
) -> np.ndarray:
    """``x`` plus ``mix`` times each copy delayed by ``delay + depth * sin(2 pi rate t + phase)`` (one copy per
    delay, phases spread evenly), scaled back to the input's level."""
    x = np.asarray(x, dtype=float)
    t = np.arange(len(x))
    out = x.copy()
    for i, d in enumerate(delays_ms):
        phase = 2 * np.pi * i / max(1, len(delays_ms))
        delay = (d + depth_ms * np.sin(2 * np.pi * rate_hz * t / sr + phase)) * sr / 1000
        out += mix * np.interp(t - delay, t, x, left=0.0, right=0.0)
    return out / (1 + mix * len(delays_ms))
