"""Screenshots of the browser task for docs/web.md: instructions, a trial, feedback, the switch
message and the end page, at 1280 x 800 and 1024 x 640, in headless Chromium (Debian's).

    .venv/bin/python scripts/web_screenshots.py [OUT_FOLDER]     # default docs/img

The protocol is flesch2022 shortened so that every screen comes within a few trials: 2 training
trials, then the main phase with a blocked curriculum of 2 trees per garden (the switch message
after the second). Screens are as `garden web build` serves them; PNGs are reduced to 64 colours.
"""

from __future__ import annotations

import functools
import http.server
import sys
import tempfile
import threading
import tomllib
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from garden.experiment.config import PROTOCOLS, parse_protocol
from garden.experiment.web.site import build_site

SIZES = ((1280, 800), (1024, 640))
SCREENS = ("instructions", "tree", "feedback", "switch", "end")


def short_protocol():
    """flesch2022 with every screen kind within 8 trials (see the module docstring)."""
    raw = tomllib.loads(PROTOCOLS["flesch2022"].read_text(encoding="utf-8"))
    raw["curriculum"] = "blocked"
    raw["curricula"]["blocked"]["block_length"] = 2
    first, main = raw["phases"][0], next(p for p in raw["phases"] if p["name"] == "main")
    raw["phases"] = [{**first, "max_trials": 2}, {**main, "max_trials": 4, "block_trials": 4},
                     *[p for p in raw["phases"] if p.get("session") == 2]]
    return parse_protocol(raw, "flesch2022 (shortened for screenshots)")


def save(page, path: Path) -> None:
    page.screenshot(path=str(path))
    Image.open(path).convert("RGB").quantize(64).save(path, optimize=True)


def shoot(url: str, out: Path, size: tuple[int, int], browser) -> None:
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(f"{url}index.html?participant=P001&session=1")
    wanted, last = set(SCREENS), ""
    while wanted:
        page.wait_for_function(f"document.body.dataset.step !== {last!r} && ['text', 'switch', 'tree', 'feedback', "
                               "'end'].includes(document.body.dataset.screen)", timeout=20000)
        screen, last = page.evaluate("[document.body.dataset.screen, document.body.dataset.step]")
        name = {"text": "instructions"}.get(screen, screen)
        if name in wanted:
            page.wait_for_timeout(100)
            save(page, out / f"web-{name}-{size[0]}x{size[1]}.png")
            wanted.discard(name)
        if screen in ("text", "switch", "end"):
            page.keyboard.press(" ")
        elif screen == "tree":
            page.keyboard.press("f")
    page.close()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        site = build_site(short_protocol(), Path(tmp) / "site", participants=["P001"], sessions=[1])
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                for size in SIZES:
                    shoot(f"http://127.0.0.1:{httpd.server_address[1]}/", out, size, browser)
                browser.close()
        finally:
            httpd.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/img"))
