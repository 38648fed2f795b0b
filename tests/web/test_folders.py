"""anonlab serve's DICOM and photo folder pages: upload a folder's files, de-identify or strip them, see the audit,
download the ZIP; the workspace key is made with mode 0600 and never sent to the browser."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import pytest

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"


def _run(client, csrf, kind, folder):
    r = client.post(
        "/folders/run", data={"csrf": csrf, "kind": kind, "folder": folder}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    job = client.app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], timeout=180)
    assert job.state == "done", job.error
    return job.release


def test_a_dicom_folder_is_deidentified_audited_and_downloaded(client, csrf, workspace):
    import pydicom
    from pydicom.data import get_testdata_file

    ct = Path(get_testdata_file("CT_small.dcm"))
    name = str(pydicom.dcmread(ct).PatientName)
    r = client.post(
        "/folders/upload",
        data={"csrf": csrf, "name": "../scans"},
        files=[("files", ("../../CT_small.dcm", ct.read_bytes())), ("files", ("notes.txt", b"not dicom"))],
        follow_redirects=False,
    )
    assert r.status_code == 303
    stored = workspace / "folders" / "scans" / "CT_small.dcm"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600 and not (workspace.parent / "CT_small.dcm").exists()
    page = client.get("/folders")
    assert page.status_code == 200 and "folders/scans" in page.text

    rid = _run(client, csrf, "dicom", "scans")
    key = workspace / "secrets" / "pseudonym.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    page = client.get(f"/releases/{rid}")
    assert page.status_code == 200 and 'id="audit"' in page.text and 'id="download-zip"' in page.text
    audit = client.get(f"/releases/{rid}/files/audit.json").json()
    summary = client.get(f"/releases/{rid}/files/release.json").json()
    assert summary["skipped_files"] == [{"file": 1, "reason": "not DICOM"}]  # numbered, not named
    assert str(workspace) not in json.dumps(summary) + json.dumps(audit)  # no server paths in a download
    assert audit["dicom_files"] == 1
    archive = client.get(f"/releases/{rid}/files/release.zip")
    assert archive.status_code == 200 and "attachment" in archive.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        names = zf.namelist()
        assert sum(n.endswith(".dcm") for n in names) == 1  # named by its new UIDs
        released = pydicom.dcmread(io.BytesIO(zf.read(next(n for n in names if n.endswith(".dcm")))))
    assert str(released.PatientName) != name
    material = key.read_text().strip()
    for body in (page.text, archive.content.decode("latin-1"), json.dumps(audit)):
        assert material not in body
    assert (workspace / "folders" / "scans" / "CT_small.dcm").read_bytes() == ct.read_bytes()  # input kept


def test_photos_are_stripped_and_zipped(client, csrf, workspace):
    gps = PHOTOS / "piexif_gps.jpg"
    if not gps.exists():
        pytest.skip("the test photos are missing")
    r = client.post(
        "/folders/upload",
        data={"csrf": csrf, "name": "holiday"},
        files=[("files", (gps.name, gps.read_bytes()))],
        follow_redirects=False,
    )
    assert r.status_code == 303
    rid = _run(client, csrf, "photos", "holiday")
    summary = client.get(f"/releases/{rid}/files/release.json").json()
    assert summary["source"] == "holiday"
    assert summary["stripped"][0]["file"] == 1 and "input" not in summary["stripped"][0]
    assert str(workspace) not in json.dumps(summary)  # no server paths in a download
    archive = client.get(f"/releases/{rid}/files/release.zip").content
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        from PIL import Image

        with Image.open(io.BytesIO(zf.read(gps.name))) as im:
            assert 0x8825 not in im.getexif()  # no GPS block left
    assert client.get(f"/releases/{rid}").status_code == 200


@pytest.mark.parametrize("folder", ["../ws", "/etc", "", "scans/.."])
def test_folders_outside_the_workspace_are_refused(client, csrf, folder):
    r = client.post("/folders/run", data={"csrf": csrf, "kind": "dicom", "folder": folder})
    assert r.status_code == 400 and "is not a folder in the workspace" in r.text
    assert client.app.state.jobs.all() == []


def test_folder_forms_need_the_csrf_token(client, workspace):
    r = client.post("/folders/upload", data={"name": "x"}, files=[("files", ("a.dcm", b"x"))])
    assert r.status_code == 403 and list((workspace / "folders").iterdir()) == []
