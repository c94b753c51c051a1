"""An operator's day in a real Chromium: a deposit booked once, the live board following a duty
change and a real call, the calls CSV, and another tenant's caller out of reach."""

from __future__ import annotations

import asyncio
import csv
import io
import re

from playwright.async_api import BrowserContext, Page, expect

from daemon.repositories import callers, counsellors, ledger
from tests.calls.test_admission_e2e import emulator_for
from tests.console.browser.conftest import Screenshot, logged_in
from tests.console.conftest import Console
from tests.console.shop import TARO, call_script, coaching_shop, pool_of


async def _caller(console: Console, tenant_id: int, name: str, number: str) -> int:
    return await callers.create(
        pool_of(console), tenant_id, name=name, billing="prepaid", payment_method="bank_transfer", numbers=[number]
    )


async def test_a_deposit_is_confirmed_booked_and_a_retried_form_books_nothing_twice(
    console: Console, page: Page, screenshot: Screenshot
) -> None:
    caller = await _caller(console, console.a.tenant_id, "山田花子", "09087654321")
    await logged_in(page, console.a.operator)
    await page.get_by_role("link", name="入金").click()
    await page.get_by_label("電話番号・名前").fill("090-8765-4321")
    await page.get_by_role("button", name="検索").click()
    await page.get_by_role("link", name="入金を記帳").click()
    await page.get_by_label("入金額（円）").fill("3,000")
    await page.get_by_label("振込名義・メモ").fill("ヤマダハナコ")
    await screenshot(page, "deposit-form")
    await page.get_by_role("button", name="確認へ進む").click()
    await expect(page.locator("#balance-change")).to_have_text("現在の残高 0円 → 入金後 3,000円")
    await screenshot(page, "deposit-confirm")

    # what the browser will send: kept, to send it again as a retry would
    form = page.locator("form", has=page.get_by_role("button", name="この内容で記帳する"))
    action = await form.get_attribute("action")
    fields: dict[str, str | float | bool] = await form.evaluate("f => Object.fromEntries(new FormData(f))")
    await page.get_by_role("button", name="この内容で記帳する").click()
    await expect(page.get_by_role("heading", name="入金を記帳しました")).to_be_visible()
    await expect(page.locator("#balance")).to_have_text("3,000円")
    await screenshot(page, "deposit-booked", phone=True)

    assert action is not None
    retry = await page.context.request.post(action, form=fields)  # same cookies, same form, same key
    assert retry.ok and "この入金は既に記帳済みです" in await retry.text()
    deposits = [e for e in await ledger.entries(pool_of(console), console.a.tenant_id, caller) if e.kind == "deposit"]
    assert [e.amount_yen for e in deposits] == [3000]


async def test_a_counsellor_put_off_duty_changes_the_open_board_while_a_call_talks(
    console: Console, context: BrowserContext, screenshot: Screenshot
) -> None:
    hana = await coaching_shop(console)
    jiro = await counsellors.create(
        pool_of(console), console.a.tenant_id, name="次郎", phone_number="09055556666", on_duty=True
    )
    board = await context.new_page()
    await logged_in(board, console.a.operator)
    await expect(board).to_have_url(re.compile(r"/console/board$"))
    call = asyncio.create_task(emulator_for(console.daemon).place_call(call_script(ring_s=0.5, talk_s=8.0)))
    talking = board.locator("tr[data-call][data-state=talking]")
    await expect(talking).to_have_count(1)
    await expect(board.locator(f"#counsellor-{hana}-state")).to_have_text("通話中")
    state = board.locator(f"#counsellor-{jiro}-state")
    await expect(state).to_have_text("空き")

    desk = await context.new_page()  # the same operator, another tab
    await desk.goto("/console/counsellors")
    await desk.locator(f"#counsellor-{jiro}-duty").click()
    await expect(state).to_have_text("休止")  # pushed over Server-Sent Events: the board was not reloaded
    await expect(talking).to_have_count(1)  # the call talks on
    assert not (await counsellors.get(pool_of(console), console.a.tenant_id, jiro)).on_duty
    await screenshot(desk, "counsellors")

    await desk.locator(f"#counsellor-{jiro}-duty").click()
    await expect(state).to_have_text("空き")
    await asyncio.wait_for(call, 30)
    await expect(talking).to_have_count(0)


async def test_a_live_call_appears_on_the_board_talks_and_goes(
    console: Console, page: Page, screenshot: Screenshot
) -> None:
    hana = await coaching_shop(console)
    await logged_in(page, console.a.operator)
    await expect(page.locator("#lines-in-use")).to_have_text("0")
    call = asyncio.create_task(emulator_for(console.daemon).place_call(call_script(ring_s=1.0, talk_s=6.0)))
    row = page.locator("tr[data-call]")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-state", "talking")
    await expect(row).to_contain_text("090****5678")
    await expect(row).to_contain_text("花子")
    await expect(page.locator(f"#counsellor-{hana}-state")).to_have_text("通話中")
    await expect(page.locator("#lines-in-use")).to_have_text("1")
    await expect(page.get_by_text(TARO)).to_have_count(0)  # never the whole number
    await screenshot(page, "board", phone=True)
    await asyncio.wait_for(call, 30)
    await expect(row).to_have_count(0)
    await expect(page.locator("#lines-in-use")).to_have_text("0")


async def test_the_calls_csv_downloads_with_the_pages_filters(
    console: Console, page: Page, screenshot: Screenshot
) -> None:
    await coaching_shop(console)
    await asyncio.wait_for(emulator_for(console.daemon).place_call(call_script(ring_s=0.2, talk_s=1.0)), 30)
    await logged_in(page, console.a.operator)
    await page.get_by_role("link", name="通話履歴").click()
    await expect(page.locator("table tbody tr")).to_have_count(1)
    await screenshot(page, "calls")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="CSVダウンロード").click()
    download = await info.value
    path = await download.path()
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))  # the BOM Excel needs
    assert len(rows) == 1
    assert rows[0]["状態"] == "終了" and int(rows[0]["通話秒数"]) >= 1 and rows[0]["利用者"] == "太郎"


async def test_another_tenants_caller_is_not_found_by_editing_the_url(console: Console, page: Page) -> None:
    theirs = await _caller(console, console.b.tenant_id, "他社の利用者", "09011112222")
    ours = await _caller(console, console.a.tenant_id, "自社の利用者", "09033334444")
    await logged_in(page, console.a.operator)
    await page.goto(f"/console/callers/{ours}")
    await expect(page.get_by_role("heading", name=re.compile("自社の利用者"))).to_be_visible()
    response = await page.goto(f"/console/callers/{theirs}")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", name="ページが見つかりません")).to_be_visible()
    await expect(page.get_by_text("他社の利用者")).to_have_count(0)
