"""Guidance in the console: typed words (preview first, nothing stored), replace, delete refused in words."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import asyncpg

from daemon.repositories import audit, guidance
from tests.audio.media import FORMATS, encode, speech_like
from tests.console.client import Browser
from tests.console.conftest import BrowserFactory, Console

LIST = "/console/ivr/guidance"
WORDS = "お電話ありがとうございます。こちらは山田クリニックです。"


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def _customer(console: Console, browser: BrowserFactory) -> Browser:
    b = await browser()
    await b.login(console.a.ivr)
    await b.get(LIST)
    return b


async def test_typed_words_are_previewed_without_storing_then_saved_with_a_plain_verdict(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await _customer(console, browser)
    before = len(await audit.recent(pool))
    data = {"csrf": b.csrf, "name": "", "text": WORDS, "speed": "1.2", "pitch": "2"}
    async with b.session.post(b.base + LIST + "/preview", data=data) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
        wav = await r.read()
    assert wav[:4] == b"RIFF" and len(wav) > 16000 * 2  # at least a second of 16 kHz speech
    assert await guidance.all_of(pool, console.a.tenant_id) == []
    assert len(await audit.recent(pool)) == before  # a preview changes nothing
    stored = Path(console.daemon.settings.prompts_path) / "guidance"
    assert not [p for p in stored.rglob("*.wav") if wav == p.read_bytes()]

    # the words the voice must not be given: refused in words, still nothing stored
    async with b.session.post(b.base + LIST + "/preview", data={**data, "speed": "9"}) as r:
        assert r.status == 422 and await r.text() == "話す速さは 0.5〜2 の数で入力してください"

    page = await b.post(LIST + "/speech", {"name": "受付の挨拶", "text": WORDS, "speed": "1.2", "pitch": "2"})
    [made] = await guidance.all_of(pool, console.a.tenant_id)
    assert page.status == 200 and page.url.endswith(f"{LIST}/{made.id}")
    assert (made.kind, made.speech_text, made.speech_speed, made.speech_pitch) == ("speech", WORDS, 1.2, 2.0)
    assert page.has("ガイダンスを作成しました") and page.has(WORDS)
    assert page.has('<p class="verdict good" id="verdict"><strong>聞き取りやすい</strong>')
    listing = await b.get(LIST)
    assert listing.has('<span class="verdict good">聞き取りやすい</span>')
    assert (await audit.recent(pool))[0].action == "ivr.guidance.create"

    # the name is needed and kept unique, the form keeps what was typed
    page = await b.post(LIST + "/speech", {"name": "受付の挨拶", "text": "別の文", "speed": "1", "pitch": "0"})
    assert page.status == 422 and page.has("この名前のガイダンスはすでにあります") and page.has("別の文")
    page = await b.post(LIST + "/speech", {"name": "", "text": "別の文", "speed": "1", "pitch": "0"})
    assert page.status == 422 and page.has("入力してください")
    assert len(await guidance.all_of(pool, console.a.tenant_id)) == 1


async def test_a_guidance_is_replaced_by_text_and_by_upload_keeping_its_id(
    console: Console, browser: BrowserFactory, tmp_path: Path
) -> None:
    pool = _pool(console)
    b = await _customer(console, browser)
    await b.post(LIST + "/speech", {"name": "閉店", "text": "本日の営業は終了しました。", "speed": "1", "pitch": "0"})
    [made] = await guidance.all_of(pool, console.a.tenant_id)

    page = await b.post(f"{LIST}/{made.id}/speech", {"text": "ただいま準備中です。", "speed": "0.9", "pitch": "-1"})
    assert page.url.endswith(f"{LIST}/{made.id}") and page.has("差し替えました")
    assert not (await b.get(f"{LIST}/{made.id}")).has("差し替えました")  # said once, not on a reload
    respoken = await guidance.get(pool, console.a.tenant_id, made.id)
    assert respoken.speech_text == "ただいま準備中です。" and respoken.digest != made.digest
    assert respoken.name == "閉店"

    wav = encode(tmp_path / "closed.wav", speech_like(1.5, 16000, lead=0.2) * 0.5, 16000, FORMATS["wav16"])
    form = aiohttp.FormData()
    form.add_field("file", wav.read_bytes(), filename="closed.wav", content_type="audio/wav")
    async with b.session.post(f"{b.base}{LIST}/{made.id}", data=form, headers={"X-CSRF-Token": b.csrf}) as r:
        page = await b._page(r)
    assert page.status == 200 and page.url.endswith(f"{LIST}/{made.id}") and page.has("差し替えました"), page.text
    uploaded = await guidance.get(pool, console.a.tenant_id, made.id)
    assert (uploaded.kind, uploaded.original_name, uploaded.name) == ("upload", "closed.wav", "閉店")
    assert [r.action for r in (await audit.recent(pool))[:2]] == ["ivr.guidance.replace", "ivr.guidance.replace"]

    # what cannot be decoded is refused beside the file field; the sound stays
    form = aiohttp.FormData()
    form.add_field("file", b"not audio at all" * 100, filename="x.wav", content_type="audio/wav")
    async with b.session.post(f"{b.base}{LIST}/{made.id}", data=form, headers={"X-CSRF-Token": b.csrf}) as r:
        page = await b._page(r)
    assert page.status == 422 and page.has("この音声ファイルは使えません")
    assert (await guidance.get(pool, console.a.tenant_id, made.id)).digest == uploaded.digest

    # another tenant's customer can neither replace nor delete it
    other = await browser()
    await other.login(console.b.ivr)
    await other.get(LIST)
    assert (await other.post(f"{LIST}/{made.id}/speech", {"text": "乗っ取り"})).status == 404
    assert (await other.post(f"{LIST}/{made.id}/delete")).status == 404
    assert (await guidance.get(pool, console.a.tenant_id, made.id)).digest == uploaded.digest


async def test_deleting_a_guidance_a_published_flow_plays_is_refused_in_words(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await _customer(console, browser)
    await b.post(LIST + "/speech", {"name": "挨拶", "text": "こんにちは。", "speed": "1", "pitch": "0"})
    await b.post(LIST + "/speech", {"name": "予備", "text": "予備です。", "speed": "1", "pitch": "0"})
    used, spare = sorted(await guidance.all_of(pool, console.a.tenant_id), key=lambda g: g.id)
    flow = {
        "entry": {"default": "hello"},
        "nodes": {"hello": {"kind": "play", "guidance": [used.id], "next": "bye"}, "bye": {"kind": "hangup"}},
    }
    await b.get("/console/ivr/flows")
    published = await b.post("/console/ivr/flows", {"definition": json.dumps(flow), "action": "publish"})
    assert published.status == 200

    detail = await b.get(f"{LIST}/{used.id}")
    assert detail.has("公開した通話フロー（バージョン 1）で使われているため、削除できません")
    page = await b.post(f"{LIST}/{used.id}/delete")
    assert page.status == 409
    assert page.has("公開した通話フロー（バージョン 1）で使われているため削除できません")
    assert await guidance.get(pool, console.a.tenant_id, used.id)
    assert "ivr.guidance.delete" not in [r.action for r in await audit.recent(pool)]

    page = await b.post(f"{LIST}/{spare.id}/delete")
    assert page.status == 200 and page.url.endswith(LIST) and page.has("ガイダンスを削除しました")
    assert [g.id for g in await guidance.all_of(pool, console.a.tenant_id)] == [used.id]
    assert (await audit.recent(pool))[0].action == "ivr.guidance.delete"


async def test_the_addresses_guidance_may_be_mailed_from_are_kept_per_tenant(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await _customer(console, browser)
    page = await b.post(LIST + "/senders", {"senders": "Uketsuke@Clinic.example.jp\nowner@clinic.example.jp"})
    assert page.url.endswith(LIST) and page.has("メールで送れるアドレスを保存しました")
    assert "<title>ガイダンス | calld コンソール</title>" in page.text and page.has("文字から作る")
    assert page.has("owner@clinic.example.jp\nuketsuke@clinic.example.jp")  # lower case, one a line
    assert (await audit.recent(pool))[0].action == "ivr.guidance_senders.save"

    page = await b.post(LIST + "/senders", {"senders": "not an address"})
    assert page.status == 422 and page.has("メールアドレスの形式が正しくない")

    other = await browser()
    await other.login(console.b.ivr)
    await other.get(LIST)
    page = await other.post(LIST + "/senders", {"senders": "owner@clinic.example.jp"})
    assert page.status == 422 and page.has("ほかのお客様が登録しているアドレス")
    assert not page.has("uketsuke@clinic.example.jp")
    rows = await pool.fetch("SELECT tenant_id, address FROM guidance_mail_senders ORDER BY address")
    assert [(r["tenant_id"], r["address"]) for r in rows] == [
        (console.a.tenant_id, "owner@clinic.example.jp"),
        (console.a.tenant_id, "uketsuke@clinic.example.jp"),
    ]
