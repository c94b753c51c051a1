"""In a real Chromium: a caller blocked on the page is refused unanswered and shows in the call history with
its Japanese reason; the IVR statistics page draws its charts and its CSV opens in Excel (BOM)."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import datetime

from playwright.async_api import Dialog, Page, expect

from daemon.repositories import ivr_call_log
from daemon.repositories.ivr_call_log import IvrCallEnd
from daemon.services.values import TOKYO
from tests.calls.test_admission_e2e import emulator_for, played, refused
from tests.console.browser.conftest import Screenshot, logged_in
from tests.console.conftest import Console
from tests.console.shop import call_script, coaching_shop, pool_of


async def test_a_caller_blocked_on_the_page_is_refused_and_the_history_says_why(
    console: Console, page: Page, screenshot: Screenshot
) -> None:
    await coaching_shop(console)
    await logged_in(page, console.a.operator)
    await page.get_by_role("link", name="着信拒否").click()
    await page.get_by_role("textbox", name="電話番号").fill("090-1234-5678")
    await page.get_by_label("メモ（任意）").fill("迷惑電話")
    await page.get_by_role("button", name="追加する").click()
    await expect(page.locator("#done")).to_have_text("着信拒否に追加しました。")
    await expect(page.locator("#blocked tbody tr")).to_have_count(1)
    await screenshot(page, "block-list", phone=True)

    result = await asyncio.wait_for(emulator_for(console.daemon).place_call(call_script()), 30)
    assert refused(result, 603) and played(result) == ["call_declined"]
    await console.daemon.services.writer.drained()

    await page.get_by_role("link", name="通話履歴").click()
    row = page.locator("table tbody tr")
    await expect(row).to_have_count(1)
    await expect(row.locator("td.reason")).to_have_text("着信拒否")
    await page.get_by_label("拒否の理由").select_option(label="残高不足")
    await page.get_by_role("button", name="絞り込む").click()
    await expect(page.get_by_text("条件に当てはまる通話・着信はありません。")).to_be_visible()
    today = datetime.now(TOKYO).date().isoformat()
    await page.get_by_label("拒否の理由").select_option(label="着信拒否")
    await page.get_by_label("開始日").fill(today)
    await page.get_by_label("終了日（この日を含む）").fill(today)
    await page.get_by_role("button", name="絞り込む").click()
    await expect(page.locator("table tbody tr td.reason")).to_have_text("着信拒否")
    await screenshot(page, "calls-refused")

    await page.get_by_role("link", name="着信拒否").click()
    asked: list[str] = []

    async def dismiss_then_accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await (dialog.dismiss() if len(asked) == 1 else dialog.accept())

    page.on("dialog", dismiss_then_accept)
    await page.get_by_role("button", name="解除").click()
    await expect(page.locator("#blocked tbody tr")).to_have_count(1)  # dismissed: nothing removed
    await page.get_by_role("button", name="解除").click()
    await expect(page.locator("#done")).to_have_text("着信拒否から外しました。")
    assert asked == ["09012345678の着信拒否を解除しますか？"] * 2
    assert await pool_of(console).fetchval("SELECT count(*) FROM blocked_callers") == 0


async def test_the_statistics_page_draws_its_charts_and_the_csv_opens_in_excel(
    console: Console, page: Page, screenshot: Screenshot
) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    for keys in ("1", "1", "2"):
        end = IvrCallEnd(uuid.uuid4(), tenant, 1, "0312345678", "09011112222", datetime.now(TOKYO), "bye",
                         "hangup", False, [("menu", keys)])  # fmt: skip
        await ivr_call_log.add(pool, end)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
    await logged_in(page, console.a.ivr)
    await page.get_by_role("link", name="統計").click()
    await expect(page.locator("#total-calls")).to_have_text("3")
    drawn = await page.wait_for_function("() => window.calldCharts && Object.keys(window.calldCharts)")
    assert sorted(await drawn.json_value()) == ["chart-choices", "chart-daily", "chart-hourly"]
    width = await page.locator("#chart-daily").evaluate("c => c.width")
    assert width > 100  # Chart.js sized and drew the canvas
    assert missing == []  # Chart.js and the page's script were served
    assert [e for e in errors if "favicon" not in e and "Failed to load resource" not in e] == []  # nor refused (CSP)
    await screenshot(page, "ivr-statistics", phone=True)

    async with page.expect_download() as info:
        await page.get_by_role("link", name="CSV（日別）").click()
    download = await info.value
    path = await download.path()
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[-1]["日付"] == "合計" and rows[-1]["着信（応答）"] == "3"
    assert rows[-2]["日付"] == datetime.now(TOKYO).strftime("%Y/%m/%d")
