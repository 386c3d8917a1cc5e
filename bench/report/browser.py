"""The site as a reader sees it: opened from ``file://`` in headless Chromium (Debian's ``chromium``,
driven by Playwright), checked for what failed to load, and photographed for the README."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bench.core.atomic import atomic_file
from bench.core.errors import BenchError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
# A closed network: no background connections, no sandbox (root in containers), a fresh profile.
FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync")


@dataclass(frozen=True)
class PageCheck:
    tables: int
    images: int
    broken_images: tuple[str, ...]  # src of every image that did not load
    errors: tuple[str, ...]  # console errors and failed requests


def chromium() -> str | None:
    """The Chromium binary: ``BENCH_CHROMIUM`` or the first of ``CANDIDATES`` on the PATH."""
    return os.environ.get("BENCH_CHROMIUM") or next((p for p in map(shutil.which, CANDIDATES) if p), None)


@contextmanager
def open_page(html: Path, width: int = 1400) -> Iterator[tuple[object, list[str]]]:
    """The page loaded in headless Chromium, and the list its errors are collected in."""
    binary = chromium()
    if binary is None:
        raise BenchError("no Chromium found to render the site", "install it (Debian: apt-get install chromium) or set BENCH_CHROMIUM")
    from playwright.sync_api import sync_playwright  # deferred: Playwright starts a driver process

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, args=list(FLAGS))
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
            page.goto(Path(html).resolve().as_uri(), wait_until="load")
            yield page, errors
        finally:
            browser.close()


def check(page, errors: list[str]) -> PageCheck:
    broken = page.eval_on_selector_all("img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))")
    return PageCheck(page.locator("table").count(), page.locator("img").count(), tuple(broken), tuple(errors))


def screenshot(html: Path, out: Path, width: int = 1400, height: int = 2400) -> PageCheck:
    """A PNG of the top of the page (the leaderboard, a plot, a sample grid where the page has them)."""
    with open_page(html, width) as (page, errors):
        page.set_viewport_size({"width": width, "height": height})
        with atomic_file(out) as tmp:
            page.screenshot(path=str(tmp), type="png")
        return check(page, errors)
