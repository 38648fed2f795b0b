"""Voice anonymisation by signal processing (no model, nothing downloaded) and audio metadata removal.

- :func:`anonymize_voice` (``src, dst, method=, key=, speaker=, speakers=`` -> :class:`VoiceResult`): a recording
  or a folder of them, written fresh as WAV/FLAC without tags; :class:`VoiceAnonymizer` for arrays.
- methods: ``mcadams`` (:mod:`~anonlab.deid.audio.mcadams`, the VoicePrivacy Challenge's B2) and ``cascade``
  (:mod:`~anonlab.deid.audio.cascade`, Kai et al. SLT 2022), each on frames of :mod:`~anonlab.deid.audio.lpc`.
- per-speaker settings drawn under a key (:mod:`~anonlab.deid.audio.settings`); tags found
  (:mod:`~anonlab.deid.audio.tags`).

Needs the ``audio`` extra (soundfile; mutagen to name the tags of non-WAV inputs).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "anonymize_voice": "anonlab.deid.audio.anonymizing",
    "VoiceAnonymizer": "anonlab.deid.audio.anonymizing",
    "VoiceReport": "anonlab.deid.audio.anonymizing",
    "VoiceResult": "anonlab.deid.audio.anonymizing",
    "McAdamsSettings": "anonlab.deid.audio.settings",
    "CascadeSettings": "anonlab.deid.audio.settings",
    "metadata_found": "anonlab.deid.audio.tags",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'anonlab.deid.audio' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
