"""A report page opened in headless Chromium (Debian's /usr/bin/chromium driven by playwright) at 1 280 px:
the page's width and each image's shown width, for the report layout tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


def page_at_1280(page_file: Path, screenshot: Path | None = None) -> tuple[int, dict[str, float]]:
    """(document width in CSS px, {image alt text: shown width in CSS px}) of ``page_file`` in a 1 280 x 900 window;
    a screenshot of the window (the top of the page) to ``screenshot`` when given. Skips without Chromium."""
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian chromium is not installed (scripts/system-deps.sh installs it)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        shown = dict(page.evaluate("Array.from(document.images).map(i => [i.alt, i.getBoundingClientRect().width])"))
        if screenshot is not None:
            page.screenshot(path=str(screenshot))  # the first 1 280 x 900 px
        browser.close()
    return width, shown
