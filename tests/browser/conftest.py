"""A real browser for the report tests: headless Chromium driven by Playwright.

Playwright comes from PyPI (the test extra); the browser is the system's Chromium (Debian's `chromium` package;
`.ci/run` installs it when missing), so nothing is downloaded at test time. Without either, the tests skip and say
why. Screenshots go to ``out/screenshots/`` (ignored by git) for a person to look at.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageCheck:
    """What a browser saw while loading one report."""

    requests: list[str] = field(default_factory=list)  # every URL the page asked for beyond the file itself
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    body_overflow: int = (
        0  # pixels the body is wider than the viewport (collapsed sections closed, then open)
    )
    anchors: int = 0  # in-page links (a table of contents)
    broken_anchors: list[str] = field(default_factory=list)  # href="#x" with no element id="x"
    broken_images: list[str] = field(default_factory=list)
    screenshot: Path | None = None


@pytest.fixture(scope="session")
def browser():
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")
    path = _chromium()
    if path is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium); browser tests skipped")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def open_report(browser):
    """``open_report(path, name)`` loads an HTML file at 1,280 px and returns a :class:`PageCheck`. The
    overflow is measured with every collapsible section closed and open; the screenshot shows the page with the
    first release of a study open."""

    def run(path: Path, name: str, width: int = 1280) -> PageCheck:
        check = PageCheck()
        page = browser.new_page(viewport={"width": width, "height": 900})
        url = path.resolve().as_uri()

        def on_request(request):
            if request.url != url and not request.url.startswith("data:"):
                check.requests.append(request.url)

        page.on("request", on_request)
        page.on("console", lambda m: check.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: check.page_errors.append(str(e)))
        page.goto(url, wait_until="load")
        overflow = (
            "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth"
        )
        closed = page.evaluate(overflow)
        # open every collapsible section: what a reader sees when they open them (and the screenshot shows it)
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        check.body_overflow = max(closed, page.evaluate(overflow))
        # the screenshot: a study's first release open, the others closed (a full page of all is 50,000 px)
        page.evaluate("document.querySelectorAll('details.part').forEach((d, i) => d.open = i === 0)")
        check.anchors = page.evaluate("""document.querySelectorAll('a[href^="#"]').length""")
        check.broken_anchors = page.evaluate(
            """[...document.querySelectorAll('a[href^="#"]')]
                 .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
                 .filter(id => id && !document.getElementById(id))"""
        )
        check.broken_images = page.evaluate(
            """[...document.images].filter(i => !i.complete || i.naturalWidth === 0)
                 .map(i => (i.alt || i.src).slice(0, 80))"""
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        check.screenshot = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(check.screenshot), full_page=True)
        page.close()
        return check

    return run
