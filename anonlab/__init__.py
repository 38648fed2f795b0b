"""anonlab: de-identification, k-anonymity and differentially private synthesis, with utility and risk measured.

The names most work needs are here, imported on first use so that ``import anonlab`` stays fast::

    import anonlab

    adult = anonlab.load_adult()
    risk = anonlab.assess(adult, quasi=["age", "sex", "race"], sensitive=["income-per-year"])
    released, report = anonlab.anonymize(adult, quasi=["age", "sex", "race"], k=10)
    twin = anonlab.synth.MST(epsilon=1.0).fit(adult, schema=anonlab.adult_schema()).sample(1000)
    anonlab.evaluate(adult, twin)

The subpackages hold the rest: :mod:`anonlab.deid` (pseudonyms, risk, k-anonymity and the SDC methods, DICOM,
photos and videos, text, voices, locations, NIfTI and EEG), :mod:`anonlab.distributed` (the same steps on a Dask cluster),
:mod:`anonlab.privacy` (DP statistics, accounting, the ledger), :mod:`anonlab.synth` (synthesizers),
:mod:`anonlab.evaluation` (utility and risk of a release). docs/python.md is the tutorial.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> "module:attribute", imported on first access (PEP 562).
_LAZY: dict[str, str] = {
    # the contract
    "Schema": "anonlab.schema:Schema",
    "read_table": "anonlab.io:read_table",
    "write_table": "anonlab.io:write_table",
    "load_adult": "anonlab.datasets:load_adult",
    "adult_schema": "anonlab.datasets:adult_schema",
    # de-identification
    "assess": "anonlab.deid:assess",
    "anonymize": "anonlab.deid:anonymize",
    "pseudonymize": "anonlab.deid:pseudonymize",
    "deidentify_dicom": "anonlab.deid.dicom:deidentify",
    "audit_dicom": "anonlab.deid.dicom:audit",
    "strip_image": "anonlab.deid.image:strip_image",
    "strip_images": "anonlab.deid.image:strip_path",
    "redact_faces": "anonlab.deid.faces:redact_faces",
    "redact_video": "anonlab.deid.video:redact_video",
    "redact_text": "anonlab.deid.text:redact_text",
    "anonymize_voice": "anonlab.deid.audio:anonymize_voice",
    "mask_locations": "anonlab.deid.geo:mask_table",
    "location_risk": "anonlab.deid.geo:location_risk",
    "convert_to_nifti": "anonlab.deid.neuro:convert_to_nifti",
    "audit_nifti": "anonlab.deid.neuro:audit_nifti",
    "deface_nifti": "anonlab.deid.neuro:deface",
    "anonymize_eeg": "anonlab.deid.neuro:anonymize_eeg",
    # differential privacy
    "Ledger": "anonlab.privacy:Ledger",
    "dp_stats": "anonlab.privacy:dp_stats",
    # evaluation
    "evaluate": "anonlab.evaluation:evaluate",
    "Study": "anonlab.evaluation:Study",
    # release recipes (anonlab run)
    "run_recipe": "anonlab.release_recipe:run_recipe",
    "ReleaseRecipe": "anonlab.release_recipe:ReleaseRecipe",
}

_SUBPACKAGES = ("datasets", "deid", "distributed", "evaluation", "privacy", "synth")

__all__ = ["__version__", *_LAZY, *_SUBPACKAGES]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from anonlab import datasets, deid, evaluation, privacy, synth  # noqa: F401
    from anonlab.datasets import adult_schema, load_adult  # noqa: F401
    from anonlab.deid import anonymize, assess, pseudonymize  # noqa: F401
    from anonlab.evaluation import Study, evaluate  # noqa: F401
    from anonlab.io import read_table, write_table  # noqa: F401
    from anonlab.privacy import Ledger, dp_stats  # noqa: F401
    from anonlab.schema import Schema  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"anonlab.{name}")
        globals()[name] = module
        return module
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'anonlab' has no attribute {name!r}")
    module_name, attr = target.split(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
