"""`anonlab dicom deidentify` on real files with planted identifiers."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pydicom
import pytest

from anonlab.deid.dicom.deidentifying import deidentify_folder
from anonlab.deid.dicom.uids import UID_PURPOSE, keyed_uid
from anonlab.deid.keys import read_key, write_key
from anonlab.deid.pseudonym import Pseudonymizer
from anonlab.errors import OutputExistsError, UsageError

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def pyd(name: str) -> Path:
    return PYDICOM_FILES / name


NUMERIC = {"US", "SS", "UL", "SL", "FL", "FD", "DS", "IS"}


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def outputs(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.dcm"))


def read_all(folder: Path) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(p) for p in outputs(folder)]


def test_planted_identifiers_never_reach_the_output(planted, tmp_path, key_file, secrets):
    key = read_key(key_file)
    before = tree_digest(planted)
    out = tmp_path / "release"
    result = deidentify_folder(planted, out, key, workers=1)
    assert tree_digest(planted) == before  # input untouched
    assert result.written == 5 and result.failed == [] and result.withheld == []
    assert [s["input"].endswith("notes.txt") for s in result.skipped] == [True]
    assert result.exit_code == 0
    for p in outputs(out):
        rel = p.relative_to(out)
        assert len(rel.parts) == 3
        assert all(part.startswith("2.25.") for part in rel.parts)
        data = p.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (secret, rel)
            assert secret.upper().encode() not in data, (secret, rel)


def test_profile_applied_in_nested_and_private_sequences(planted, tmp_path, key_file):
    out = tmp_path / "release"
    deidentify_folder(planted, out, read_key(key_file), workers=1)
    for ds in read_all(out):
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.LongitudinalTemporalInformationModified == "REMOVED"
        assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100"]
        assert ds.PatientName == "" and ds.PatientBirthDate == "" and ds.AccessionNumber == ""
        assert "PatientAddress" not in ds and "OtherPatientIDsSequence" not in ds
        assert "StudyDate" in ds and ds.StudyDate == ""
        assert not [e for e in ds.iterall() if e.tag.is_private]
        series = ds.ReferencedSeriesSequence[0]
        assert "SeriesDescription" not in series and series.SeriesInstanceUID.startswith("2.25.")
        inner = series.ReferencedInstanceSequence[0]
        assert inner.PatientName == "" and inner.PatientID == ds.PatientID  # the same keyed pseudonym
        assert "PerformingPhysicianName" not in inner
        assert inner.ReferencedSOPInstanceUID.startswith("2.25.")
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID


def test_pixel_data_copied_unchanged(planted, tmp_path, key_file):
    out = tmp_path / "release"
    deidentify_folder(planted, out, read_key(key_file), workers=1)
    original = pydicom.dcmread(pyd("CT_small.dcm")).PixelData
    cts = [ds for ds in read_all(out) if ds.Modality == "CT"]
    assert len(cts) == 2 and all(ds.PixelData == original for ds in cts)


def test_uids_and_references_stay_consistent(planted, tmp_path, key_file):
    key = read_key(key_file)
    sub = key.derive(UID_PURPOSE)
    out = tmp_path / "release"
    deidentify_folder(planted, out, key, workers=1)
    by_sop = {ds.SOPInstanceUID: ds for ds in read_all(out)}
    cts = [ds for ds in by_sop.values() if ds.Modality == "CT"]
    assert len({ds.StudyInstanceUID for ds in cts}) == 1
    assert cts[0].StudyInstanceUID == keyed_uid(sub, "1.2.826.0.1.3680043.2.1125.1.1")
    # the second CT's SourceImageSequence points at the first CT's new SOPInstanceUID
    ct2 = next(ds for ds in cts if "SourceImageSequence" in ds)
    target = ct2.SourceImageSequence[0].ReferencedSOPInstanceUID
    assert target in by_sop and by_sop[target] is not ct2
    # the RT structure set's contour images point at patient B's MR, by its new UIDs
    rs = next(ds for ds in by_sop.values() if ds.Modality == "RTSTRUCT")
    series = (
        rs.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    )
    mr_b = next(
        ds
        for ds in by_sop.values()
        if ds.Modality == "MR" and ds.SeriesInstanceUID == series.SeriesInstanceUID
    )
    assert series.ContourImageSequence[0].ReferencedSOPInstanceUID == mr_b.SOPInstanceUID
    assert rs.StudyInstanceUID == mr_b.StudyInstanceUID
    assert rs.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID.startswith("2.25.")


def test_patient_pseudonyms_link_within_a_key_only(planted, tmp_path, key_file):
    key = read_key(key_file)
    out = tmp_path / "a"
    deidentify_folder(planted, out, key, workers=1)
    ids = {ds.PatientID for ds in read_all(out)}
    p = Pseudonymizer(key)
    assert ids == {p.pseudonym("MRN-4471"), p.pseudonym("MRN-9902")}
    other = read_key(write_key(tmp_path / "other.key"))
    out2 = tmp_path / "b"
    deidentify_folder(planted, out2, other, workers=1)
    ids2 = {ds.PatientID for ds in read_all(out2)}
    assert not ids & ids2
    assert not {ds.SOPInstanceUID for ds in read_all(out)} & {ds.SOPInstanceUID for ds in read_all(out2)}


def test_deterministic_per_key(planted, tmp_path, key_file):
    key = read_key(key_file)
    deidentify_folder(planted, tmp_path / "one", key, workers=1)
    deidentify_folder(planted, tmp_path / "two", key, workers=1)
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")


def test_parallel_workers_write_what_one_process_writes(tmp_path, key_file):
    key = read_key(key_file)
    serial = deidentify_folder(PYDICOM_FILES, tmp_path / "one", key, workers=1, allow_burned_in=True)
    parallel = deidentify_folder(PYDICOM_FILES, tmp_path / "two", key, workers=2, allow_burned_in=True)
    assert parallel.written == serial.written > 100
    # inputs sharing a SOP Instance UID get .2, .3 suffixes in completion order: compare contents, not names
    assert sorted(tree_digest(tmp_path / "one").values()) == sorted(tree_digest(tmp_path / "two").values())
    assert {p.parent for p in outputs(tmp_path / "one")} and {
        p.relative_to(tmp_path / "one").parent for p in outputs(tmp_path / "one")
    } == {p.relative_to(tmp_path / "two").parent for p in outputs(tmp_path / "two")}


def test_truncated_and_non_dicom_inputs(broken, tmp_path, key_file):
    out = tmp_path / "release"
    result = deidentify_folder(broken, out, read_key(key_file), workers=1)
    failed = sorted(Path(f["input"]).name for f in result.failed)
    assert failed == ["MR_truncated.dcm", "rtplan_truncated.dcm"]
    assert all("truncated" in f["reason"] for f in result.failed)
    assert [Path(s["input"]).name for s in result.skipped] == ["README.txt"]
    assert result.written == 1 and len(outputs(out)) == 1
    assert result.exit_code == 1


def test_burned_in_images_withheld_unless_allowed(burned, tmp_path, key_file):
    key = read_key(key_file)
    result = deidentify_folder(burned, tmp_path / "a", key, workers=1)
    withheld = {Path(w["input"]).name: w["reason"] for w in result.withheld}
    assert set(withheld) == {"us_flagged.dcm", "sc_unflagged.dcm"}
    assert "YES" in withheld["us_flagged.dcm"] and "secondary capture" in withheld["sc_unflagged.dcm"]
    assert result.written == 1 and result.exit_code == 1
    allowed = deidentify_folder(burned, tmp_path / "b", key, workers=1, allow_burned_in=True)
    assert allowed.written == 3 and allowed.exit_code == 0


def test_manifest_maps_originals_and_stays_outside_release(planted, tmp_path, key_file):
    import csv

    key = read_key(key_file)
    out = tmp_path / "release"
    with pytest.raises(UsageError, match="manifest"):
        deidentify_folder(planted, out, key, workers=1, manifest=out / "map.csv")
    manifest = tmp_path / "private" / "map.csv"
    deidentify_folder(planted, out, key, workers=1, manifest=manifest)
    assert stat.S_IMODE(os.stat(manifest).st_mode) == 0o600
    rows = list(csv.DictReader(manifest.open()))
    pid = {r["original"]: r["replacement"] for r in rows if r["attribute"] == "PatientID"}
    assert pid["MRN-4471"] == Pseudonymizer(key).pseudonym("MRN-4471")
    studies = {r["original"]: r["replacement"] for r in rows if r["attribute"] == "StudyInstanceUID"}
    assert studies["1.2.826.0.1.3680043.2.1125.1.1"] == keyed_uid(
        key.derive(UID_PURPOSE), "1.2.826.0.1.3680043.2.1125.1.1"
    )
    paths = [r for r in rows if r["attribute"] == "path"]
    assert len(paths) == 5 and all(Path(r["replacement"]).exists() for r in paths)


def test_output_folder_rules(planted, tmp_path, key_file):
    key = read_key(key_file)
    with pytest.raises(UsageError, match="inside the input"):
        deidentify_folder(planted, planted / "out", key, workers=1)
    out = tmp_path / "release"
    deidentify_folder(planted, out, key, workers=1)
    with pytest.raises(OutputExistsError, match="not empty"):
        deidentify_folder(planted, out, key, workers=1)
    before = tree_digest(out)
    deidentify_folder(planted, out, key, workers=1, force=True)  # an earlier run's files are replaced
    assert tree_digest(out) == before


def test_duplicate_sop_instance_uids_never_overwrite(tmp_path, key_file):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm"):
        shutil.copy(pyd(name), src / name)
    result = deidentify_folder(src, tmp_path / "out", read_key(key_file), workers=1)
    assert result.written == 3 and len(outputs(tmp_path / "out")) == 3


def test_retain_modified_dates_shifts_per_patient(planted, tmp_path, key_file):
    key = read_key(key_file)
    out = tmp_path / "release"
    deidentify_folder(planted, out, key, ["retain-longitudinal-modified-dates"], workers=1)
    p = Pseudonymizer(key)
    import datetime as dt

    shifted = {}
    for ds in read_all(out):
        assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
        assert "113107" in [i.CodeValue for i in ds.DeidentificationMethodCodeSequence]
        shifted.setdefault(ds.PatientID, set()).add(ds.StudyDate)
    a = p.pseudonym("MRN-4471")
    off = p.offset_days("MRN-4471")
    expect = {
        (dt.date(2020, 1, 15) + dt.timedelta(days=off)).strftime("%Y%m%d"),
        (dt.date(2020, 3, 1) + dt.timedelta(days=off)).strftime("%Y%m%d"),
    }
    assert shifted[a] == expect  # the 46-day interval survives


def test_retain_options(planted, tmp_path, key_file):
    key = read_key(key_file)
    out = tmp_path / "release"
    opts = ["retain-uids", "retain-patient-characteristics", "retain-safe-private", "clean-descriptors"]
    deidentify_folder(planted, out, key, opts, workers=1)
    for ds in read_all(out):
        assert ds.StudyInstanceUID.startswith("1.2.826.0.1.3680043.2.1125")
        assert ds.PatientSex == "F" and ds.PatientAge == "063Y"
        privates = [e for e in ds if e.tag.is_private]
        assert "ACME 1.0" not in [e.value for e in privates]  # unknown creator: nothing of it is safe
        assert all(e.VR in NUMERIC or e.tag.is_private_creator for e in privates)
        assert not [e for e in privates if "date" in e.name.lower() or "time" in e.name.lower()]
        if ds.Modality == "CT":  # GE's known numeric private attributes survive
            assert [e for e in privates if not e.tag.is_private_creator]
        assert "DOE" not in ds.StudyDescription and "ROE" not in ds.StudyDescription
        assert ds.PatientName == ""
    assert (out / "1.2.826.0.1.3680043.2.1125.1.1").is_dir()


def test_overlays_removed_unless_clean_graphics(tmp_path, key_file):
    key = read_key(key_file)
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(pyd("examples_overlay.dcm"), src / "o.dcm")
    deidentify_folder(src, tmp_path / "a", key, workers=1)
    (ds,) = read_all(tmp_path / "a")
    assert not [e for e in ds if 0x6000 <= e.tag.group <= 0x601E]
    deidentify_folder(src, tmp_path / "b", key, ["clean-graphics"], workers=1)
    (ds,) = read_all(tmp_path / "b")
    assert 0x60003000 in ds


def test_sr_content_free_text_replaced(tmp_path, key_file):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(pyd("test-SR.dcm"), src / "sr.dcm")
    original = [e.value for e in pydicom.dcmread(pyd("test-SR.dcm")).iterall() if e.keyword == "TextValue"]
    assert original
    deidentify_folder(src, tmp_path / "a", read_key(key_file), workers=1)
    (ds,) = read_all(tmp_path / "a")
    texts = [e.value for e in ds.iterall() if e.keyword == "TextValue"]
    assert texts and set(texts) == {"ANONYMIZED"}
    assert all(e.value in ("", "ANONYMIZED") for e in ds.iterall() if e.VR == "PN")


def test_cli_deidentify(planted, tmp_path, key_file, cli):
    import json

    out = tmp_path / "release"
    code, stdout, stderr = cli(
        "dicom", "deidentify", planted, out, "--key-file", key_file, "--workers", "1", "--json"
    )
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["written"] == 5 and summary["skipped"] == 1 and summary["options"] == []
    assert key_file.read_text().strip() not in stdout + stderr
    code, stdout, stderr = cli(
        "dicom", "deidentify", planted, tmp_path / "x", "--key-file", tmp_path / "nokey"
    )
    assert code == 2 and "no such key file" in stderr and "Traceback" not in stderr
    code, _, stderr = cli("dicom", "deidentify", planted, out, "--key-file", key_file)
    assert code == 2 and "not empty" in stderr


def test_cli_exit_1_on_failed_or_withheld(broken, tmp_path, key_file, cli):
    code, stdout, _ = cli(
        "dicom", "deidentify", broken, tmp_path / "out", "--key-file", key_file, "--workers", "1"
    )
    assert code == 1
    assert "failed:" in stdout and "MR_truncated.dcm" in stdout and "skipped:" in stdout


class _Square:
    def run(self, x):
        return x * x


def test_parallel_map_keeps_a_bounded_number_in_flight():
    from anonlab.deid.dicom.deidentifying import parallel_map

    pulled = []

    def items():
        for i in range(200):
            pulled.append(i)
            yield i

    gen = parallel_map(_Square, (), "run", items(), workers=2, chunk=4)
    first = next(gen)
    assert first in {i * i for i in range(16)}
    assert len(pulled) <= 2 * 2 * 4 + 4  # never the whole input at once
    rest = sorted([first, *gen])
    assert rest == [i * i for i in range(200)]


def test_console_script_runs(planted, tmp_path, key_file):
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("anonlab")
    out = tmp_path / "release"
    proc = subprocess.run(
        [
            str(exe),
            "dicom",
            "deidentify",
            str(planted),
            str(out),
            "--key-file",
            str(key_file),
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "5 written" in proc.stdout and "1 skipped" in proc.stdout
    audit = subprocess.run(
        [str(exe), "dicom", "audit", str(out)], capture_output=True, text=True, timeout=120
    )
    assert audit.returncode == 0 and "0 findings" in audit.stdout


def test_fast_writer_matches_pydicom_byte_for_byte(tmp_path, key_file):
    import io
    import warnings

    from anonlab.deid.dicom.apply import Context, deidentify_dataset
    from anonlab.deid.dicom.deidentifying import Deidentifier
    from anonlab.deid.dicom.reading import NotDicom, Unreadable, read_whole
    from anonlab.deid.dicom.writing import _pydicom_write, write_file

    d = Deidentifier(read_key(key_file), (), tmp_path)
    checked = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in sorted(PYDICOM_FILES.glob("*.dcm")):
            try:
                ds = read_whole(path)
            except (NotDicom, Unreadable):
                continue
            deidentify_dataset(ds, Context(profile=d.profile, uids=d._uids, pseudonym=d._pseudo.pseudonym))
            d._stamp(ds)
            complete = all(
                ds.file_meta.get(k) for k in ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID")
            )
            a, b = io.BytesIO(), io.BytesIO()
            _pydicom_write(a, ds, complete)
            write_file(b, ds)
            assert a.getvalue() == b.getvalue(), path.name
            checked += 1
    assert checked > 50


def test_every_readable_pydicom_test_file_is_written(tmp_path, key_file):
    result = deidentify_folder(
        PYDICOM_FILES, tmp_path / "out", read_key(key_file), workers=1, allow_burned_in=True
    )
    failed = sorted(Path(f["input"]).name for f in result.failed)
    assert failed == ["MR_truncated.dcm", "rtplan_truncated.dcm"]
    assert result.written == len(outputs(tmp_path / "out"))
    for p in outputs(tmp_path / "out"):
        pydicom.dcmread(p)  # every output reads back


def test_more_retain_and_clean_options(planted, tmp_path, key_file, pydicom_file):
    key = read_key(key_file)
    opts = ["retain-longitudinal-full-dates", "retain-institution-identity", "retain-device-identity"]
    out = tmp_path / "a"
    deidentify_folder(planted, out, key, opts, workers=1)
    for ds in read_all(out):
        assert ds.StudyDate in ("20200115", "20200301")
        assert ds.InstitutionName == "St Elsewhere"
        assert ds.LongitudinalTemporalInformationModified == "UNMODIFIED"
        codes = [i.CodeValue for i in ds.DeidentificationMethodCodeSequence]
        assert codes == ["113100", "113109", "113112", "113106"]
        assert ds.PatientName == "" and ds.PatientBirthDate == ""
    src = tmp_path / "sr"
    src.mkdir()
    shutil.copy(pydicom_file("test-SR.dcm"), src / "sr.dcm")
    deidentify_folder(src, tmp_path / "b", key, ["clean-structured-content"], workers=1)
    (ds,) = read_all(tmp_path / "b")
    texts = [e.value for e in ds.iterall() if e.keyword == "TextValue"]
    assert texts and "ANONYMIZED" not in texts  # cleaned, not replaced by the dummy


# -- kills, incomplete folders, symbolic links, keys others can read ---------------------------------------------


def _many(folder: Path, n: int) -> Path:
    """``n`` copies of a real CT file, each its own instance (distinct SOP Instance UIDs)."""
    from pydicom.uid import generate_uid

    ds = pydicom.dcmread(pyd("CT_small.dcm"))
    folder.mkdir(parents=True)
    for i in range(n):
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(folder / f"img{i:05d}.dcm")
    return folder


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry))
    return kids


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_killed_parallel_run_leaves_no_worker_and_a_marked_folder(tmp_path, key_file, sig):
    import signal
    import subprocess
    import sys
    import time

    if not os.path.isdir("/proc/self"):
        pytest.skip("needs /proc to find the worker processes")
    src, out, manifest = _many(tmp_path / "in", 400), tmp_path / "out", tmp_path / "private" / "manifest.csv"
    argv = [
        sys.executable,
        "-m",
        "anonlab",
        "dicom",
        "deidentify",
        str(src),
        str(out),
        "--key-file",
        str(key_file),
    ]
    proc = subprocess.Popen(
        [*argv, "--workers", "2", "--manifest", str(manifest), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and not list(out.rglob("*.dcm")):
        time.sleep(0.01)
    workers = _children(proc.pid)
    assert proc.poll() is None and workers, "the run ended before it could be killed"
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while any(_running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(w) for w in workers), "workers (holding the key) outlived their parent"
    # on SIGTERM the one line names the folder left incomplete (it said "no partial output was left")
    if sig == "SIGTERM":
        assert proc.returncode == 143 and "terminated" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1 and str(out) in err and "incomplete" in err, err
        assert "no partial output" not in err, err
    written = list(out.rglob("*.dcm"))
    assert 0 < len(written) < 400
    assert (out / ".anonlab-incomplete").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not manifest.parent.exists() or os.listdir(manifest.parent) == []  # the secret manifest: nothing
    audit = subprocess.run(
        [sys.executable, "-m", "anonlab", "dicom", "audit", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        audit.returncode == 2 and "incomplete" in audit.stderr and len(audit.stderr.strip().splitlines()) == 1
    )
    # the folder is refused without --force; with it the run completes and the mark goes
    again = subprocess.run(argv + ["--workers", "2"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "incomplete" in again.stderr
    again = subprocess.run(argv + ["--workers", "2", "--force"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert not (out / ".anonlab-incomplete").exists()
    assert len(list(out.rglob("*.dcm"))) == 400


def test_a_completed_run_leaves_no_marker_and_audit_refuses_a_marked_folder(planted, tmp_path, key_file, cli):
    from anonlab.deid.dicom.auditing import audit_folder
    from anonlab.deid.dicom.deidentifying import INCOMPLETE_MARKER
    from anonlab.errors import InputError

    out = tmp_path / "release"
    deidentify_folder(planted, out, read_key(key_file), workers=1)
    assert not (out / INCOMPLETE_MARKER).exists()
    audit_folder(out, workers=1)
    (out / INCOMPLETE_MARKER).write_text("")
    with pytest.raises(InputError, match="incomplete"):
        audit_folder(out, workers=1)
    code, _, err = cli("dicom", "audit", out)
    assert code == 2 and "incomplete" in err and len(err.strip().splitlines()) == 1


def test_manifest_is_owner_only_and_its_temporary_never_named(planted, tmp_path, key_file):
    manifest = tmp_path / "private" / "manifest.csv"
    deidentify_folder(planted, tmp_path / "out", read_key(key_file), workers=1, manifest=manifest)
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o600
    assert os.listdir(manifest.parent) == ["manifest.csv"]


def test_symbolic_links_are_listed_and_counted_never_followed_out(planted, tmp_path, key_file):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(pyd("CT_small.dcm"), outside / "other.dcm")
    first = sorted(p for p in planted.rglob("*") if p.is_file())[0]
    (planted / "inside-link.dcm").symlink_to(first)
    (planted / "outside-link.dcm").symlink_to(outside / "other.dcm")
    (planted / "broken-link.dcm").symlink_to(tmp_path / "nothing-here.dcm")
    (planted / "folder-link").symlink_to(outside, target_is_directory=True)
    result = deidentify_folder(planted, tmp_path / "out", read_key(key_file), workers=1)
    reasons = {Path(s["input"]).name: s["reason"] for s in result.skipped}
    assert (
        "inside the input folder" in reasons["inside-link.dcm"] and "own name" in reasons["inside-link.dcm"]
    )
    assert "outside the input folder; not followed" in reasons["outside-link.dcm"]
    assert reasons["broken-link.dcm"] == "broken symbolic link"
    assert "folder outside the input folder" in reasons["folder-link"]
    assert result.written == 5 and result.files == 5 + len(result.skipped) + len(result.failed)
    assert len(outputs(tmp_path / "out")) == 5  # nothing from outside, nothing twice


def test_key_readable_by_others_warns_and_strict_key_refuses(planted, tmp_path, key_file, cli):
    os.chmod(key_file, 0o644)
    code, _, err = cli(
        "dicom", "deidentify", planted, tmp_path / "a", "--key-file", key_file, "--workers", "1"
    )
    assert code == 0 and "warning" in err and "0644" in err and "chmod 600" in err
    code, _, err = cli(
        "dicom",
        "deidentify",
        planted,
        tmp_path / "b",
        "--key-file",
        key_file,
        "--workers",
        "1",
        "--strict-key",
    )
    assert code == 2 and "--strict-key" in err and not (tmp_path / "b").exists()
    os.chmod(key_file, 0o600)
    code, _, err = cli(
        "dicom",
        "deidentify",
        planted,
        tmp_path / "c",
        "--key-file",
        key_file,
        "--workers",
        "1",
        "--strict-key",
    )
    assert code == 0 and "warning" not in err


def test_missing_output_folder_is_created_and_said(planted, tmp_path, key_file, cli):
    out = tmp_path / "new" / "release"
    code, stdout, _ = cli("dicom", "deidentify", planted, out, "--key-file", key_file, "--workers", "1")
    assert code == 0 and f"created the missing output folder {out}" in stdout
    code, stdout, _ = cli(
        "dicom", "deidentify", planted, out, "--key-file", key_file, "--workers", "1", "--force"
    )
    assert code == 0 and "created" not in stdout


def test_an_unreadable_subfolder_is_listed_as_failed(planted, tmp_path, key_file):
    """os.walk skips a folder it cannot list unless asked: the run must say so (exit 1), never miss it silently."""
    import shutil as sh
    import subprocess
    import sys

    prefix = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,-fowner"]
        if sh.which("setpriv") is None or subprocess.run([*prefix, "true"]).returncode != 0:
            pytest.skip("running as root without a way to drop CAP_DAC_READ_SEARCH")
    locked = planted / "locked"
    locked.mkdir()
    shutil.copy(pyd("CT_small.dcm"), locked / "x.dcm")
    locked.chmod(0o000)
    try:
        run = subprocess.run(
            [
                *prefix,
                sys.executable,
                "-m",
                "anonlab",
                "dicom",
                "deidentify",
                str(planted),
                str(tmp_path / "out"),
            ]
            + ["--key-file", str(key_file), "--workers", "1"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        locked.chmod(0o700)
    assert run.returncode == 1, run.stderr
    assert f"failed: {locked}: cannot read folder: Permission denied" in run.stdout


# -- the public function -----------------------------------------------------------------------------------------


def test_deidentify_takes_the_key_file_and_a_profile_by_name(planted, tmp_path, key_file, secrets):
    from anonlab.deid.dicom import DeidentifyResult, deidentify
    from anonlab.deid.dicom.profile import Profile

    out = tmp_path / "release"
    result = deidentify(planted, out, key=key_file, profile="retain-longitudinal-modified-dates", workers=1)
    assert isinstance(result, DeidentifyResult) and result.written == 5
    assert result.options == ["retain-longitudinal-modified-dates"]
    same = deidentify(
        planted, tmp_path / "again", key=read_key(key_file), profile=Profile.build(result.options), workers=1
    )
    assert tree_digest(out).keys() == tree_digest(tmp_path / "again").keys()  # one key, the same release
    html = result._repr_html_()
    assert "5 written" in html and "notes.txt" in html and "not DICOM" in html
    paths = str(
        result.to_dict()["skipped_files"]
    )  # the operator's own input paths (folders may name patients)
    inside = [s for s in secrets if s not in paths]  # values from inside the files never show
    assert inside and not any(secret in html for secret in inside)
    assert key_file.read_text().strip() not in html
    assert same.to_dict()["written"] == 5


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"key": 5}, "key="),
        ({"profile": 5}, "profile="),
        ({"profile": [5]}, "profile="),
        ({"profile": ["retain-everything"]}, "unknown option"),
    ],
)
def test_deidentify_refuses_bad_arguments_naming_them(planted, tmp_path, key_file, kwargs, says):
    from anonlab.deid.dicom import deidentify

    kwargs.setdefault("key", key_file)
    with pytest.raises(UsageError, match=says):
        deidentify(planted, tmp_path / "out", workers=1, **kwargs)
    assert not (tmp_path / "out").exists()


def test_a_non_empty_output_names_force(planted, tmp_path, key_file):
    from anonlab.deid.dicom import deidentify

    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("x")
    with pytest.raises(OutputExistsError, match="force=True"):
        deidentify(planted, out, key=key_file, workers=1)


def test_the_package_exports_functions_not_modules_and_loads_no_pydicom():
    import subprocess
    import sys

    code = (
        "import sys, anonlab.deid.dicom as d; assert 'pydicom' not in sys.modules; "
        "import anonlab.deid.dicom.auditing, anonlab.deid.dicom.deidentifying; "
        "from anonlab.deid.dicom import audit, deidentify; "
        "assert callable(audit) and callable(deidentify) and d.audit_folder is audit"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
