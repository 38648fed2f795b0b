"""anonlab serve in a real browser: the whole flow on the bundled Adult data, and the refusals.

The server runs in a thread on a free loopback port; headless Chromium (the ``browser`` fixture of this folder's
conftest) walks the flow as a person would: a table dropped onto the load page (drag and drop), its schema, its
risk, one k-anonymous and one MST release with their reports and downloads (the job page following its job with
its polling script), the downloaded recipes run by ``anonlab run`` to the same bytes, the frontier of the two
releases, the budget gauge, a refused overspend, the pseudonymisation and DICOM pages, a bad upload, a
non-loopback bind that needs its token, and with JavaScript off the plain upload form and a job page that
refreshes itself. Every page is saved under ``out/screenshots/web-*.png``. The
browser must ask for nothing but this server's own addresses (no CDN, no network).
"""

from __future__ import annotations

import threading
import time
import tomllib
from pathlib import Path

import pytest

from tests.browser.conftest import SCREENSHOTS

pytest.importorskip("starlette", reason="the web extra is not installed (pip install 'anonlab[web]')")
pytest.importorskip("uvicorn", reason="the web extra is not installed (pip install 'anonlab[web]')")

# quick reports; DCR stays (its share of exact copies is the frontier's risk axis: a few seconds a release)
QUICK = {"skip": ["anonymeter", "quality", "membership", "tstr"]}


def _start(app):
    import uvicorn

    from anonlab.web.server import free_port

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    return srv, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def server(tmp_path):
    import anonlab
    from anonlab.web import create_app

    ws = tmp_path / "ws"
    app = create_app(ws, evaluation=QUICK, synth_options={"iters": 50})
    srv, thread, base = _start(app)
    sample = anonlab.load_adult().sample(2000, random_state=0).drop(columns=["education-num"])
    upload = tmp_path / "adult-sample.csv"
    sample.to_csv(upload, index=False)
    yield base, ws, upload
    srv.should_exit = True
    thread.join(10)
    app.state.jobs.shutdown()


def _shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"web-{name}.png"), full_page=True)


def _watch(page, base):
    elsewhere, errors = [], []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(base) else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return elsewhere, errors


def _drop(page, selector: str, path: Path) -> None:
    """Drop a file onto an element, as a person dragging it from their file manager would."""
    page.evaluate(
        """([selector, name, text]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], name, {type: "text/csv"}));
            const target = document.querySelector(selector);
            target.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
            target.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""",
        [selector, path.name, path.read_text()],
    )


def _download(page, selector, to: Path) -> Path:
    with page.expect_download() as got:
        page.click(selector)
    got.value.save_as(to)
    return to


def _reproduce(recipe: Path, ws: Path, out: Path) -> bytes:
    from anonlab.cli import main

    assert main(["run", str(recipe), "-o", str(out), "--root", str(ws)]) == 0
    return out.read_bytes()


