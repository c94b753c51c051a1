"""Counsellors in a real Chromium: the operator makes a counsellor's login and PIN, the counsellor goes on
duty on a phone-sized page and off duty by phone (the emulated FreeSWITCH), and the payout report with
its commission after a real call."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime

from playwright.async_api import Page, expect

from daemon.repositories import counsellors, tenants
from daemon.services.values import TOKYO
from emulator import CallerScript, Keys
from tests.calls.test_admission_e2e import emulator_for, played
from tests.console.browser.conftest import Screenshot, logged_in
from tests.console.client import PASSWORD
from tests.console.conftest import Console
from tests.console.shop import call_script, coaching_shop, pool_of

DUTY_NUMBER = "0312340000"
HANAKO_PHONE = "09077778888"


async def test_a_counsellor_goes_on_duty_on_the_page_and_off_duty_by_phone(
    console: Console, page: Page, phone: Page, screenshot: Screenshot
) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    await tenants.add_number(pool, tenant, DUTY_NUMBER, "duty")
    hanako = await counsellors.create(pool, tenant, name="花子先生", phone_number=HANAKO_PHONE, on_duty=False)

    # the operator makes her login and her PIN
    await logged_in(page, console.a.operator)
    await page.get_by_role("link", name="相談員").click()
    await page.locator(f"#counsellor-{hanako}-setup").click()
    await page.get_by_label("ログインID").fill("hanako")
    await page.get_by_label("初期パスワード（10文字以上）").fill(PASSWORD)
    await page.get_by_role("button", name="ログインを作成").click()
    await expect(page.locator("#saved")).to_have_text("ログインを作成しました。")
    await page.get_by_label("暗証番号（4〜8桁）").fill("4321")
    await page.get_by_role("button", name="暗証番号を設定").click()
    await expect(page.locator("#pin-state")).to_have_text("設定済み")
    await screenshot(page, "counsellor-setup")

    # she goes on duty on her phone, in one tap
    await logged_in(phone, "hanako")
    await expect(phone.locator("#duty-state")).to_have_text("待機していません")
    await phone.get_by_role("button", name="待機開始").click()
    await expect(phone.locator("#saved")).to_contain_text("待機を開始しました")
    await expect(phone.locator("#duty-state")).to_have_text("待機中")
    assert (await counsellors.get(pool, tenant, hanako)).on_duty
    await screenshot(phone, "counsellor-me", desktop=False, phone=True)

    # and off duty by phone: the duty line, her registered phone, her PIN, 2
    result = await asyncio.wait_for(
        emulator_for(console.daemon).place_call(
            CallerScript(
                caller=HANAKO_PHONE,
                destination=DUTY_NUMBER,
                digits=[Keys("4321#", delay=0.05, interval=0.05), Keys("2", delay=0.05)],
            )
        ),
        30,
    )
    assert played(result) == ["duty_enter_pin", "duty_state_on", "duty_menu", "duty_now_off"]
    await phone.reload()
    await expect(phone.locator("#duty-state")).to_have_text("待機していません")
    await expect(phone.get_by_role("button", name="待機開始")).to_be_visible()
    assert not (await counsellors.get(pool, tenant, hanako)).on_duty


async def test_the_payout_report_shows_pay_and_commission_after_a_real_call(
    console: Console, page: Page, screenshot: Screenshot
) -> None:
    hana = await coaching_shop(console)
    pool = pool_of(console)
    await asyncio.wait_for(emulator_for(console.daemon).place_call(call_script(ring_s=0.2, talk_s=2.0)), 30)
    charged = await pool.fetchval("SELECT charge_yen FROM call_records WHERE counsellor_id = $1", hana)
    assert charged > 0

    await logged_in(page, console.a.operator)
    await page.goto(f"/console/counsellors/{hana}/setup")
    await page.get_by_label("報酬の計算").select_option("percent")
    await page.get_by_label("率（％）または1分あたりの円").fill("45")
    await page.get_by_label("適用開始日（この日の通話から）").fill(datetime.now(TOKYO).date().isoformat())
    await page.get_by_role("button", name="報酬率を保存").click()
    await expect(page.locator("#rates")).to_contain_text("課金額の45%")

    await page.get_by_role("link", name="報酬レポート").click()
    pay = charged * 45 // 100
    await expect(page.locator(f"#payout-{hana}-pay")).to_have_text(f"{pay:,}円")
    await expect(page.locator("#total-yen")).to_have_text(f"{charged:,}円")
    await expect(page.locator("#total-commission")).to_have_text(f"{charged - pay:,}円")
    await screenshot(page, "payouts")

    async with page.expect_download() as info:
        await page.get_by_role("link", name="CSVダウンロード").click()
    path = await (await info.value).path()
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    hanako_row = next(r for r in rows if r["相談員"] == "花子")
    assert (hanako_row["報酬（円）"], hanako_row["運営手数料（円）"]) == (str(pay), str(charged - pay))
