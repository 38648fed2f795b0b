"""DICOM de-identification with the PS3.15 Annex E confidentiality profile, and an audit of releases."""

from anonlab.deid.dicom.audit import AuditResult, audit_folder
from anonlab.deid.dicom.deidentify import Deidentifier, DeidentifyResult, deidentify_folder
from anonlab.deid.dicom.profile import OPTIONS, Profile

__all__ = [
    "OPTIONS",
    "Profile",
    "Deidentifier",
    "DeidentifyResult",
    "deidentify_folder",
    "AuditResult",
    "audit_folder",
]
