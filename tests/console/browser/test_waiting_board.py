"""The live board's waiting line in a real Chromium: a caller joins the line and leaves it, pushed
over Server-Sent Events (board.js redraws the table; the page is not reloaded)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from playwright.async_api import Page, expect

from emulator import FarEnd
from tests.calls.test_admission_e2e import emulator_for
from tests.console.browser.conftest import logged_in
from tests.console.conftest import Console
from tests.console.shop import USER, pool_of
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


async def test_a_waiting_caller_whose_member_rings_stays_on_the_board(console: Console, page: Page) -> None:
    """Handed a member, the caller leaves the line while the phone rings: the line shows them as
    呼び出し中 and the call as 呼出中 with its group; the member does not answer, and the caller is
    順番待ち again (though the call record, opened for the ring, still says hunting)."""
    await busy_shop(console)
    pool = pool_of(console)
    await pool.execute("UPDATE counsellor_groups SET ring_timeout_s = 3 WHERE tenant_id = $1", console.a.tenant_id)
    await logged_in(page, console.a.operator)
    await page.goto("/console/board")
    queue = page.locator("tr[data-queue]")
    await expect(page.locator("#board-status")).to_have_attribute("data-live", "on")
    script = replace(waiting_script(hangup_after=12.0), far_ends={USER: FarEnd("noanswer")})
    call = asyncio.create_task(emulator_for(console.daemon).place_call(script))
    await expect(queue).to_have_attribute("data-waiting", "1")
    await expect(queue).to_have_attribute("data-ringing", "0")
    await pool.execute("UPDATE counsellors SET on_duty = true WHERE tenant_id = $1", console.a.tenant_id)
    await expect(queue).to_have_attribute("data-ringing", "1")
    await expect(queue).to_have_attribute("data-waiting", "0")
    row = page.locator("tr[data-call]")
    await expect(row).to_have_attribute("data-state", "hunting")
    await expect(row).to_contain_text("呼出中")
    await expect(row).to_contain_text("タロット")
    await expect(row).to_contain_text("花子")
    await expect(queue).to_have_attribute("data-waiting", "1", timeout=10_000)  # 3 s unanswered: back in line
    await expect(queue).to_have_attribute("data-ringing", "0")
    await expect(row).to_have_attribute("data-state", "waiting")
    await expect(row).to_contain_text("順番待ち")
    await asyncio.wait_for(call, 30)
    await expect(queue).to_have_attribute("data-waiting", "0")
