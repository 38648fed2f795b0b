"""DICOM de-identification with the PS3.15 Annex E confidentiality profile, and an audit of releases.

The names a notebook needs, imported on first use (PEP 562) so that ``import anonlab.deid.dicom`` stays fast and
pydicom is loaded only when a file is read::

    from anonlab.deid.dicom import audit, deidentify

    result = deidentify("scans/", "release/", key="study.key", profile=["retain-longitudinal-modified-dates"])
    audit("release/").findings   # 0: nothing the profile removes was left

- :func:`deidentify` (:mod:`~anonlab.deid.dicom.deidentifying`) -> :class:`DeidentifyResult`; ``deidentify_folder`` is
  its earlier name (key and options positional).
- :func:`audit` (:mod:`~anonlab.deid.dicom.auditing`) -> :class:`AuditResult`; ``audit_folder`` is its earlier name.
- :class:`Profile` and :data:`OPTIONS` (:mod:`~anonlab.deid.dicom.profile`): Table E.1-1 resolved for options.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "deidentify": "anonlab.deid.dicom.deidentifying",
    "deidentify_folder": "anonlab.deid.dicom.deidentifying",
    "DeidentifyResult": "anonlab.deid.dicom.deidentifying",
    "Deidentifier": "anonlab.deid.dicom.deidentifying",
    "audit": "anonlab.deid.dicom.auditing",
    "audit_folder": "anonlab.deid.dicom.auditing",
    "AuditResult": "anonlab.deid.dicom.auditing",
    "OPTIONS": "anonlab.deid.dicom.profile",
    "Profile": "anonlab.deid.dicom.profile",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from anonlab.deid.dicom.auditing import AuditResult, audit, audit_folder  # noqa: F401
    from anonlab.deid.dicom.deidentifying import (  # noqa: F401
        Deidentifier,
        DeidentifyResult,
        deidentify,
        deidentify_folder,
    )
    from anonlab.deid.dicom.profile import OPTIONS, Profile  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'anonlab.deid.dicom' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
