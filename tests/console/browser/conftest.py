"""A real headless Chromium on the console: one browser per test session, a fresh context per test.

Playwright's async API runs in the tests' own event loop, next to the daemon
the ``console`` fixture starts (pytest-asyncio's session loop), so a test can
drive the page, the daemon and the database in one ``async def``.

The browser is Debian's ``chromium`` (``make`` installs it); Playwright's own
downloaded browsers are never used.  Screenshots for the documentation are
written to ``docs/screenshots/`` only when ``CALLD_SCREENSHOTS=1``
(``make screenshots``), so an ordinary test run never rewrites tracked files.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Playwright, ViewportSize, async_playwright, expect

from tests.conftest import REPO
from tests.console.client import PASSWORD
from tests.console.conftest import Console

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SHOTS = REPO / "docs" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Headless, as root, on a closed network: no sandbox, and nothing that phones home (else slow and flaky).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

# The screenshots switch is read when this module is imported: tests/conftest.py hides CALLD_* from the tests.
TAKE_SCREENSHOTS = os.environ.get("CALLD_SCREENSHOTS") == "1"

Login = Callable[[Page, str], Awaitable[None]]
Screenshot = Callable[..., Awaitable[None]]


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make` installs Debian's chromium (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def chromium(playwright: Playwright, chromium_path: Path) -> AsyncIterator[Browser]:
    # launch() gives Chromium a fresh temporary profile (--user-data-dir) of its own, removed on close.
    browser = await playwright.chromium.launch(executable_path=str(chromium_path), args=FLAGS)
    yield browser
    await browser.close()


@pytest.fixture
def base_url(console: Console) -> str:
    """The console fixture's daemon, as the browser reaches it."""
    return f"http://127.0.0.1:{console.daemon.http_port}"


async def _context(chromium: Browser, base_url: str, **device: Any) -> BrowserContext:
    ctx = await chromium.new_context(base_url=base_url, locale="ja-JP", timezone_id="Asia/Tokyo", **device)
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx


@pytest.fixture
async def context(chromium: Browser, base_url: str) -> AsyncIterator[BrowserContext]:
    """A desktop browser window of its own for one test (no cookies from any other test)."""
    ctx = await _context(chromium, base_url, viewport=DESKTOP)
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@pytest.fixture
async def phone(chromium: Browser, base_url: str) -> AsyncIterator[Page]:
    """A page on a phone: 390x844, touch, mobile viewport."""
    ctx = await _context(chromium, base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    yield await ctx.new_page()
    await ctx.close()


async def login(page: Page, login_id: str, password: str = PASSWORD) -> None:
    """Fill in the login form as a person would, and wait until the browser has left it."""
    await page.goto("/console/login")
    await page.get_by_label("ログインID").fill(login_id)
    await page.get_by_label("パスワード").fill(password)
    await page.get_by_role("button", name="ログイン").click()
    await page.wait_for_load_state()


async def logged_in(page: Page, login_id: str) -> None:
    """:func:`login`, and the page is a logged-in one (its header has the logout button, folded away on a phone)."""
    await login(page, login_id)
    await expect(page.get_by_role("button", name="ログアウト", include_hidden=True)).to_have_count(1)


@pytest.fixture
def screenshot() -> Screenshot:
    """``await screenshot(page, "board", phone=True)``: docs/screenshots/board.png at 1280x800 and
    board-phone.png at 390x844 (``desktop=False``: only the phone one).  Nothing unless ``CALLD_SCREENSHOTS=1``."""

    async def take(page: Page, name: str, *, desktop: bool = True, phone: bool = False) -> None:
        if not TAKE_SCREENSHOTS:
            return
        SHOTS.mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        for wanted, viewport, path in ((desktop, DESKTOP, f"{name}.png"), (phone, PHONE, f"{name}-phone.png")):
            if wanted:
                await page.set_viewport_size(viewport)
                await page.screenshot(path=SHOTS / path, full_page=True, animations="disabled")
        if size is not None:
            await page.set_viewport_size(size)

    return take
