"""anonlab serve in a real browser: load -> schema -> risk -> one k-anonymous release -> report -> downloads.

The server runs in a thread on a free loopback port; headless Chromium (the ``browser`` fixture of this folder's
conftest) walks the flow as a person would, and every page is saved under ``out/screenshots/web-*.png``. The
browser must ask for nothing but this server's own addresses (no CDN, no network).
"""

from __future__ import annotations

import threading
import time
import tomllib

import pytest

from tests.browser.conftest import SCREENSHOTS

pytest.importorskip("starlette", reason="the web extra is not installed (pip install 'anonlab[web]')")
pytest.importorskip("uvicorn", reason="the web extra is not installed (pip install 'anonlab[web]')")

QUICK = {"skip": ["anonymeter", "quality", "membership", "dcr", "tstr"]}


@pytest.fixture
def server(tmp_path):
    import uvicorn

    import anonlab
    from anonlab.web import create_app
    from anonlab.web.server import free_port

    ws = tmp_path / "ws"
    app = create_app(ws, evaluation=QUICK)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    sample = anonlab.load_adult().sample(2000, random_state=0).drop(columns=["education-num"])
    upload = tmp_path / "adult-sample.csv"
    sample.to_csv(upload, index=False)
    yield f"http://127.0.0.1:{port}", ws, upload
    srv.should_exit = True
    thread.join(10)
    app.state.jobs.shutdown()


def _shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"web-{name}.png"), full_page=True)


def test_the_whole_flow_in_a_browser(browser, server, tmp_path):
    base, ws, upload = server
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    elsewhere, errors = [], []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(base) else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(base + "/")
    _shot(page, "1-load")
    page.set_input_files("#table-file", str(upload))
    page.click("#upload")
    page.wait_for_url("**/schema?**")
    assert page.locator("#from-data").is_visible()
    _shot(page, "2-schema")

    page.click("#to-assess")
    page.wait_for_url("**/assess?**")
    for column in ("age", "sex", "race"):
        page.check(f'input[name="quasi"][value="{column}"]')
    page.click("#assess")
    page.wait_for_selector("#class-histogram rect")
    _shot(page, "3-risk")

    page.click("#to-release")
    page.wait_for_url("**/release?**")
    page.fill("#k", "5")
    _shot(page, "4-release")
    page.click("#run-kanon")
    page.wait_for_url("**/jobs/**")
    _shot(page, "5-job")
    page.wait_for_url("**/releases/**", timeout=300_000)
    frame = page.frame_locator("#report")
    frame.locator("h1, h2").first.wait_for()
    _shot(page, "6-release")

    with page.expect_download() as got:
        page.click("#download-recipe")
    recipe_file = tmp_path / "recipe.toml"
    got.value.save_as(recipe_file)
    recipe = tomllib.loads(recipe_file.read_text())
    assert recipe["parameters"]["k"] == 5 and recipe["reproduce"]["command"].startswith("anonlab anonymize")
    with page.expect_download() as got:
        page.click("#download-release")
    release_file = tmp_path / "release.csv"
    got.value.save_as(release_file)
    rid = recipe["release"]["id"]
    assert release_file.read_bytes() == (ws / "releases" / rid / "release.csv").read_bytes()
    with page.expect_download() as got:
        page.click("#download-report")
    assert got.value.suggested_filename.endswith("report.html")

    assert elsewhere == [], f"the pages asked for addresses outside the server: {elsewhere[:5]}"
    assert errors == [], "\n".join(errors)
    page.close()
