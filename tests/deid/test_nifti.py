"""`anonlab nifti convert` / `nifti audit` on real DICOM series (pydicom's and pydicom-data's MR files) with planted
identifiers: nothing identifying reaches sidecars, headers or names; subject IDs and date shifts agree with
`anonlab pseudonymize` and DICOM de-identification under the same key; voxels are dcm2niix's, byte for byte."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest

pydicom = pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")
nib = pytest.importorskip("nibabel", reason="the neuro extra (nibabel) is not installed")
dcm2niix = pytest.importorskip("dcm2niix", reason="the neuro extra (dcm2niix) is not installed")

from anonlab.cli import main  # noqa: E402
from anonlab.deid.keys import read_key, write_key  # noqa: E402
from anonlab.deid.neuro import audit_nifti, convert_to_nifti  # noqa: E402
from anonlab.deid.pseudonym import Pseudonymizer, pseudonymize  # noqa: E402
from anonlab.errors import MissingExtraError, OutputExistsError, UsageError  # noqa: E402

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
DATA_STORE = Path(pydicom.__file__).parent.parent / "data_store" / "data"
DEID_DATA = Path(pydicom.__file__).parent.parent / "deid_data" / "data"
DICOMDIR_PATIENT = PYDICOM_FILES / "dicomdirtests" / "98892003"

# planted into the enhanced MR, or already in pydicom's DICOMDIR test series (Doe^Peter, 98890234)
SECRETS = [
    "DOE^JANE", "Jane", "MRN-4471", "19610304", "St Elsewhere", "Elm Street", "Nobody", "SN-99812",
    "SCANNER-7", "ACC77120", "Peter", "98890234",
]  # fmt: skip


@pytest.fixture
def dicom_in(tmp_path) -> Path:
    """Two patients in folders named after them: pydicom's MR700 and MR2 series (Doe^Peter), and pydicom-data's
    enhanced multi-frame MR with identifiers planted in names, IDs, descriptions and device fields."""
    root = tmp_path / "incoming"
    shutil.copytree(DICOMDIR_PATIENT / "MR700", root / "Peter_Doe_98890234" / "MR700")
    shutil.copytree(DICOMDIR_PATIENT / "MR2", root / "Peter_Doe_98890234" / "MR2")
    ds = pydicom.dcmread(DATA_STORE / "emri_small.dcm")
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "MRN-4471"
    ds.PatientBirthDate = "19610304"
    ds.PatientAddress = "12 Elm Street"
    ds.InstitutionName = "St Elsewhere"
    ds.ReferringPhysicianName = "Dr Nobody"
    ds.DeviceSerialNumber = "SN-99812"
    ds.StationName = "SCANNER-7"
    ds.AccessionNumber = "ACC77120"
    ds.SeriesDescription = "T1 Jane MRN-4471 2020-01-15"
    ds.ProtocolName = "t1 for DOE jane@example.org"
    (root / "DOE_JANE").mkdir(parents=True)
    ds.save_as(root / "DOE_JANE" / "t1.dcm")
    (root / "DOE_JANE" / "notes.txt").write_text("Jane Doe, MRN-4471\n")
    return root


@pytest.fixture
def key_file(tmp_path) -> Path:
    return write_key(tmp_path / "study.key")


def all_text(folder: Path) -> bytes:
    """Every output file's bytes (decompressed) and every path, for searching."""
    parts = []
    for p in sorted(folder.rglob("*")):
        parts.append(str(p.relative_to(folder)).encode())
        if p.is_file():
            parts.append(gzip.decompress(p.read_bytes()) if p.name.endswith(".gz") else p.read_bytes())
    return b"\n".join(parts)


def sidecars(folder: Path) -> list[tuple[Path, dict]]:
    return [(p, json.loads(p.read_text())) for p in sorted(folder.glob("sub-*/ses-*/*/*.json"))]


