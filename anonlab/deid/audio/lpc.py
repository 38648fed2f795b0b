"""Linear prediction per frame, with the poles of each frame's all-pole filter moved and the frame resynthesised.

A voice is, to a first approximation, a source (the glottal pulses, which carry the pitch) filtered by the vocal
tract (an all-pole filter whose pole angles are the formants). Each short frame (20 ms, hop 10 ms, the VoicePrivacy
Challenge's B2 setup) is analysed by the autocorrelation method (Levinson-Durbin), its residual (the source) is
kept, the angles of its complex poles are moved by a function (``McAdams``: ``phi ** alpha``; vocal-tract-length
warping: the bilinear warp), and the frame is resynthesised through the new all-pole filter. Frames are windowed
with the square root of a Hann window before analysis and after synthesis and overlap-added, so an unmodified
signal comes back as it was (up to the frame edges' filter start-up). Each resynthesised frame is scaled to the
energy of its analysed frame, so the loudness contour stays.

numpy and SciPy only; frames are analysed and their roots found as stacked arrays, filtered one by one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["lpc", "poles_of", "polynomial_of", "modify_poles", "bilinear_warp"]


def lpc(frames: np.ndarray, order: int) -> np.ndarray:
    """Prediction polynomials ``[1, a1, .., ap]`` of each row of ``frames`` (autocorrelation method,
    Levinson-Durbin). A silent frame gets ``[1, 0, .., 0]``."""
    n = frames.shape[-1]
    spec = np.fft.rfft(frames, 2 * n, axis=-1)
    r = np.fft.irfft(np.abs(spec) ** 2, axis=-1)[:, : order + 1]
    r[:, 0] = r[:, 0] * (1 + 1e-9) + 1e-12  # white-noise floor: a well-conditioned, stable filter
    a = np.zeros((len(frames), order + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for i in range(1, order + 1):
        acc = np.einsum("fj,fj->f", a[:, :i], r[:, i:0:-1])
        k = -acc / err
        a[:, 1 : i + 1] = a[:, 1 : i + 1] + k[:, None] * a[:, i - 1 :: -1][:, :i]
        err = err * (1 - k * k)
    return a


def poles_of(a: np.ndarray) -> np.ndarray:
    """The roots of each row's polynomial (the all-pole filter's poles), from stacked companion matrices."""
    f, m = a.shape[0], a.shape[1] - 1
    comp = np.zeros((f, m, m))
    comp[:, 0, :] = -a[:, 1:]
    comp[:, np.arange(1, m), np.arange(m - 1)] = 1.0
    return np.linalg.eigvals(comp)


def polynomial_of(poles: np.ndarray) -> np.ndarray:
    """Each row's monic polynomial with these roots (real part: roots come in conjugate pairs)."""
    coeffs = np.ones((poles.shape[0], 1), dtype=complex)
    zero = np.zeros((poles.shape[0], 1), dtype=complex)
    for j in range(poles.shape[1]):
        coeffs = np.concatenate([coeffs, zero], axis=1) - poles[:, j : j + 1] * np.concatenate(
            [zero, coeffs], axis=1
        )
    return coeffs.real


def bilinear_warp(alpha: float) -> Callable[[np.ndarray], np.ndarray]:
    """The all-pass (bilinear) frequency warp of vocal-tract-length normalisation: ``alpha > 0`` moves every
    formant up (a shorter tract), ``alpha < 0`` down; 0 and pi stay where they are."""

    def warp(phi: np.ndarray) -> np.ndarray:
        return phi + 2 * np.arctan2(alpha * np.sin(phi), 1 - alpha * np.cos(phi))

    return warp


def modify_poles(
    x: np.ndarray,
    sr: int,
    angle: Callable[[np.ndarray], np.ndarray],
    *,
    order: int | None = None,
    win_ms: float = 20.0,
    shift_ms: float = 10.0,
) -> np.ndarray:
    """``x`` (mono float) with the angle ``phi`` in (0, pi) of every complex pole of every frame replaced by
    ``angle(phi)`` (clipped to [0, pi]; the conjugate follows), the residual kept, frames overlap-added. ``order``:
    the prediction order, 20 at 16 kHz (B2's) and scaled with the sampling rate by default."""
    from scipy.signal import lfilter

    order = order or max(8, round(20 * sr / 16000))
    win = int(win_ms * sr / 1000)
    hop = int(shift_ms * sr / 1000)
    if win < order + 2 or hop < 1 or hop > win:
        raise ValueError("frames too short for the prediction order")
    n = len(x)
    pad = np.concatenate([np.zeros(win), np.asarray(x, dtype=float), np.zeros(win + hop)])
    count = 1 + (len(pad) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(count)[:, None]
    hann = np.hanning(win + 2)[1:-1]
    w = np.sqrt(hann / (hann.sum() / hop))  # analysis and synthesis windows whose product overlap-adds to 1
    frames = pad[idx] * w
    a = lpc(frames, order)
    poles = poles_of(a)
    phi = np.angle(poles)
    complex_pole = np.abs(poles.imag) > 1e-10
    moved = np.sign(phi) * np.clip(angle(np.abs(phi)), 0.0, np.pi)
    new = np.where(complex_pole, np.abs(poles) * np.exp(1j * moved), poles)
    b = polynomial_of(new)
    out = np.zeros(len(pad))
    for i in range(count):
        if not frames[i].any():
            continue
        residual = lfilter(a[i], [1.0], frames[i])
        rebuilt = lfilter([1.0], b[i], residual)
        # each frame keeps its energy: moving poles changes the filter's gain, not the loudness contour
        gain = np.sqrt(np.dot(frames[i], frames[i]) / max(np.dot(rebuilt, rebuilt), 1e-30))
        out[idx[i]] += gain * rebuilt * w
    return out[win : win + n]
