"""Brain imaging and physiological recordings without identifiers: DICOM to NIfTI, EEG/MEG headers, defacing.

The names a notebook needs, imported on first use (PEP 562) so that ``import anonlab.deid.neuro`` stays fast and
nibabel, dcm2niix, MNE and edfio are loaded only when a file is read (the ``neuro`` extra)::

    from anonlab.deid.neuro import audit_nifti, convert_to_nifti

    convert_to_nifti("scans/", "bids/", key="study.key", shift_dates=True)
    audit_nifti("bids/").findings   # 0: nothing identifying in sidecars or headers

- :func:`convert_to_nifti` (:mod:`~anonlab.deid.neuro.converting`) -> :class:`ConvertResult`
- :func:`audit_nifti` (:mod:`~anonlab.deid.neuro.auditing`) -> :class:`NiftiAuditResult`
- :func:`anonymize_eeg` (:mod:`~anonlab.deid.neuro.eeg`) -> :class:`EegResult` (FIF, EDF/BDF, BrainVision)
- :func:`deface` (:mod:`~anonlab.deid.neuro.defacing`) -> :class:`DefaceResult` (T1/T2 head images)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "convert_to_nifti": "anonlab.deid.neuro.converting",
    "ConvertResult": "anonlab.deid.neuro.converting",
    "audit_nifti": "anonlab.deid.neuro.auditing",
    "NiftiAuditResult": "anonlab.deid.neuro.auditing",
    "anonymize_eeg": "anonlab.deid.neuro.eeg",
    "EegResult": "anonlab.deid.neuro.eeg",
    "deface": "anonlab.deid.neuro.defacing",
    "DefaceResult": "anonlab.deid.neuro.defacing",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from anonlab.deid.neuro.auditing import NiftiAuditResult, audit_nifti  # noqa: F401
    from anonlab.deid.neuro.converting import ConvertResult, convert_to_nifti  # noqa: F401
    from anonlab.deid.neuro.defacing import DefaceResult, deface  # noqa: F401
    from anonlab.deid.neuro.eeg import EegResult, anonymize_eeg  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'anonlab.deid.neuro' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
