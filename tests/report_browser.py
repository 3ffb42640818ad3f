"""A report page opened in headless Chromium (Debian's /usr/bin/chromium driven by playwright): what its scripts
read from the loaded page, the requests it made outside the file, and its layout at 1 280 px."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-software-rasterizer"]
"""Headless Chromium as root, composited in software without the emulated GPU (test_web_browser.py alone: about
13 % less CPU, the same pages and screenshots)."""
IMAGES = "Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
"""Script: [alt text, loaded, natural width in px] of every image on the page."""


def read_page(page_file: Path, scripts: dict[str, str], *, viewport: dict[str, int] | None = None,
              screenshot: Path | None = None) -> tuple[dict[str, Any], list[str]]:
    """({name: what the JavaScript expression ``scripts[name]`` gives on the loaded page}, the URLs it requested
    that are not data: or file:) of ``page_file``; a screenshot of the window to ``screenshot`` when given.
    Skips without Chromium or playwright."""
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian chromium is not installed (scripts/system-deps.sh installs it)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    external: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(**({"viewport": viewport} if viewport else {}))
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("data:", "file:")) else None)
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        found = {name: page.evaluate(script) for name, script in scripts.items()}
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
        browser.close()
    return found, external


WINDOW_1280 = {"width": 1280, "height": 900}
"""The window (CSS px) the report's layout is checked in."""
AT_1280 = {"width": "document.documentElement.scrollWidth",
           "shown": "Array.from(document.images).map(i => [i.alt, i.getBoundingClientRect().width])"}
"""Scripts: the document width and [alt text, shown width] of every image, both in CSS px (``page_at_1280``)."""


def page_at_1280(page_file: Path, screenshot: Path | None = None) -> tuple[int, dict[str, float]]:
    """(document width in CSS px, {image alt text: shown width in CSS px}) of ``page_file`` in a 1 280 x 900 window;
    a screenshot of the window (the top of the page) to ``screenshot`` when given. Skips without Chromium."""
    found, _ = read_page(page_file, AT_1280, viewport=WINDOW_1280, screenshot=screenshot)
    return found["width"], dict(found["shown"])