def test_planted_identifiers_never_reach_the_output(dicom_in, tmp_path, key_file):
    out = tmp_path / "bids"
    result = convert_to_nifti(dicom_in, out, key=key_file, shift_dates=True, keep_descriptions=True)
    assert result.exit_code == 0 and result.subjects == 2 and result.series == 5
    assert len(result.outputs) == 15 and [s["input"] for s in result.skipped] == [
        str(dicom_in / "DOE_JANE" / "notes.txt")
    ]
    text = all_text(out).lower()
    for secret in SECRETS + [read_key(key_file).material.hex()]:
        assert secret.lower().encode() not in text, secret
    assert b"2020-01-15" not in text and b"example.org" not in text
    assert audit_nifti(out, descriptions=True).exit_code == 0
    # the descriptions that survive are cleaned, not dropped
    t1 = next(d for p, d in sidecars(out) if p.parent.name == "anat")
    assert t1["SeriesDescription"] == "T1" and t1["Modality"] == "MR" and t1["MagneticFieldStrength"] == 3
    for name in ("PatientName", "PatientID", "InstitutionName", "DeviceSerialNumber", "StationName"):
        assert result.dropped_fields.get(name), name


def test_layout_is_bids_and_nifti_headers_hold_no_text(dicom_in, tmp_path, key_file):
    out = tmp_path / "bids"
    result = convert_to_nifti(dicom_in, out, key=key_file)
    assert json.loads((out / "dataset_description.json").read_text())["BIDSVersion"]
    participants = (out / "participants.tsv").read_text().splitlines()
    assert participants[0] == "participant_id" and len(participants) == 3
    for rel in result.outputs:
        assert rel.startswith("sub-") and rel.endswith(".nii.gz")
        sub, ses, datatype, name = rel.split("/")
        assert name.startswith(f"{sub}_{ses}_") and datatype in ("anat", "misc")
        hdr = nib.load(out / rel).header
        for f in ("descrip", "aux_file", "intent_name", "db_name"):
            assert hdr[f].item() == b"", (rel, f)
        assert len(hdr.extensions) == 0
        raw = (out / rel).read_bytes()
        assert raw[3] & 0x08 == 0 and raw[4:8] == b"\0\0\0\0"  # gzip: no file name, no time stamp
    assert result.cleared_header_fields.get("descrip") == 15  # dcm2niix wrote TE and time of day there


def test_voxels_are_dcm2niix_bytes(dicom_in, tmp_path, key_file):
    out = tmp_path / "bids"
    convert_to_nifti(dicom_in / "DOE_JANE", out, key=key_file, compress=False)
    raw = tmp_path / "raw"
    raw.mkdir()
    subprocess.run(
        [dcm2niix.bin, "-b", "n", "-z", "n", "-o", str(raw), str(dicom_in / "DOE_JANE")],
        check=True,
        capture_output=True,
    )
    (theirs,) = raw.glob("*.nii")
    (ours,) = out.glob("sub-*/ses-*/anat/*.nii")
    a, b = nib.load(theirs), nib.load(ours)
    vox = a.dataobj.offset
    assert vox == b.dataobj.offset == 352
    assert theirs.read_bytes()[vox:] == ours.read_bytes()[vox:]
    assert (a.affine == b.affine).all() and a.shape == b.shape == (64, 64, 10)
    assert a.header["descrip"].item() and not b.header["descrip"].item()


