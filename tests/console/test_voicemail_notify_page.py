"""The voicemail page: unheard and heard messages, where notifications go, and the delivery log in words."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from daemon.repositories import audit, notifications, voicemail
from tests.console.conftest import BrowserFactory, Console
from tests.mail.voicemails import left

PAGE = "/console/ivr/voicemail"


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def test_a_message_is_unheard_until_played_and_can_be_marked_unheard_again(
    console: Console, browser: BrowserFactory, tmp_path: Path
) -> None:
    pool = _pool(console)
    vm, _ = await left(pool, console.a.tenant_id, tmp_path)
    b = await browser()
    await b.login(console.a.ivr)
    page = await b.get(PAGE)
    assert page.has("未読のメッセージが <strong>1</strong> 件あります")
    assert page.has('<strong class="badge">未読</strong>')

    async with b.session.get(f"{b.base}{PAGE}/{vm}/audio") as r:
        assert r.status == 200
    assert (await voicemail.get(pool, console.a.tenant_id, vm)).heard_at is not None
    page = await b.get(PAGE)
    assert page.has("未読のメッセージはありません") and page.has("未読に戻す")
    assert (await audit.recent(pool))[0].action == "ivr.voicemail.heard"

    page = await b.post(f"{PAGE}/{vm}/heard", {"heard": "0"})
    assert page.url.endswith(PAGE) and page.has("未読のメッセージが <strong>1</strong> 件あります")
    assert (await voicemail.get(pool, console.a.tenant_id, vm)).heard_at is None
    assert (await audit.recent(pool))[0].action == "ivr.voicemail.unheard"

    other = await browser()
    await other.login(console.b.ivr)
    await other.get(PAGE)
    assert (await other.post(f"{PAGE}/{vm}/heard", {"heard": "1"})).status == 404
    assert (await voicemail.get(pool, console.a.tenant_id, vm)).heard_at is None


async def test_notification_settings_are_saved_with_a_secret_and_refused_in_words(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.a.ivr)
    await b.get(PAGE)
    page = await b.post(f"{PAGE}/notify", {"emails": "受付 な し", "webhook_url": "javascript:alert(1)"})
    assert page.status == 422
    assert page.has("メールアドレスの形式が正しくない") and page.has("https:// または http:// で始まるURL")
    assert page.has("javascript:alert(1)")  # what was typed is kept
    assert await notifications.settings(pool, console.a.tenant_id) is None

    fields = {
        "emails": "a@clinic.example.jp\nB@Clinic.example.jp、a@clinic.example.jp",
        "webhook_url": "https://hooks.example.jp/vm",
    }
    page = await b.post(f"{PAGE}/notify", fields)
    assert page.url.endswith(PAGE) and page.has("通知の設定を保存しました")
    assert not (await b.get(PAGE)).has("通知の設定を保存しました")  # said once, not on a reload
    saved = await notifications.settings(pool, console.a.tenant_id)
    assert saved is not None and saved.emails == ["a@clinic.example.jp", "b@clinic.example.jp"]
    assert page.has(saved.webhook_secret) and (await audit.recent(pool))[0].action == "ivr.notify.save"

    await b.post(f"{PAGE}/notify", {**fields, "renew_secret": "1"})
    renewed = await notifications.settings(pool, console.a.tenant_id)
    assert renewed is not None and renewed.webhook_secret != saved.webhook_secret

    # the delivery log says what happened, in words
    await pool.execute(
        "INSERT INTO notification_deliveries (tenant_id, channel, target, state, attempts, last_status, last_error)"
        " VALUES ($1, 'webhook', 'https://hooks.example.jp/vm', 'pending', 1, 500, 'the receiver answered HTTP 500')",
        console.a.tenant_id,
    )
    page = await b.get(PAGE)
    assert page.has("送信待ち（再送あり）") and page.has("受信側が HTTP 500 を返しました")
    other = await browser()
    await other.login(console.b.ivr)
    assert not (await other.get(PAGE)).has("hooks.example.jp")
