"""Per-speaker settings of a voice anonymisation, drawn at random but keyed: the same speaker under the same key
always gets the same voice, in every recording and every run; another key gives unrelated settings.

The settings of speaker ``s`` come from a random generator seeded with ``HMAC-SHA256(sub-key, s)``, where the
sub-key is derived from the key of ``anonlab keygen`` for this purpose and method (``anonlab/v1/voice/<method>``,
:func:`anonlab.deid.keys.derive_key`), so a voice setting never reveals a pseudonym or a date offset made with the
same key. Without a key, a run draws its own key: from ``seed`` (whoever knows the seed can recompute every setting)
or from the operating system's entropy (speakers stay consistent within the run only).

The drawn values are as secret as the key: knowing a speaker's ``alpha`` helps to undo the modification (McAdams
with ``1 / alpha``), so reports name the method and where the settings came from, never the values.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass

import numpy as np

from anonlab.deid.keys import SecretKey, derive_key
from anonlab.errors import UsageError

__all__ = [
    "METHODS",
    "McAdamsSettings",
    "CascadeSettings",
    "speaker_generator",
    "draw_settings",
    "run_key",
]

METHODS = ("mcadams", "cascade")

#: the McAdams coefficient is drawn uniformly from this range (the Challenge's B2 used 0.8 for all in 2020); below
#: 0.7 the offline recogniser's word error rate grows fast (benchmarks/results/voice.md)
MCADAMS_RANGE = (0.7, 0.9)


@dataclass(frozen=True)
class McAdamsSettings:
    """``alpha``: every pole angle ``phi`` becomes ``phi ** alpha`` (:mod:`anonlab.deid.audio.mcadams`)."""

    alpha: float

    def __post_init__(self) -> None:
        if (
            isinstance(self.alpha, bool)
            or not isinstance(self.alpha, int | float)
            or not 0.3 <= self.alpha <= 1.5
        ):
            raise UsageError(f"alpha={self.alpha!r}: a McAdams coefficient from 0.3 to 1.5 (1: unchanged)")

    def apply(self, x: np.ndarray, sr: int) -> np.ndarray:
        from anonlab.deid.audio.mcadams import mcadams

        return mcadams(x, sr, float(self.alpha))


@dataclass(frozen=True)
class CascadeSettings:
    """Kai et al.'s cascade (:mod:`anonlab.deid.audio.cascade`), in order: ``resample_factor`` (pitch, formants and
    tempo times it), ``vtln_alpha`` (bilinear formant warp), ``modulation_cutoff_hz`` (modulation-spectrum
    smoothing), then a chorus of copies delayed by ``chorus_delays_ms`` varying by ``chorus_depth_ms`` at
    ``chorus_rate_hz``, added at ``chorus_mix``."""

    resample_factor: float
    vtln_alpha: float
    modulation_cutoff_hz: float
    chorus_delays_ms: tuple[float, ...]
    chorus_depth_ms: float
    chorus_rate_hz: float
    chorus_mix: float

    def __post_init__(self) -> None:
        checks = {
            "resample_factor": 0.7 <= self.resample_factor <= 1.4,
            "vtln_alpha": -0.4 <= self.vtln_alpha <= 0.4,
            "modulation_cutoff_hz": 2 <= self.modulation_cutoff_hz <= 50,
            "chorus_depth_ms": 0 <= self.chorus_depth_ms <= 10,
            "chorus_rate_hz": 0 <= self.chorus_rate_hz <= 10,
            "chorus_mix": 0 <= self.chorus_mix <= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise UsageError(f"{name}={getattr(self, name)!r}: out of range")
        if any(not 0 < d <= 50 or d <= self.chorus_depth_ms for d in self.chorus_delays_ms):
            raise UsageError(f"chorus_delays_ms={self.chorus_delays_ms!r}: delays in (depth, 50] ms")

    def apply(self, x: np.ndarray, sr: int) -> np.ndarray:
        from anonlab.deid.audio import cascade

        y = cascade.resample(x, sr, self.resample_factor)
        y = cascade.vtln(y, sr, self.vtln_alpha)
        y = cascade.smooth_modulation(y, sr, self.modulation_cutoff_hz)
        return cascade.chorus(
            y,
            sr,
            delays_ms=self.chorus_delays_ms,
            depth_ms=self.chorus_depth_ms,
            rate_hz=self.chorus_rate_hz,
            mix=self.chorus_mix,
        )


def speaker_generator(key: SecretKey, method: str, speaker: str) -> np.random.Generator:
    """The random generator of ``speaker`` for ``method`` under ``key``: seeded with HMAC-SHA256 of the speaker id
    under the method's sub-key."""
    sub = derive_key(key, f"voice/{method}")
    digest = hmac.new(sub, speaker.encode("utf-8"), hashlib.sha256).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


def _away_from_one(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A factor whose log lies uniformly in [log lo, log hi] with a random sign (never close to 1)."""
    r = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    return r if rng.random() < 0.5 else 1 / r


def draw_settings(rng: np.random.Generator, method: str) -> McAdamsSettings | CascadeSettings:
    """One speaker's settings for ``method`` from ``rng`` (the ranges are anonlab's own choice, narrowed where the
    offline recogniser's word error rate grew fast on a real utterance; benchmarks/results/voice.md)."""
    if method == "mcadams":
        return McAdamsSettings(alpha=round(float(rng.uniform(*MCADAMS_RANGE)), 4))
    if method == "cascade":
        sign = 1.0 if rng.random() < 0.5 else -1.0
        return CascadeSettings(
            resample_factor=round(_away_from_one(rng, 1.04, 1.12), 4),
            vtln_alpha=round(sign * float(rng.uniform(0.04, 0.1)), 4),
            modulation_cutoff_hz=round(float(rng.uniform(10.0, 20.0)), 2),
            chorus_delays_ms=tuple(round(float(d), 2) for d in rng.uniform(12.0, 30.0, 2)),
            chorus_depth_ms=round(float(rng.uniform(1.0, 3.0)), 2),
            chorus_rate_hz=round(float(rng.uniform(0.3, 1.5)), 2),
            chorus_mix=round(float(rng.uniform(0.3, 0.6)), 3),
        )
    raise UsageError(f"method={method!r}: one of {', '.join(METHODS)}")


def run_key(key: SecretKey | None, seed: int | None) -> tuple[SecretKey, str]:
    """The key settings are drawn under, and where it came from: ``"keyed"`` (the user's key), ``"seeded"`` (from
    ``seed``: reproducible, as secret as a key) or ``"random"`` (fresh entropy: consistent within this run only)."""
    if key is not None and seed is not None:
        raise UsageError("key= and seed= both given: settings come from the key; leave out seed=")
    if key is not None:
        return key, "keyed"
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise UsageError(f"seed={seed!r}: a whole number")
        return SecretKey(hashlib.sha256(f"anonlab/v1/voice-seed/{seed}".encode()).digest()), "seeded"
    from anonlab.deid.keys import generate_key

    return generate_key(), "random"
