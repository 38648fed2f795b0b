"""Synthetic twins: AIM, MST, NAPSU-MQ and DPVI (differentially private) and the SDV baselines, as classes.

    from anonlab.synth import AIM
    model = AIM(epsilon=1.0, delta=1e-9).fit(df, schema, ledger="adult.ledger")
    twin = model.sample(10_000)
    model.privacy_spent, model.save("twin.model")

Every name is imported on first use (module ``__getattr__``), so ``import anonlab.synth`` stays light; the method
classes come through :mod:`anonlab.synth.registry`, which also takes a research user's own methods.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "AIM",
    "CTGAN",
    "DPVI",
    "MST",
    "Budget",
    "EncodedSynthesizer",
    "FrameSynthesizer",
    "GaussianCopula",
    "NapsuMQ",
    "PrivacySpent",
    "SynthResult",
    "Synthesizer",
    "available_methods",
    "get",
    "get_method",
    "load",
    "names",
    "register",
    "registered",
    "sample_model",
    "synthesize",
    "unregister",
]

#: name -> the module that holds it (the method classes come through the registry)
_WHERE = {
    "Budget": "anonlab.synth.budget",
    "PrivacySpent": "anonlab.synth.budget",
    "Synthesizer": "anonlab.synth.base",
    "EncodedSynthesizer": "anonlab.synth.base",
    "FrameSynthesizer": "anonlab.synth.base",
    "get_method": "anonlab.synth.base",
    "available_methods": "anonlab.synth.base",
    "get": "anonlab.synth.registry",
    "names": "anonlab.synth.registry",
    "register": "anonlab.synth.registry",
    "registered": "anonlab.synth.registry",
    "unregister": "anonlab.synth.registry",
    "synthesize": "anonlab.synth.release",
    "sample_model": "anonlab.synth.release",
    "SynthResult": "anonlab.synth.release",
}


def __getattr__(name: str) -> Any:
    if name == "load":
        return import_module("anonlab.synth.base").Synthesizer.load
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    from anonlab.synth.registry import CLASS_NAMES, get

    if name in CLASS_NAMES:
        return get(CLASS_NAMES[name])
    raise AttributeError(f"module 'anonlab.synth' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
