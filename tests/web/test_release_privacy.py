"""What a release page offers beside a release (audit of 2026-12-01): a DP release's evaluation (exact facts of the
real table) is internal, labelled so and kept out of its downloads, without the real row count; a folder
release's downloadable report numbers the files it lists instead of naming them (names often name patients)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anonlab.web.releases import INTERNAL


def _folder_release(workspace, rid, kind):
    recipe = f'[release]\nkind = "{kind}"\ninput = "adult.csv"\n'
    recipe += {
        "synth": '[synth]\nmethod = "mst"\nepsilon = 1\nledger = "ledgers/adult.ledger"\nledger_entry = 1\n',
        "kanonymity": '[anonymize]\nquasi = ["age"]\nk = 5\n',
    }[kind]
    folder = workspace / "releases" / rid
    folder.mkdir(parents=True)
    (folder / "recipe.toml").write_text(recipe)
    (folder / "release.csv").write_text("age\n30\n")
    (folder / "release.json").write_text("{}")
    (folder / "report.html").write_text("<h1>report</h1>")
    (folder / "evaluation.json").write_text(json.dumps({"headline": {}, "config": {}}))


def test_a_dp_release_page_keeps_the_evaluation_out_of_its_downloads(client, workspace):
    _folder_release(workspace, "20260101-000001-mst-aaaaaa", "synth")
    _folder_release(workspace, "20260101-000002-k5-aaaaaa", "kanonymity")
    dp = client.get("/releases/20260101-000001-mst-aaaaaa").text
    downloads = dp.split('<p class="downloads">', 1)[1].split("</p>", 1)[0]
    assert 'id="download-release"' in downloads
    assert "report.html" not in downloads and "evaluation.json" not in downloads
    internal = dp.split('id="internal-evaluation"', 1)[1].split("</section>", 1)[0]
    assert "Internal: computed on the real table, not differentially private, do not publish" in internal
    assert 'id="internal-report"' in internal and 'id="report"' in internal and "do not publish" in internal
    # a k-anonymous release's evaluation is not a DP claim: offered as before
    kanon = client.get("/releases/20260101-000002-k5-aaaaaa").text
    assert 'id="download-report"' in kanon and 'id="internal-evaluation"' not in kanon


def test_a_dp_release_evaluation_figures_are_labelled_and_lose_the_real_row_count():
    from anonlab.web.releases import _internal

    figures = _internal({"rows": {"real": 600, "release": 627, "holdout": None}, "headline": {"u": 1}})
    assert figures == {
        "internal": INTERNAL,
        "rows": {"release": 627},
        "headline": {"u": 1},
    }


@pytest.mark.slow  # an MST fit and its evaluation through the app: ~45 s at load 18 on 2 cores
def test_a_dp_release_writes_its_evaluation_labelled_internal_without_the_real_row_count(
    client, csrf, workspace
):
    import anonlab

    anonlab.load_adult().head(400).to_csv(workspace / "small.csv", index=False)
    r = client.post(
        "/budget",
        data={"csrf": csrf, "name": "adult", "epsilon": "2", "delta": "1e-6", "population": "Adult sample"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    form = {
        "csrf": csrf,
        "kind": "synth",
        "table": "small.csv",
        "synthesizer": "mst",
        "epsilon": "1",
        "delta": "1e-9",
        "ledger": "adult",
        "domains": "discover",
        "schema": "adult",
    }
    r = client.post("/release", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    job = client.app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], timeout=600)
    assert job.state == "done", job.error
    rid = job.release
    figures = client.get(f"/releases/{rid}/files/evaluation.json").json()
    assert figures["internal"] == INTERNAL and "real" not in figures["rows"]
    assert figures["rows"]["release"] > 0
    report = client.get(f"/releases/{rid}/files/report.html").text
    assert "not differentially private, do not publish" in report.split("</h1>", 1)[0]
    assert "Rows: real" not in report and "Rows: release" in report
    page = client.get(f"/releases/{rid}").text
    assert 'id="internal-evaluation"' in page and 'id="download-report"' not in page


def _run(client, csrf, kind, folder):
    r = client.post(
        "/folders/run", data={"csrf": csrf, "kind": kind, "folder": folder}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    job = client.app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], timeout=180)
    assert job.state == "done", job.error
    return job.release


def test_a_dicom_release_report_numbers_its_files_instead_of_naming_them(client, csrf, workspace):
    from pydicom.data import get_testdata_file

    ct = Path(get_testdata_file("CT_small.dcm"))
    src = workspace / "folders" / "scans"
    (src / "DOE_JOHN_1970-01-01").mkdir(parents=True)
    (src / "DOE_JOHN_1970-01-01" / "CT_small.dcm").write_bytes(ct.read_bytes())
    (src / "DOE_JOHN_1970-01-01" / "referral letter Jane Roe.txt").write_text("not dicom")
    (src / "ROE_JANE.txt").write_text("not dicom either")
    rid = _run(client, csrf, "dicom", "scans")
    body = client.get(f"/releases/{rid}/files/release.json").text
    summary = json.loads(body)
    assert "DOE" not in body and "Roe" not in body and "ROE" not in body
    assert summary["skipped"] == 2 and sorted(f["file"] for f in summary["skipped_files"]) == [1, 2]
    assert summary["skipped_files_by_reason"] == {"not DICOM": 2}
    assert "DOE" not in client.get(f"/releases/{rid}").text
    # the operator's workspace keeps the mapping; it is never served
    inputs = json.loads((workspace / "releases" / rid / "inputs.json").read_text())
    assert sorted(inputs.values()) == [
        "folders/scans/DOE_JOHN_1970-01-01/referral letter Jane Roe.txt",
        "folders/scans/ROE_JANE.txt",
    ]
    assert client.get(f"/releases/{rid}/files/inputs.json").status_code in (400, 404)
