"""`anonlab dicom audit`: finds what the profile would not let through, anywhere, without printing values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from anonlab.deid.dicom.auditing import audit_folder
from anonlab.deid.dicom.deidentifying import deidentify_folder
from anonlab.deid.keys import read_key


def rules_at(result) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for report in result.reports:
        for f in report.findings:
            found.setdefault(f.rule, set()).add(f.path)
    return found


def test_raw_files_have_findings_at_every_depth(planted):
    result = audit_folder(planted, workers=1)
    assert result.dicom_files == 5 and result.not_dicom == 1
    assert result.files_with_findings == 5 and result.exit_code == 1
    found = rules_at(result)
    assert "PatientName" in found["person-name"]
    assert "ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].PatientName" in found["person-name"]
    assert (
        "ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].PerformingPhysicianName"
        in found["person-name"]
    )
    assert {"PatientBirthDate", "AccessionNumber", "PatientAddress", "OtherPatientIDsSequence"} <= found[
        "present"
    ]
    assert "PatientID" in found["not-replaced"]
    assert {"StudyInstanceUID", "SOPInstanceUID", "MediaStorageSOPInstanceUID"} <= found["original-uid"]
    assert (
        "ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID"
        in found["original-uid"]
    )
    assert any(p.startswith("(0011,") for p in found["private"])


def test_own_release_is_clean(planted, tmp_path, key_file):
    out = tmp_path / "release"
    deidentify_folder(planted, out, read_key(key_file), workers=1)
    result = audit_folder(out, workers=2)
    assert result.dicom_files == 5
    assert result.findings == 0, [r.to_dict() for r in result.reports]
    assert result.exit_code == 0


def test_release_of_real_test_files_is_clean_except_burned_in(tmp_path, key_file, pydicom_file):
    src = tmp_path / "in"
    src.mkdir()
    names = [
        "CT_small.dcm",
        "MR_small.dcm",
        "rtstruct.dcm",
        "rtplan.dcm",
        "rtdose.dcm",
        "test-SR.dcm",
        "waveform_ecg.dcm",
        "examples_overlay.dcm",
        "priv_SQ.dcm",
        "nested_priv_SQ.dcm",
        "reportsi.dcm",
        "UN_sequence.dcm",
        "JPEG2000.dcm",
    ]
    for name in names:
        shutil.copy(pydicom_file(name), src / name)
    out = tmp_path / "out"
    deidentify_folder(src, out, read_key(key_file), workers=1, allow_burned_in=True)
    result = audit_folder(out, workers=1)
    other = {k: v for k, v in result.by_rule.items() if k != "burned-in"}
    assert sum(other.values()) == 0, [r.to_dict() for r in result.reports]
    # released on request: JPEG2000.dcm (secondary capture) and nested_priv_SQ.dcm (pixels, no SOP class at all)
    assert result.by_rule["burned-in"] == 2


def test_declared_options_are_honoured(planted, tmp_path, key_file):
    out = tmp_path / "release"
    deidentify_folder(
        planted, out, read_key(key_file), ["retain-uids", "retain-patient-characteristics"], workers=1
    )
    result = audit_folder(out, workers=1)
    assert result.findings == 0, [r.to_dict() for r in result.reports]
    assert result.reports == []


def test_burned_in_and_unreadable_reported(burned, broken):
    found = rules_at(audit_folder(burned, workers=1))
    assert "burned-in" in found
    result = audit_folder(broken, workers=1)
    assert result.by_rule["unreadable"] == 2


def test_cli_audit_never_prints_values(planted, cli, secrets):
    values = [s for s in secrets if s not in ("DOE", "JANE", "ROE", "RICHARD")]  # those also name the folders
    code, out, err = cli("dicom", "audit", planted, "--workers", "1")
    assert code == 1
    assert "person-name" in out and "PatientName" in out
    for secret in values:
        assert secret not in out
    code, out, _ = cli("dicom", "audit", planted, "--workers", "1", "--json")
    data = json.loads(out)
    assert code == 1 and data["files_with_findings"] == 5
    for secret in values:
        assert secret not in out


def test_cli_audit_clean_release_exits_0(planted, tmp_path, key_file, cli):
    out = tmp_path / "release"
    assert cli("dicom", "deidentify", planted, out, "--key-file", key_file, "--workers", "1")[0] == 0
    code, stdout, _ = cli("dicom", "audit", out)
    assert code == 0 and "0 findings" in stdout
    code, _, err = cli("dicom", "audit", tmp_path / "missing")
    assert code == 2 and "no such folder" in err


def test_symbolic_links_in_an_audited_folder_are_findings(planted, tmp_path, cli):
    """A release folder holding a link to the raw files was audited clean ("0 DICOM files audited ... 0 findings"):
    the audit did not follow the link, but a copy or an archive of the folder may. Every link (to a file or a
    folder, inside or outside, broken too) is a finding of its own rule, and the exit code says so."""
    out = tmp_path / "release"
    out.mkdir()
    (out / "raw").symlink_to(planted)  # a folder of identifying files
    (out / "one.dcm").symlink_to(next(planted.rglob("*.dcm")))
    (out / "broken.dcm").symlink_to(tmp_path / "nowhere.dcm")
    result = audit_folder(out, workers=1)
    assert result.by_rule["link"] == 3 and result.exit_code == 1
    assert sorted(Path(r.path).name for r in result.reports) == ["broken.dcm", "one.dcm", "raw"]
    code, stdout, _ = cli("dicom", "audit", out)
    assert code == 1 and "link" in stdout


def test_audit_is_the_public_name_and_its_result_shows_in_a_notebook(planted, secrets):
    from anonlab.deid.dicom import AuditResult, audit

    result = audit(planted, workers=1)
    assert isinstance(result, AuditResult) and audit_folder is audit
    html = result._repr_html_()
    assert "5 DICOM files audited" in html and "person-name" in html and "<table>" in html
    assert not any(secret in html for secret in secrets if secret not in ("DOE", "JANE", "ROE", "RICHARD"))
    assert result.to_dict()["findings"] == result.findings > 0


def test_an_incomplete_folder_is_refused_naming_force(tmp_path):
    import pytest

    from anonlab.deid.dicom import audit
    from anonlab.deid.dicom.deidentifying import INCOMPLETE_MARKER
    from anonlab.errors import InputError, UsageError

    (tmp_path / INCOMPLETE_MARKER).write_text("")
    with pytest.raises(InputError, match="force=True"):
        audit(tmp_path)
    with pytest.raises(UsageError, match="no such folder"):
        audit(tmp_path / "missing")
