"""The McAdams-coefficient method: the VoicePrivacy Challenge's baseline B2 (Patino et al., "Speaker anonymisation
using the McAdams coefficient", Interspeech 2021).

Every frame's formants move by raising the angle ``phi`` (radians, 0..pi) of each complex pole of its linear
prediction filter to the power ``alpha``: ``phi -> phi ** alpha``. ``alpha < 1`` moves every formant below 1 rad
(2.5 kHz at 16 kHz) up and compresses the higher ones; the pitch (the residual) is kept. The Challenge's B2 used
``alpha = 0.8`` for every speaker in 2020; anonlab draws it per speaker from a keyed range
(:mod:`anonlab.deid.audio.settings`), so that a lazy-informed attacker who anonymises with their own key gets other
voices. Signal processing only: no model, no training data.
"""

from __future__ import annotations

import numpy as np

from anonlab.deid.audio.lpc import modify_poles

__all__ = ["mcadams"]


def mcadams(x: np.ndarray, sr: int, alpha: float, *, order: int | None = None) -> np.ndarray:
    """``x`` (mono, float) with every frame's pole angles raised to ``alpha`` (0.5..1.0 is the useful range;
    1.0 leaves the voice as it is)."""
    if not 0 < alpha <= 2:
        raise ValueError(f"alpha={alpha!r}: a McAdams coefficient in (0, 2]")
    return modify_poles(x, sr, lambda phi: phi**alpha, order=order)