def test_subject_ids_agree_with_pseudonymize_and_dicom_deidentify(dicom_in, tmp_path, key_file):
    import pandas as pd

    from anonlab.deid.dicom import deidentify

    out = tmp_path / "bids"
    convert_to_nifti(dicom_in, out, key=key_file)
    subjects = sorted(p.name for p in out.glob("sub-*"))
    table, _ = pseudonymize(pd.DataFrame({"mrn": ["MRN-4471", "98890234"]}), key=key_file, ids=["mrn"])
    assert subjects == sorted(f"sub-{s}" for s in table["mrn"])
    dicom_out = tmp_path / "dicom"
    deidentify(dicom_in / "DOE_JANE", dicom_out, key=key_file, workers=1)
    (f,) = dicom_out.rglob("*.dcm")
    assert f"sub-{pydicom.dcmread(f).PatientID}" in subjects
    # another key: unrelated labels
    other = convert_to_nifti(dicom_in, tmp_path / "other", key=write_key(tmp_path / "other.key"))
    assert not set(r.split("/")[0] for r in other.outputs) & set(subjects)


def test_dates_shifted_by_the_subjects_keyed_offset(dicom_in, tmp_path, key_file):
    out = tmp_path / "bids"
    convert_to_nifti(dicom_in / "DOE_JANE", out, key=key_file, shift_dates=True)
    ((path, sidecar),) = sidecars(out)
    offset = Pseudonymizer(read_key(key_file)).offset_days("MRN-4471")
    original = dt.datetime.fromisoformat("2012-08-20T12:08:04.060000")  # emri_small's acquisition
    assert dt.datetime.fromisoformat(sidecar["AcquisitionDateTime"]) - original == dt.timedelta(days=offset)
    assert sidecar["AcquisitionTime"] == "12:08:04.060000"
    (scans,) = out.glob("sub-*/ses-*/*_scans.tsv")
    assert scans.read_text().splitlines()[1].endswith(sidecar["AcquisitionDateTime"])
    assert audit_nifti(out).dates_shifted
    # without the shift no date or time of day is written anywhere
    plain = tmp_path / "plain"
    convert_to_nifti(dicom_in / "DOE_JANE", plain, key=key_file)
    ((_, sidecar),) = sidecars(plain)
    assert "AcquisitionDateTime" not in sidecar and "AcquisitionTime" not in sidecar
    assert not list(plain.glob("sub-*/ses-*/*_scans.tsv")) and b"2012" not in all_text(plain)


def test_audit_finds_what_dcm2niix_and_tampering_leave(dicom_in, tmp_path, key_file):
    raw = tmp_path / "raw"
    raw.mkdir()
    subprocess.run(
        [dcm2niix.bin, "-b", "y", "-ba", "n", "-z", "y", "-o", str(raw), str(dicom_in / "DOE_JANE")],
        check=True,
        capture_output=True,
    )
    found = audit_nifti(raw)
    assert found.exit_code == 1
    rules = {(f.rule, f.field) for f in found.findings}
    assert {
        ("identifying field", "PatientName"),
        ("identifying field", "PatientID"),
        ("header-text", "descrip"),
    } <= rules
    assert ("unshifted date", "AcquisitionDateTime") in rules
    # never a value (the paths are dcm2niix's default names, which hold the folder's name: only an audit that
    # knew the names could tell)
    assert all("jane" not in f"{f.rule} {f.field} {f.detail}".lower() for f in found.findings)
    out = tmp_path / "bids"
    convert_to_nifti(dicom_in, out, key=key_file)
    assert audit_nifti(out).exit_code == 0
    path, sidecar = sidecars(out)[0]
    sidecar["EchoTime"] = "2020-01-15"
    sidecar["OperatorsName"] = "x"
    path.write_text(json.dumps(sidecar))
    nii = next(out.glob("sub-*/ses-*/*/*.nii.gz"))
    img = nib.load(nii)
    img.header["descrip"] = b"Jane"
    nib.save(nib.Nifti1Image(img.get_fdata(), img.affine, img.header), nii)
    data = gzip.decompress(nii.read_bytes())
    with open(nii, "wb") as fh, gzip.GzipFile("DOE_JANE_t1.nii", "wb", fileobj=fh) as gz:
        gz.write(data)  # a gzip header that names the original file
    shutil.copy(dicom_in / "DOE_JANE" / "t1.dcm", out / "t1.dcm")
    rules = {(f.rule, f.field) for f in audit_nifti(out).findings}
    assert {("text", "EchoTime"), ("identifying field", "OperatorsName"), ("header-text", "descrip")} <= rules
    assert ("unexpected file", "") in rules and ("gzip-name", "") in rules


