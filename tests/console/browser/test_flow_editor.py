"""The visual flow editor in a real Chromium: a customer with nothing builds a flow by forms alone
(menu, typed guidance, business hours, forward, voicemail), publishes it, and calls follow it;
versions are compared, published and rolled back, each confirmed."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from playwright.async_api import Dialog, Locator, Page, expect

from daemon.repositories import audit, guidance, ivr_flows, tenants, voicemail
from daemon.rules.ivr.models import Flow
from emulator import CallerScript, FarEnd, Speech
from tests.calls.test_admission_e2e import emulator_for
from tests.console.browser.conftest import SHOTS, TAKE_SCREENSHOTS, logged_in
from tests.console.conftest import Console
from tests.console.shop import pool_of
from tests.ivr.world import NUMBER, TARO, fast, heard

SHOP = "09011112222"
SPEECH_MS = 60_000  # the first synthesis starts the audio child process and loads its dictionary
WORDS = "お電話ありがとうございます。ご用件のかたは1を、伝言は2を押してください。"


def card(page: Page, name: str) -> Locator:
    return page.locator(f'section.flow-node[data-node="{name}"]')


async def add(page: Page, kind: str) -> None:
    await page.locator(".flow-add").get_by_role("button", name=f"＋{kind}").click()


async def connect(where: Locator, label: str, node: str) -> None:
    await where.get_by_role("combobox", name=label).select_option(node)


async def ivr_customer(console: Console, page: Page) -> None:
    """Tenant alpha as our staff set it up: an IVR number and the forwarding add-on; no flow, no guidance."""
    pool = pool_of(console)
    await tenants.add_number(pool, console.a.tenant_id, NUMBER, "ivr")
    await pool.execute("UPDATE line_contracts SET forwarding = true WHERE tenant_id = $1", console.a.tenant_id)
    await logged_in(page, console.a.ivr)
    await expect(page).to_have_url(re.compile(r"/console/ivr/flows$"))


async def typed_menu(page: Page) -> None:
    """The menu asks with words the customer types: a guidance is made from them and selected."""
    menu = card(page, "menu")
    prompt = menu.locator(".guidance-pick").first
    await prompt.get_by_role("button", name="文章を入力して作成").click()
    await prompt.get_by_label("ガイダンス名").fill("ご案内")
    await prompt.get_by_label("読み上げる文章").fill(WORDS)
    await prompt.get_by_role("button", name="作成して選ぶ").click()
    status = page.locator("#flow-editor-status")
    await expect(status).to_have_text("ガイダンス「ご案内」を作成しました", timeout=SPEECH_MS)
    await expect(menu.get_by_role("combobox", name="質問のガイダンス").locator("option:checked")).to_have_text("ご案内")
    await connect(menu.locator('.flow-key[data-key="1"]'), "1 を押したとき", "forward")
    await menu.get_by_role("button", name="キーを追加").click()
    await connect(menu.locator('.flow-key[data-key="2"]'), "2 を押したとき", "voicemail")
    await connect(menu, "どのキーでもないとき（やり直しの後）", "bye")


async def open_round_the_clock(page: Page) -> None:
    """Every weekday 00:00-24:00, holidays open, one closed day and one special day far ahead."""
    hours = card(page, "hours")
    for day in ("土曜日", "日曜日"):
        await hours.get_by_role("button", name=f"{day} を営業日にする").click()
    for day in "月火水木金土日":
        await hours.get_by_label(f"{day}曜日 開始", exact=True).fill("00:00")
        await hours.get_by_label(f"{day}曜日 終了", exact=True).fill("00:00")  # midnight: the end of the day
    await hours.get_by_label("祝日は休み").uncheck()
    await hours.get_by_role("button", name="休業日を追加").click()
    await hours.get_by_label("休業日 1", exact=True).fill("2031-01-02")
    await hours.get_by_role("button", name="特別営業日を追加").click()
    await hours.get_by_label("特別営業日", exact=True).fill("2031-01-03")
    await connect(hours, "営業時間内", "menu")
    await connect(hours, "営業時間外", "voicemail")


async def forward_and_voicemail(page: Page) -> None:
    forward = card(page, "forward")
    await forward.get_by_label("呼び出す秒数").fill("5")
    await connect(forward, "つながらないとき（話し中・応答なし）", "voicemail")
    await card(page, "voicemail").get_by_label("最長の録音秒数").fill("10")


async def reorder_and_remove(page: Page) -> None:
    """The hours node moved to the top; a node added by mistake removed again; calls start at hours."""
    for _ in range(4):
        await card(page, "hours").get_by_role("button", name="hours を上へ").click()
    await add(page, "ガイダンス再生")
    page.once("dialog", lambda dialog: asyncio.ensure_future(_accept(dialog)))
    await card(page, "play").get_by_role("button", name="play を削除").click()
    await expect(card(page, "play")).to_have_count(0)
    await page.locator("#flow-start").select_option("hours")
    names = await page.locator("section.flow-node").evaluate_all("cards => cards.map(c => c.dataset.node)")
    assert names == ["hours", "bye", "voicemail", "forward", "menu"]


async def assert_published(console: Console) -> int:
    """The live version is the flow built on the page; the typed guidance's id."""
    pool = pool_of(console)
    live = await ivr_flows.live(pool, console.a.tenant_id)
    assert live is not None and live.version == 1
    [made] = await guidance.all_of(pool, console.a.tenant_id)
    assert (made.kind, made.name, made.speech_text) == ("speech", "ご案内", WORDS)
    flow = live.flow
    assert flow.entry.default == "hours"
    assert flow.nodes["menu"].model_dump(include={"prompt", "options", "fallback"}) == {
        "prompt": made.id,
        "options": {"1": "forward", "2": "voicemail"},
        "fallback": "bye",
    }
    assert flow.nodes["forward"].model_dump(include={"numbers", "ring_timeout_s", "on_fail"}) == {
        "numbers": [SHOP],
        "ring_timeout_s": 5,
        "on_fail": "voicemail",
    }
    week = flow.nodes["hours"].model_dump(mode="json")
    assert week["week"] == {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert (week["public_holidays_closed"], week["closed_dates"]) == (False, ["2031-01-02"])
    assert week["open_dates"] == {"2031-01-03": ["10:00-15:00"]}
    return made.id


@pytest.mark.timeout(240)  # a real Chromium, a speech synthesis, two calls: slow on 2 shared cores
async def test_a_flow_built_without_json_is_published_and_calls_follow_it(console: Console, page: Page) -> None:
    pool = pool_of(console)
    await ivr_customer(console, page)
    await expect(page.locator("#flow-definition")).to_be_hidden()  # no JSON unless asked for
    await expect(card(page, "bye")).to_be_visible()  # the starting point: one hang-up node
    for kind in ("留守番電話", "転送", "メニュー", "営業時間"):
        await add(page, kind)
    await expect(page.locator("section.flow-node")).to_have_count(5)
    await typed_menu(page)
    await open_round_the_clock(page)
    await forward_and_voicemail(page)
    await reorder_and_remove(page)

    # publishing with the forward number left empty: refused, the message in the forward card
    await page.get_by_role("button", name="保存して公開").click()
    await expect(page.locator("#flow-refused")).to_be_visible()
    await expect(card(page, "forward").locator(".node-problems")).to_contain_text("numbers")
    await expect(card(page, "menu").locator(".node-problems")).to_have_count(0)
    assert await ivr_flows.versions(pool, console.a.tenant_id) == []

    await card(page, "forward").get_by_label("転送先 1", exact=True).fill("090-1111-2222")
    await page.get_by_role("button", name="保存して公開").click()
    await expect(page.locator("#done")).to_have_text("バージョン 1 を公開しました。次の着信から使われます。")
    await expect(card(page, "menu").get_by_label("やり直し回数")).to_have_value("2")  # defaults shown as set
    await shots(page)
    typed = await guidance.get(pool, console.a.tenant_id, await assert_published(console))

    # an emulated call follows it: the typed words, key 1, the shop's phone rings and answers
    fs = emulator_for(console.daemon)
    answered = await fs.place_call(
        CallerScript(
            caller=TARO,
            destination=NUMBER,
            digits=[fast("1")],
            far_ends={SHOP: FarEnd("answer", answer_after=0.2, hangup_after=1.0)},
        )
    )
    assert answered.errors == []
    assert heard(answered) == [Path(typed.path).stem]
    assert [a.outcome for a in answered.bridged_to] == ["SUCCESS"]
    # key 2: a message is recorded at the voicemail node
    left = await fs.place_call(CallerScript(caller=TARO, destination=NUMBER, digits=[fast("2"), Speech(2.0)]))
    assert left.errors == []
    [message] = await voicemail.listing(pool, console.a.tenant_id)
    assert (message.flow_node, message.caller_number) == ("voicemail", TARO)


async def shots(page: Page) -> None:
    """For the README (``make screenshots``): the top of the editor, and the menu's card on its own."""
    if not TAKE_SCREENSHOTS:
        return
    await page.screenshot(path=SHOTS / "flow-editor.png", animations="disabled")
    await card(page, "menu").screenshot(path=SHOTS / "flow-editor-menu.png", animations="disabled")


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


def _flow(greeting: str) -> Flow:
    return Flow.model_validate(
        {"entry": {"default": greeting}, "nodes": {greeting: {"kind": "hangup"}, "bye": {"kind": "hangup"}}}
    )


async def test_versions_are_compared_published_and_rolled_back_each_with_a_success_message(
    console: Console, page: Page
) -> None:
    pool = pool_of(console)
    tenant = console.a.tenant_id
    await ivr_customer(console, page)
    first = await ivr_flows.save(pool, tenant, _flow("hello"))
    await ivr_flows.publish(pool, tenant, first.version)
    await ivr_flows.save(pool, tenant, _flow("welcome"))
    await page.reload()

    await page.locator(".flow-compare").get_by_role("button", name="変更点を比較").click()
    await expect(page.get_by_role("heading", name="バージョン 1 → 2 の変更点")).to_be_visible()
    await expect(page.locator('[data-node="welcome"][data-change="added"]')).to_be_visible()
    await expect(page.locator('[data-node="hello"][data-change="removed"]')).to_be_visible()
    entry = page.locator('[data-node="entry"][data-change="changed"]')
    await expect(entry.locator("td.before")).to_have_text('"hello"')
    await expect(entry.locator("td.after")).to_have_text('"welcome"')

    await page.get_by_role("button", name="バージョン 2 を公開").click()
    await expect(page.locator("#done")).to_have_text("バージョン 2 を公開しました。次の着信から使われます。")
    asked: list[str] = []

    async def accept(dialog: Dialog) -> None:  # a roll-back changes the next call: the page asks first
        asked.append(dialog.message)
        await dialog.accept()

    page.once("dialog", accept)
    await page.locator('tr[data-version="1"]').get_by_role("button", name="このバージョンに戻す").click()
    await expect(page.locator("#done")).to_have_text("バージョン 1 に戻しました。次の着信から使われます。")
    assert page.url.endswith("/console/ivr/flows")  # the notice is not in the address
    await page.reload()
    await expect(page.locator("#live-version")).to_have_text("1")
    await expect(page.locator("#done")).to_have_count(0)  # said once, not again on a reload
    assert asked == ["バージョン1を公開します。次の着信からこのフローで応答します。よろしいですか？"]
    live = await ivr_flows.live(pool, tenant)
    assert live is not None and live.version == 1
    assert [r.action for r in (await audit.recent(pool))[:2]] == ["ivr.flow.rollback", "ivr.flow.publish"]

    # a version seen on its own, taken back into the editor, saved: a new version, the editor kept
    await page.locator('tr[data-version="2"]').get_by_role("link", name="表示").click()
    await expect(page.locator('.flow-summary [data-node="welcome"]')).to_contain_text("終了")
    exported = await page.request.get("/console/ivr/flows/2/export")
    assert exported.ok and json.loads(await exported.text())["entry"]["default"] == "welcome"
    await page.get_by_role("link", name="このバージョンをもとに編集").click()
    await expect(page.locator("#flow-start")).to_have_value("welcome")
    await page.get_by_role("button", name="保存のみ").click()
    await expect(page.locator("#done")).to_have_text("バージョン 3 を保存しました（まだ公開していません）。")
    saved = await ivr_flows.version(pool, tenant, 3)
    assert saved.definition == _flow("welcome") and not saved.live


async def test_the_editor_fits_a_phone(console: Console, phone: Page) -> None:
    """Every card of a full flow on a 390 px screen: nothing wider than the screen (no sideways scrolling)."""
    pool = pool_of(console)
    tenant = console.a.tenant_id
    flow = {
        "entry": {"default": "hours"},
        "nodes": {
            "hours": {"kind": "hours", "week": {"mon": ["09:00-12:00", "13:00-18:00"]}, "open": "fwd", "closed": "vm"},
            "fwd": {"kind": "forward", "numbers": [SHOP, "0312345678"], "shown_number": "caller", "on_fail": "vm"},
            "vm": {"kind": "voicemail", "next": "bye"},
            "bye": {"kind": "hangup"},
        },
    }
    await ivr_flows.save(pool, tenant, Flow.model_validate(flow))
    await logged_in(phone, console.a.ivr)
    await expect(phone.locator("section.flow-node")).to_have_count(4)
    widths = await phone.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
