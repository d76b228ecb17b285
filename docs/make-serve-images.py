"""Regenerate docs/images/serve-*.png: `packgen serve` on the bundled example, in headless Chromium.

    .venv/bin/python docs/make-serve-images.py

Needs the test tools (scripts/setup.sh --test: Chromium and Playwright). The server reads the
repository's profiles with the built-in config, on a free port of 127.0.0.1, and writes nothing.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from packgen.serve import LiveServer, LiveWorkspace

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def main() -> None:
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1796000000")
    workspace = LiveWorkspace(None, [ROOT / "profiles"], workspace=ROOT)
    workspace.reload()
    server = LiveServer(workspace, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 760})
            page.goto(server.url + "?q=东湖")
            page.locator("#shown").wait_for()
            page.screenshot(path=IMAGES / "serve-plans.png")
            page.goto(server.url + "member/QS0004")
            page.locator('.page[data-page="1"] img').evaluate("img => img.decode()")
            page.screenshot(path=IMAGES / "serve-member.png")
            browser.close()
    finally:
        server.stop()
        thread.join()
    for name in ("serve-plans.png", "serve-member.png"):
        print(IMAGES / name)


if __name__ == "__main__":
    main()
