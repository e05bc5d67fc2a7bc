"""Browser fixtures: the whole platform served by waitress on a free port, and headless Chromium.

One platform serves every browser test of the session (starting it joins consumer groups on the
broker, which takes seconds); each test gets fresh browser contexts, so no cookies are shared.
Journeys that must not disturb each other use different people (a resident registers with a
number of their own; the demo resident is the one made an organizer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from tests_support import serve_platform

from infra.dev import Platform

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}

expect.set_options(timeout=10_000)


@dataclass
class LivePlatform:
    """The running platform: its base URL and the in-process parts behind it."""

    url: str
    platform: Platform


@pytest.fixture(scope="session")
def live(broker, tmp_path_factory) -> LivePlatform:
    """The platform every journey of the session shares."""
    with serve_platform(broker, tmp_path_factory.mktemp("browser"), "b") as (url, platform, _):
        yield LivePlatform(url, platform)


@pytest.fixture(scope="session")
def browser() -> Browser:
    """Headless Debian Chromium, driven by Playwright."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture
def open_context(browser, live):
    """Open browser contexts (phone-sized unless told) on the live platform; closed afterwards."""
    opened: list[BrowserContext] = []

    def open_(viewport: dict = PHONE, locale: str = "zh-CN") -> BrowserContext:
        phone_sized = viewport == PHONE
        context = browser.new_context(
            base_url=live.url,
            viewport=viewport,
            locale=locale,
            is_mobile=phone_sized,
            has_touch=phone_sized,
        )
        opened.append(context)
        return context

    yield open_
    for context in opened:
        context.close()


@pytest.fixture
def phone(open_context) -> Page:
    """A page in a phone-sized browser (390×844), in Chinese."""
    return open_context().new_page()


@pytest.fixture
def desk(open_context) -> Page:
    """A page in a desktop-sized browser (1280×800), in Chinese: how staff usually work."""
    return open_context(DESK).new_page()


@pytest.fixture
def shoot(request):
    """Save a full-page screenshot as a test artefact: test-artifacts/screenshots/<test>-<n>-<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:60]
    taken = []

    def shoot_(page: Page, step: str) -> Path:
        taken.append(step)
        path = SCREENSHOTS / f"{test}-{len(taken):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot_
