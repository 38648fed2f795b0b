"""Real DICOM files from pydicom, pydicom-data and deid-data, with identifying values planted where tools miss them.

The planted folder holds two patients, three studies and an RT structure set that references an image, inside
folders named after the patients. Identifiers are planted in the top level, in nested standard sequences, in a
private block with a private sequence, and in free text.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

SITE = Path(pydicom.__file__).parent.parent
PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
PYDICOM_DATA = SITE / "data_store" / "data"
DEID_DATA = SITE / "deid_data" / "data"

# What must never reach a release. Each is planted at least once; the tests search output bytes for them.
NAMES = ["DOE^JANE", "ROE^RICHARD"]
SECRETS = ["DOE", "JANE", "ROE", "RICHARD", "MRN-4471", "MRN-9902", "ACC77120", "Elm Street", "Dr Nobody"]


def pyd(name: str) -> Path:
    return PYDICOM_FILES / name


@pytest.fixture
def secrets() -> list[str]:
    """Strings planted in the ``planted`` folder that must never appear in a release."""
    return SECRETS


@pytest.fixture
def pydicom_file():
    """Path of a file in pydicom's test_files folder."""
    return pyd


def _plant(ds: Dataset, name: str, mrn: str, study_uid: str, study_desc: str) -> Dataset:
    ds.PatientName = name
    ds.PatientID = mrn
    ds.PatientBirthDate = "19610304"
    ds.PatientSex = "F"
    ds.PatientAge = "063Y"
    ds.PatientAddress = "12 Elm Street"
    ds.AccessionNumber = "ACC77120"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = "20200115"
    ds.StudyDescription = study_desc
    ds.ReferringPhysicianName = "Dr Nobody"
    ds.InstitutionName = "St Elsewhere"
    ds.OtherPatientIDsSequence = Sequence([Dataset()])
    ds.OtherPatientIDsSequence[0].PatientID = mrn + "-OLD"
    # nested standard sequences two levels deep (not in the table), with names and identifiers inside
    series = Dataset()
    series.SeriesInstanceUID = study_uid + ".77"
    series.SeriesDescription = f"series of {name}"
    inner = Dataset()
    inner.PatientName = name
    inner.PatientID = mrn
    inner.PerformingPhysicianName = "Dr Nobody"
    inner.ReferencedSOPInstanceUID = study_uid + ".77.1"
    series.ReferencedInstanceSequence = Sequence([inner])
    ds.ReferencedSeriesSequence = Sequence([series])
    # a private block with text, a number and a private sequence holding a standard PatientName
    block = ds.private_block(0x0011, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", name)
    block.add_new(0x02, "US", 7)
    priv_item = Dataset()
    priv_item.PatientName = name
    priv_item.PatientID = mrn
    block.add_new(0x03, "SQ", Sequence([priv_item]))
    return ds


def write(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def planted(tmp_path) -> Path:
    """A folder of real files with planted identifiers: two patients, three studies, references across files."""
    root = tmp_path / "incoming"
    study_a1 = "1.2.826.0.1.3680043.2.1125.1.1"
    study_a2 = "1.2.826.0.1.3680043.2.1125.1.2"
    study_b = "1.2.826.0.1.3680043.2.1125.2.1"
    ct = pydicom.dcmread(pyd("CT_small.dcm"))
    ct = _plant(ct, NAMES[0], "MRN-4471", study_a1, "CT head DOE")
    ct.preamble = b"scanned for DOE^JANE MRN-4471".ljust(128, b"\x00")  # the preamble is free for any use
    write(ct, root / "DOE_JANE" / "study1" / "ct1.dcm")
    ct2 = pydicom.dcmread(pyd("CT_small.dcm"))
    ct2 = _plant(ct2, NAMES[0], "MRN-4471", study_a1, "CT head DOE")
    ct2.SOPInstanceUID = ct.SOPInstanceUID + ".2"
    ct2.file_meta.MediaStorageSOPInstanceUID = ct2.SOPInstanceUID
    ref = Dataset()
    ref.ReferencedSOPClassUID = ct.SOPClassUID
    ref.ReferencedSOPInstanceUID = ct.SOPInstanceUID
    ct2.SourceImageSequence = Sequence([ref])
    write(ct2, root / "DOE_JANE" / "study1" / "ct2.dcm")
    mr = pydicom.dcmread(pyd("MR_small.dcm"))
    mr = _plant(mr, NAMES[0], "MRN-4471", study_a2, "MR follow-up")
    mr.StudyDate = "20200301"
    write(mr, root / "DOE_JANE" / "study2" / "mr.dcm")
    mr_b = pydicom.dcmread(pyd("MR_small.dcm"))
    mr_b = _plant(mr_b, NAMES[1], "MRN-9902", study_b, "MR ROE")
    mr_b.SOPInstanceUID = mr.SOPInstanceUID + ".9"
    mr_b.SeriesInstanceUID = mr.SeriesInstanceUID + ".9"
    mr_b.file_meta.MediaStorageSOPInstanceUID = mr_b.SOPInstanceUID
    write(mr_b, root / "ROE_RICHARD" / "mr.dcm")
    rs = pydicom.dcmread(pyd("rtstruct.dcm"), force=True)
    rs = _plant(rs, NAMES[1], "MRN-9902", study_b, "RT ROE")
    # point the structure set's contour images at the MR of patient B
    for fr in rs.ReferencedFrameOfReferenceSequence:
        for st in fr.RTReferencedStudySequence:
            for se in st.RTReferencedSeriesSequence:
                se.SeriesInstanceUID = mr_b.SeriesInstanceUID
                img = Dataset()
                img.ReferencedSOPClassUID = mr_b.SOPClassUID
                img.ReferencedSOPInstanceUID = mr_b.SOPInstanceUID
                se.ContourImageSequence = Sequence([img])
    write(rs, root / "ROE_RICHARD" / "rtstruct.dcm")
    (root / "ROE_RICHARD" / "notes.txt").write_text("Richard Roe, MRN-9902, scanned 2020-01-15\n")
    return root


@pytest.fixture
def broken(tmp_path) -> Path:
    """Real truncated files and a non-DICOM file, beside one good file."""
    root = tmp_path / "broken"
    root.mkdir()
    for name in ("MR_truncated.dcm", "rtplan_truncated.dcm", "CT_small.dcm"):
        shutil.copy(pyd(name), root / name)
    shutil.copy(pyd("README.txt"), root / "README.txt")
    return root


@pytest.fixture
def burned(tmp_path) -> Path:
    """Ultrasound files from deid-data (BurnedInAnnotation YES) and a secondary capture from pydicom."""
    root = tmp_path / "burned"
    root.mkdir()
    shutil.copy(DEID_DATA / "ultrasounds" / "GREYSCALE_IMAGE.dcm", root / "us_flagged.dcm")
    shutil.copy(DEID_DATA / "humans" / "ctbrain1.dcm", root / "sc_unflagged.dcm")
    shutil.copy(pyd("CT_small.dcm"), root / "ct.dcm")
    return root
