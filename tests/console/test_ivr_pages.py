"""IVR customer pages: flows (checked as the API checks them), guidance upload and playback, voicemail."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg

from daemon.repositories import audit, forwarding, guidance, ivr_flows, voicemail
from daemon.rules.ivr.tariff import ForwardTariff
from tests.audio.media import FORMATS, encode, speech_like
from tests.console.conftest import BrowserFactory, Console

GOOD = {"entry": {"default": "bye"}, "nodes": {"bye": {"kind": "hangup"}}}
HOURS = {
    "entry": {"default": "hours"},
    "nodes": {
        "hours": {"kind": "hours", "week": {"mon": ["09:00-18:00"]}, "open": "bye", "closed": "bye"},
        "bye": {"kind": "hangup"},
    },
}


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


def _node_errors(html: str, node: str) -> list[str]:
    return re.findall(rf'<span class="field-error" data-node="{re.escape(node)}">([^<]*)</span>', html)


async def test_a_valid_flow_is_saved_and_published_with_its_business_hours(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.a.ivr)
    await b.get("/console/ivr/flows")
    page = await b.post("/console/ivr/flows", {"definition": json.dumps(HOURS), "action": "publish"})
    assert page.status == 200 and page.url.endswith("/console/ivr/flows")
    assert page.has("バージョン 1 を公開しました")
    assert not (await b.get("/console/ivr/flows")).has("バージョン 1 を公開しました")  # once, not on a reload
    live = await ivr_flows.live(pool, console.a.tenant_id)
    assert live is not None and live.version == 1
    assert page.has("営業時間") and page.has("09:00-18:00")
    row = (await audit.recent(pool))[0]
    assert (row.action, row.tenant_id, row.after["version"]) == ("ivr.flow.publish", console.a.tenant_id, 1)
    # beta sees none of it
    other = await browser()
    await other.login(console.b.ivr)
    assert (await ivr_flows.versions(pool, console.b.tenant_id)) == []
    assert not (await other.get("/console/ivr/flows")).has("09:00-18:00")


async def test_a_flow_with_an_invalid_node_shows_the_message_at_the_node_and_changes_nothing(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.a.ivr)
    await b.get("/console/ivr/flows")
    broken = {
        "entry": {"default": "menu"},
        "nodes": {
            "menu": {"kind": "menu", "prompt": 7, "options": {"1": "sales"}, "fallback": "bye"},
            "bye": {"kind": "hangup"},
        },
    }
    page = await b.post("/console/ivr/flows", {"definition": json.dumps(broken), "action": "publish"})
    assert page.status == 422
    messages = _node_errors(page.text, "menu")
    assert "次のノード「sales」がありません" in messages and "ガイダンス 7 がありません" in messages
    assert _node_errors(page.text, "bye") == []
    assert page.has('"sales"')  # the text typed is kept
    assert await ivr_flows.versions(pool, console.a.tenant_id) == []
    assert await audit.recent(pool) == []

    # a shape error (a key that is not digits) is shown at its node too, and nothing is saved
    bad_shape = json.loads(json.dumps(GOOD))
    bad_shape["nodes"]["vm"] = {"kind": "voicemail", "max_seconds": 1}
    page = await b.post("/console/ivr/flows", {"definition": json.dumps(bad_shape), "action": "save"})
    assert page.status == 422
    assert any("max_seconds" in m and "5以上" in m for m in _node_errors(page.text, "vm"))
    page = await b.post("/console/ivr/flows", {"definition": "{not json", "action": "save"})
    assert page.status == 422 and page.has("JSONの形式が正しくありません")
    assert await ivr_flows.versions(pool, console.a.tenant_id) == []


async def test_an_earlier_version_is_published_again_to_roll_back(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.a.ivr)
    await b.get("/console/ivr/flows")
    await b.post("/console/ivr/flows", {"definition": json.dumps(GOOD), "action": "publish"})
    await b.post("/console/ivr/flows", {"definition": json.dumps(HOURS), "action": "publish"})
    live = await ivr_flows.live(pool, console.a.tenant_id)
    assert live is not None and live.version == 2
    await b.post("/console/ivr/flows/1/publish")
    live = await ivr_flows.live(pool, console.a.tenant_id)
    assert live is not None and live.version == 1
    # beta's customer cannot publish alpha's version numbers: beta has none
    other = await browser()
    await other.login(console.b.ivr)
    await other.get("/console/ivr/flows")
    assert (await other.post("/console/ivr/flows/1/publish")).status == 404


async def test_an_operator_cannot_open_the_ivr_pages(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.a.operator)
    assert (await b.get("/console/ivr/flows")).status == 403
    b2 = await browser()
    await b2.login(console.admin)
    assert (await b2.get("/console/ivr/flows")).status == 403


async def test_a_small_wav_upload_shows_playback_and_its_loudness(
    console: Console, browser: BrowserFactory, tmp_path: Path
) -> None:
    pool = _pool(console)
    wav = encode(tmp_path / "welcome.wav", speech_like(1.5, 16000, lead=0.2) * 0.5, 16000, FORMATS["wav16"])
    b = await browser()
    await b.login(console.a.ivr)
    listing = await b.get("/console/ivr/guidance")
    assert listing.has("data-upload") and listing.has("guidance_upload.js")
    form = aiohttp.FormData()
    form.add_field("name", "ようこそ")
    form.add_field("file", wav.read_bytes(), filename="welcome.wav", content_type="audio/wav")
    async with b.session.post(b.base + "/console/ivr/guidance", data=form, headers={"X-CSRF-Token": b.csrf}) as r:
        page = await b._page(r)
    assert page.status == 200, page.text
    [made] = await guidance.all_of(pool, console.a.tenant_id)
    assert page.url.endswith(f"/console/ivr/guidance/{made.id}") and page.has("ガイダンスを作成しました")
    for src in ("original", "audio?rate=8000", "audio?rate=16000"):
        assert f'<audio controls preload="none" src="/console/ivr/guidance/{made.id}/{src}">' in page.text
    assert page.has("ラウドネスのレポート") and page.has("LUFS")
    assert made.report is not None
    assert page.has(f"{made.report['outputs'][0]['loudness_lufs']:.1f} LUFS")
    async with b.session.get(f"{b.base}/console/ivr/guidance/{made.id}/audio?rate=8000") as r:
        assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
        assert (await r.read())[:4] == b"RIFF"
    async with b.session.get(f"{b.base}/console/ivr/guidance/{made.id}/original") as r:
        assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
        assert await r.read() == wav.read_bytes()
    assert (await audit.recent(pool))[0].action == "ivr.guidance.create"
    # another tenant's customer hears none of it
    other = await browser()
    await other.login(console.b.ivr)
    for path in ("", "/audio", "/original"):
        assert (await other.get(f"/console/ivr/guidance/{made.id}{path}")).status == 404
    # an upload without the header token is refused before the body is read
    form = aiohttp.FormData()
    form.add_field("name", "その2")
    form.add_field("file", b"RIFF", filename="x.wav", content_type="audio/wav")
    async with b.session.post(b.base + "/console/ivr/guidance", data=form) as r:
        assert r.status == 403
    assert len(await guidance.all_of(pool, console.a.tenant_id)) == 1


async def test_a_voicemail_plays_only_for_its_own_tenant_and_is_deleted_with_audit(
    console: Console, browser: BrowserFactory, tmp_path: Path
) -> None:
    pool = _pool(console)
    recording = encode(tmp_path / "vm.wav", speech_like(1.0, 8000), 8000, FORMATS["wav16"])
    vm = await voicemail.add(
        pool,
        tenant_id=console.a.tenant_id,
        call_uuid=uuid.uuid4(),
        flow_node="vm",
        caller_number="09011112222",
        dialled="0312345678",
        path=str(recording),
        duration_ms=1000,
    )
    b = await browser()
    await b.login(console.a.ivr)
    listing = await b.get("/console/ivr/voicemail")
    assert listing.has("09011112222") and listing.has(f'src="/console/ivr/voicemail/{vm}/audio"')
    async with b.session.get(f"{b.base}/console/ivr/voicemail/{vm}/audio") as r:
        assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
        assert await r.read() == recording.read_bytes()
    other = await browser()
    await other.login(console.b.ivr)
    assert (await other.get(f"/console/ivr/voicemail/{vm}/audio")).status == 404
    assert not (await other.get("/console/ivr/voicemail")).has("09011112222")
    assert (await other.post(f"/console/ivr/voicemail/{vm}/delete")).status == 404
    await b.post(f"/console/ivr/voicemail/{vm}/delete")
    assert await voicemail.listing(pool, console.a.tenant_id) == []
    assert not recording.exists()
    assert (await audit.recent(pool))[0].action == "ivr.voicemail.delete"


async def test_forwarded_calls_are_listed_by_period_for_their_own_tenant(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    rung = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    created_us = int(rung.timestamp() * 1_000_000)
    leg = uuid.uuid4()
    await forwarding.open_legs(
        pool,
        [(leg, "09011112222")],
        call_uuid=uuid.uuid4(),
        tenant_id=console.a.tenant_id,
        node_id=console.daemon.settings.node_id,
        flow_node="sales",
        tariff=ForwardTariff(60, 10),
        created_us=created_us,
    )
    await forwarding.finish(pool, leg, outcome="answered", answer_us=created_us, end_us=created_us + 125 * 1_000_000)
    b = await browser()
    await b.login(console.a.ivr)
    page = await b.get("/console/ivr/forwarding?from=2026-11-01&to=2026-11-30")
    assert page.status == 200 and page.has("09011112222") and page.has("応答") and page.has("30円")
    assert not (await b.get("/console/ivr/forwarding?from=2026-11-11")).has("09011112222")
    bad = await b.get("/console/ivr/forwarding?from=2026-13-01")
    assert bad.status == 422 and bad.has("日付の形式が正しくありません")
    other = await browser()
    await other.login(console.b.ivr)
    assert not (await other.get("/console/ivr/forwarding")).has("09011112222")