def test_the_whole_flow_in_a_browser(browser, server, tmp_path):
    from pydicom.data import get_testdata_file

    base, ws, upload = server
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    elsewhere, errors = _watch(page, base)

    # 1 load: the table is dropped onto the upload form (drag and drop)
    page.goto(base + "/")
    _shot(page, "01-load")
    with page.expect_navigation():
        _drop(page, "#upload-form", upload)
    page.wait_for_url("**/schema?**")
    assert (ws / "tables" / upload.name).read_bytes() == upload.read_bytes()
    assert page.locator("#from-data").is_visible()
    _shot(page, "02-schema")

    # 2 risk
    page.click("#to-assess")
    page.wait_for_url("**/assess?**")
    for column in ("age", "sex", "race"):
        page.check(f'input[name="quasi"][value="{column}"]')
    page.click("#assess")
    page.wait_for_selector("#class-histogram rect")
    _shot(page, "03-risk")

    # 3 a k-anonymous release, its report and downloads; the recipe reproduces it from the CLI
    page.click("#to-release")
    page.wait_for_url("**/release?**")
    release_url = page.url
    page.fill("#k", "5")
    _shot(page, "04-release")
    page.click("#run-kanon")
    page.wait_for_url("**/jobs/**")
    _shot(page, "05-job")
    page.wait_for_url("**/releases/**", timeout=120_000)
    page.frame_locator("#report").locator("h1, h2").first.wait_for()
    _shot(page, "06-kanon-release")
    recipe_file = _download(page, "#download-recipe", tmp_path / "kanon-recipe.toml")
    recipe = tomllib.loads(recipe_file.read_text())
    assert recipe["anonymize"]["k"] == 5 and "secrets" not in recipe
    release = _download(page, "#download-release", tmp_path / "kanon.csv").read_bytes()
    assert release == (ws / "releases" / recipe["release"]["id"] / "release.csv").read_bytes()
    assert _reproduce(recipe_file, ws, tmp_path / "kanon-again.csv") == release
    with page.expect_download() as got:
        page.click("#download-report")
    assert got.value.suggested_filename.endswith("report.html")

    # 4 a ledger, then an MST release; its recipe names the seed file and reproduces it byte for byte
    page.goto(base + "/budget")
    page.fill("#ledger-name", "adult")
    page.fill("#ledger-epsilon", "2")
    page.click("#create-ledger")
    page.wait_for_selector("#gauge-adult")
    page.goto(release_url)
    page.fill("#epsilon", "1")
    page.click("#run-synth")
    page.wait_for_url("**/releases/**", timeout=180_000)
    page.frame_locator("#report").locator("h1, h2").first.wait_for()
    _shot(page, "07-mst-release")
    recipe_file = _download(page, "#download-recipe", tmp_path / "mst-recipe.toml")
    text = recipe_file.read_text()
    recipe = tomllib.loads(text)
    seed = (ws / recipe["secrets"]["seed_file"]).read_text().split()[-1]
    assert seed not in text and recipe["synth"]["ledger_entry"] == 1
    release = _download(page, "#download-release", tmp_path / "mst.csv").read_bytes()
    assert seed.encode() not in release
    ledger = (ws / "ledgers" / "adult.ledger").read_bytes()
    assert _reproduce(recipe_file, ws, tmp_path / "mst-again.csv") == release
    assert (ws / "ledgers" / "adult.ledger").read_bytes() == ledger  # replayed, not charged again
    # the frontier of the two releases of the table, drawn from the figures they recorded (no refit)
    page.click("#to-frontier")
    page.wait_for_selector("#frontier-plot-1")
    assert page.locator("#frontier-table tbody tr").count() == 2
    _shot(page, "15-frontier")
    page.goto(base + "/budget")
    assert "1 release." in " ".join(page.locator("#gauge-adult").inner_text().split())
    _shot(page, "08-budget")

    # 5 an overspend is refused before it runs
    page.goto(release_url)
    page.fill("#epsilon", "5")
    page.click("#run-synth")
    page.wait_for_selector("#error-message")
    assert "refused, nothing released" in page.inner_text("#error-message")
    assert (ws / "ledgers" / "adult.ledger").read_bytes() == ledger
    _shot(page, "09-overspend-refused")

    # 6 pseudonymisation and DICOM pages
    page.goto(base + f"/pseudonymize?table=tables/{upload.name}")
    page.wait_for_selector("#pseudonym-form")
    _shot(page, "10-pseudonymize")
    page.goto(base + "/folders")
    page.set_input_files("#folder-files", get_testdata_file("CT_small.dcm"))
    page.fill("#folder-name", "scans")
    page.click("#upload-folder")
    page.wait_for_selector("#dicom-scans")
    _shot(page, "11-folders")
    page.click("#dicom-scans")
    page.wait_for_url("**/releases/**", timeout=120_000)
    page.wait_for_selector("#audit")
    _shot(page, "12-dicom-release")
    assert _download(page, "#download-zip", tmp_path / "dicom.zip").stat().st_size > 0

    # 7 a bad upload is a readable message, and nothing is kept
    page.goto(base + "/")
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b\n1,2,3\n")
    page.set_input_files("#table-file", str(bad))
    page.click("#upload")
    page.wait_for_selector("#error-message")
    assert "ragged.csv" in page.inner_text("#error-message")
    assert not (ws / "tables" / "ragged.csv").exists()
    _shot(page, "13-bad-upload")

    assert elsewhere == [], f"the pages asked for addresses outside the server: {elsewhere[:5]}"
    assert errors == [], "\n".join(errors)
    page.close()


def test_a_non_loopback_bind_needs_its_token_in_a_browser(browser, tmp_path):
    from anonlab.web import create_app

    app = create_app(tmp_path / "ws", host="0.0.0.0")  # the guard of a public bind, served on loopback here
    srv, thread, base = _start(app)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 700})
        response = page.goto(base + "/")
        assert response.status == 403 and "access token" in page.inner_text("body")
        _shot(page, "14-token-refused")
        page.goto(base + f"/?token={app.state.guard.token}")
        assert page.url == base + "/"  # the token left the address bar for an HttpOnly cookie
        assert page.locator("#upload-form").is_visible()
        assert page.goto(base + "/budget").status == 200
        page.close()
    finally:
        srv.should_exit = True
        thread.join(10)
        app.state.jobs.shutdown()


def test_the_plain_forms_work_without_javascript(browser, server):
    """The upload form, and a job page that follows its job by refreshing itself (a pseudonymisation: no fit and
    no evaluation report, so it costs seconds)."""
    base, ws, upload = server
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 700})
    page = context.new_page()
    page.goto(base + "/")
    page.set_input_files("#table-file", str(upload))
    page.click("#upload")
    page.wait_for_url("**/schema?**")
    assert (ws / "tables" / upload.name).read_bytes() == upload.read_bytes()
    page.goto(base + f"/pseudonymize?table=tables/{upload.name}")
    page.check('input[name="drop"][value="fnlwgt"]')
    page.click("#run-pseudonyms")
    page.wait_for_url("**/jobs/**")
    page.wait_for_url("**/releases/**", timeout=120_000)  # the job page refreshed itself until the end
    assert page.locator("#download-recipe").is_visible()
    _shot(page, "16-job-done-no-js")
    context.close()
