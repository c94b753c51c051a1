"""The live board's waiting line in a real Chromium: a caller joins the line and leaves it, pushed
over Server-Sent Events (board.js redraws the table; the page is not reloaded)."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, expect

from emulator import CallerScript, Keys
from tests.calls.test_admission_e2e import emulator_for
from tests.console.browser.conftest import logged_in
from tests.console.conftest import Console
from tests.console.shop import SERVICE, TARO, coaching_shop, pool_of


async def test_a_waiting_caller_appears_in_the_open_board_and_goes(console: Console, page: Page) -> None:
    hana = await coaching_shop(console)
    pool = pool_of(console)
    await pool.execute("UPDATE counsellor_groups SET queue_enabled = true WHERE tenant_id = $1", console.a.tenant_id)
    await pool.execute("UPDATE counsellors SET on_duty = false WHERE id = $1", hana)
    await logged_in(page, console.a.operator)
    await page.goto("/console/board")
    row = page.locator("tr[data-queue]")
    await expect(row).to_have_attribute("data-waiting", "0")
    await expect(page.locator("#board-status")).to_have_attribute("data-live", "on")
    script = CallerScript(
        caller=TARO,
        destination=SERVICE,
        digits=[Keys("12#", delay=0.05, interval=0.05), Keys("1", delay=0.05)],
        hangup_after=6.0,
    )
    call = asyncio.create_task(emulator_for(console.daemon).place_call(script))
    await expect(row).to_have_attribute("data-waiting", "1")
    await expect(row).to_contain_text("1人")
    await expect(row.locator("[data-since-us]")).not_to_have_text("—")  # the wait counted in the browser
    await asyncio.wait_for(call, 30)
    await expect(row).to_have_attribute("data-waiting", "0")