def test_burned_in_images_are_withheld(tmp_path, key_file):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(DEID_DATA / "humans" / "ctbrain1.dcm", src / "ct.dcm")  # a secondary capture
    result = convert_to_nifti(src, tmp_path / "out", key=key_file)
    assert result.exit_code == 1 and len(result.withheld) == 1 and not result.outputs


def test_outputs_and_inputs_are_protected(dicom_in, tmp_path, key_file):
    out = tmp_path / "bids"
    convert_to_nifti(dicom_in, out, key=key_file)
    with pytest.raises(OutputExistsError):
        convert_to_nifti(dicom_in, out, key=key_file)
    assert convert_to_nifti(dicom_in, out, key=key_file, force=True).exit_code == 0
    with pytest.raises(UsageError):
        convert_to_nifti(dicom_in, dicom_in / "out", key=key_file)
    with pytest.raises(UsageError):
        convert_to_nifti(tmp_path / "missing", tmp_path / "x", key=key_file)
    with pytest.raises(UsageError, match="max_shift_days"):
        convert_to_nifti(dicom_in, tmp_path / "y", key=key_file, max_shift_days=0)
    with pytest.raises(UsageError):
        audit_nifti(tmp_path / "missing")


def test_cli_convert_and_audit(dicom_in, tmp_path, key_file, capsys):
    out = tmp_path / "bids"
    assert (
        main(["nifti", "convert", str(dicom_in), str(out), "--key-file", str(key_file), "--json", "--quiet"])
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["nifti_files"] == 15 and d["subjects"] == 2
    assert main(["nifti", "audit", str(out)]) == 0
    assert "0 findings" in capsys.readouterr().out
    (out / "extra.pdf").write_bytes(b"%PDF")
    assert main(["nifti", "audit", str(out), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["by_rule"] == {"unexpected file": 1}
    assert main(["nifti", "convert", str(dicom_in), str(out), "--key-file", str(key_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--force" in err
    assert (
        main(["nifti", "convert", str(dicom_in), str(tmp_path / "z"), "--key-file", str(tmp_path / "nokey")])
        == 2
    )
    assert "no such key file" in capsys.readouterr().err


def test_missing_extra_is_named(monkeypatch, dicom_in, tmp_path, key_file, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "nibabel", None)
    with pytest.raises(MissingExtraError, match="neuro"):
        convert_to_nifti(dicom_in, tmp_path / "out", key=key_file)
    assert main(["nifti", "audit", str(tmp_path)]) == 2
    assert "anonlab[neuro]" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_audit_does_not_take_a_pseudonym_label_for_a_record_number(tmp_path):
    """A subject label is a keyed pseudonym in lower-case base32: about one in a few hundred holds a run of five
    digits (``pgd6ysmfmaf26353``), which failed the converter's own output in CI. Such a label is no record number;
    a label of digits alone still is."""
    for label, session in (("pgd6ysmfmaf26353", "vq7lb4j2"), ("1234567", "01")):
        anat = tmp_path / f"sub-{label}" / f"ses-{session}" / "anat"
        anat.mkdir(parents=True)
        scans = tmp_path / f"sub-{label}" / f"ses-{session}" / f"sub-{label}_ses-{session}_scans.tsv"
        scans.write_text(f"filename\tacq_time\nanat/sub-{label}_ses-{session}_run-1_T1w.nii.gz\tn/a\n")
    found = audit_nifti(tmp_path)
    flagged = {f.path for f in found.findings if f.rule in ("path", "text")}
    assert flagged and all("1234567" in p for p in flagged)
    assert not any("pgd6ysmfmaf26353" in p for p in flagged)
