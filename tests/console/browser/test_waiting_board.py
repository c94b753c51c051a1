"""The live board's waiting line in a real Chromium: a caller joins the line and leaves it, pushed
over Server-Sent Events (board.js redraws the table; the page is not reloaded)."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, expect

from tests.calls.test_admission_e2e import emulator_for
from tests.console.browser.conftest import logged_in
from tests.console.conftest import Console
from tests.console.test_waiting_line_pages import busy_shop, waiting_script


async def test_a_waiting_caller_appears_in_the_open_board_and_goes(console: Console, page: Page) -> None:
    await busy_shop(console)
    await logged_in(page, console.a.operator)
    await page.goto("/console/board")
    row = page.locator("tr[data-queue]")
    await expect(row).to_have_attribute("data-waiting", "0")
    await expect(page.locator("#board-status")).to_have_attribute("data-live", "on")
    call = asyncio.create_task(emulator_for(console.daemon).place_call(waiting_script()))
    await expect(row).to_have_attribute("data-waiting", "1")
    await expect(row).to_contain_text("1人")
    await expect(row.locator("[data-since-us]")).not_to_have_text("—")  # the wait counted in the browser
    await asyncio.wait_for(call, 30)
    await expect(row).to_have_attribute("data-waiting", "0")
