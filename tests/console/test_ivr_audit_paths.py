"""The same IVR change through the API (a tenant token) and the console (the IVR customer): audited both ways.

Every row names the actor and the tenant and says before → after, and was
written in the change's own transaction (a refused change leaves none).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from daemon.repositories import audit, guidance, ivr_flows, tokens, voicemail
from tests.audio.media import FORMATS, encode, speech_like
from tests.console.client import Browser
from tests.console.conftest import BrowserFactory, Console
from tests.console.test_ivr_pages import HOURS
from tests.http.test_status_admin import call, url

FLOWS = "/api/v1/operator/ivr/flows"
GUIDANCE = "/api/v1/operator/guidance"
HANGUP = {"entry": {"default": "bye"}, "nodes": {"bye": {"kind": "hangup"}}}
BROKEN = {"entry": {"default": "nowhere"}, "nodes": {"bye": {"kind": "hangup"}}}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def console_pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def _token(pool: asyncpg.Pool, tenant_id: int) -> dict[str, str]:
    _, token = await tokens.create(pool, tenant_id, "desk")
    return {"Authorization": f"Bearer {token}"}


async def _customer(browser: BrowserFactory, login: str) -> Browser:
    b = await browser()
    await b.login(login)
    await b.get("/console/ivr/flows")  # a page, for its CSRF token
    return b


async def _latest(pool: asyncpg.Pool) -> audit.Record:
    return (await audit.recent(pool, limit=1))[0]


def _who(row: audit.Record) -> tuple[str, str, int | None]:
    return row.action, row.actor_kind, row.tenant_id


async def test_flow_save_publish_and_roll_back_are_audited_through_the_api_and_the_console(
    console: Console, browser: BrowserFactory, http: aiohttp.ClientSession
) -> None:
    pool, daemon, tenant = console_pool(console), console.daemon, console.a.tenant_id
    me = await _token(pool, tenant)

    assert (await call(http, daemon, "POST", FLOWS, HANGUP, headers=me))[0] == 201
    row = await _latest(pool)
    assert _who(row) == ("ivr.flow.save", "tenant_token", tenant)
    assert (row.target, row.before, row.after["version"], row.after["live"]) == ("flow version 1", None, 1, False)
    assert row.login == f"tenant-token:{tenant}"

    assert (await call(http, daemon, "POST", f"{FLOWS}/1/publish", headers=me))[0] == 200
    row = await _latest(pool)
    assert (_who(row), row.before, row.after) == (
        ("ivr.flow.publish", "tenant_token", tenant),
        None,
        {"live_version": 1},
    )

    b = await _customer(browser, console.a.ivr)
    page = await b.post("/console/ivr/flows", {"definition": json.dumps(HOURS), "action": "publish"})
    assert page.status == 200
    row = await _latest(pool)
    assert _who(row) == ("ivr.flow.publish", "console", tenant) and row.login == console.a.ivr
    assert (row.before, row.after["version"], row.after["live"]) == ({"live_version": 1}, 2, True)

    await b.post("/console/ivr/flows/1/publish")
    row = await _latest(pool)
    assert (_who(row), row.before, row.after) == (
        ("ivr.flow.rollback", "console", tenant),
        {"live_version": 2},
        {"live_version": 1},
    )
    status, _ = await call(http, daemon, "POST", f"{FLOWS}/2/publish", headers=me)
    assert status == 200
    row = await _latest(pool)
    assert (_who(row), row.before, row.after) == (
        ("ivr.flow.publish", "tenant_token", tenant),
        {"live_version": 1},
        {"live_version": 2},
    )

    # refused: the version is kept (saving is its own change), the publication leaves no row
    rows = len(await audit.recent(pool))
    _, saved = await call(http, daemon, "POST", FLOWS, BROKEN, headers=me)
    assert (await call(http, daemon, "POST", f"{FLOWS}/{saved['version']}/publish", headers=me))[0] == 422
    assert len(await audit.recent(pool)) == rows + 1 and (await _latest(pool)).action == "ivr.flow.save"
    live = await ivr_flows.live(pool, tenant)
    assert live is not None and live.version == 2
    # the console's "save and publish", refused: neither the version nor a row
    page = await b.post("/console/ivr/flows", {"definition": json.dumps(BROKEN), "action": "publish"})
    assert page.status == 422
    assert len(await audit.recent(pool)) == rows + 1
    assert [v.version for v in await ivr_flows.versions(pool, tenant)] == [1, 2, 3]
    # the customer's audit log says it in Japanese, whichever door it came through
    log = await b.get("/console/audit")
    assert log.has("IVRの設定を以前の版に戻しました") and log.has("IVR設定 版 #1")
    assert log.has("IVRの設定を公開しました") and log.has(f"運営者APIトークン（{tenant}）")
    assert log.has("公開中の版")


async def _upload(
    http: aiohttp.ClientSession,
    console: Console,
    headers: dict[str, str],
    wav: tuple[str, bytes],
    method: str,
    path: str,
    **kw: Any,
) -> tuple[int, Any]:
    form = aiohttp.FormData()
    for key, value in kw.items():
        form.add_field(key, value)
    form.add_field("file", wav[1], filename=wav[0], content_type="audio/wav")
    async with http.request(method, url(console.daemon, path), data=form, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_guidance_upload_replace_and_delete_are_audited_through_the_api_and_the_console(
    console: Console, browser: BrowserFactory, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    pool, tenant = console_pool(console), console.a.tenant_id
    me = await _token(pool, tenant)
    made_first = encode(tmp_path / "first.wav", speech_like(1.0, 16000, lead=0.2) * 0.5, 16000, FORMATS["wav16"])
    made_second = encode(tmp_path / "second.wav", speech_like(1.2, 16000, seed=2) * 0.5, 16000, FORMATS["wav16"])
    first, second = ("first.wav", made_first.read_bytes()), ("second.wav", made_second.read_bytes())

    status, made = await _upload(http, console, me, first, "POST", GUIDANCE, name="受付")
    assert status == 201, made
    row = await _latest(pool)
    assert (_who(row), row.target) == (("ivr.guidance.create", "tenant_token", tenant), f"guidance {made['id']}")
    assert row.after == {"name": "受付", "kind": "upload", "original_name": "first.wav", "digest": made["digest"]}

    status, replaced = await _upload(http, console, me, second, "PUT", f"{GUIDANCE}/{made['id']}", name="受付2")
    assert status == 200, replaced
    row = await _latest(pool)
    assert _who(row) == ("ivr.guidance.replace", "tenant_token", tenant)
    assert (row.before["digest"], row.after["digest"]) == (made["digest"], replaced["digest"])
    assert (row.before["name"], row.after["name"]) == ("受付", "受付2")

    # a name taken is refused before the work, and leaves no row
    rows = len(await audit.recent(pool))
    status, _ = await _upload(http, console, me, first, "POST", GUIDANCE, name="受付2")
    assert status == 409 and len(await audit.recent(pool)) == rows

    b = await _customer(browser, console.a.ivr)
    form = aiohttp.FormData()
    form.add_field("name", "休業日")
    form.add_field("file", first[1], filename="first.wav", content_type="audio/wav")
    async with b.session.post(b.base + "/console/ivr/guidance", data=form, headers={"X-CSRF-Token": b.csrf}) as r:
        assert r.status == 200
    row = await _latest(pool)
    [by_console] = [g for g in await guidance.all_of(pool, tenant) if g.name == "休業日"]
    assert (_who(row), row.login, row.target) == (
        ("ivr.guidance.create", "console", tenant),
        console.a.ivr,
        f"guidance {by_console.id}",
    )

    assert (await call(http, console.daemon, "DELETE", f"{GUIDANCE}/{by_console.id}", headers=me))[0] == 204
    row = await _latest(pool)
    assert (_who(row), row.before["name"], row.after) == (
        ("ivr.guidance.delete", "tenant_token", tenant),
        "休業日",
        None,
    )


async def _voicemail(pool: asyncpg.Pool, tenant_id: int, tmp_path: Path, caller: str) -> tuple[int, Path]:
    recording = encode(tmp_path / f"{caller}.wav", speech_like(0.5, 8000), 8000, FORMATS["wav16"])
    vm = await voicemail.add(
        pool,
        tenant_id=tenant_id,
        call_uuid=uuid.uuid4(),
        flow_node="vm",
        caller_number=caller,
        dialled="0312345678",
        path=str(recording),
        duration_ms=500,
    )
    return vm, recording


async def test_a_voicemail_deleted_through_the_api_or_the_console_is_audited(
    console: Console, browser: BrowserFactory, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    pool, tenant = console_pool(console), console.a.tenant_id
    by_api, api_file = await _voicemail(pool, tenant, tmp_path, "09011112222")
    by_console, console_file = await _voicemail(pool, tenant, tmp_path, "09033334444")

    me = await _token(pool, tenant)
    gone = f"/api/v1/operator/ivr/voicemails/{by_api}"
    assert (await call(http, console.daemon, "DELETE", gone, headers=me))[0] == 204
    row = await _latest(pool)
    assert (_who(row), row.target, row.before["caller_number"]) == (
        ("ivr.voicemail.delete", "tenant_token", tenant),
        f"voicemail {by_api}",
        "09011112222",
    )
    assert not api_file.exists()

    b = await _customer(browser, console.a.ivr)
    await b.post(f"/console/ivr/voicemail/{by_console}/delete")
    row = await _latest(pool)
    assert (_who(row), row.login, row.before["caller_number"]) == (
        ("ivr.voicemail.delete", "console", tenant),
        console.a.ivr,
        "09033334444",
    )
    assert not console_file.exists()
    # another tenant's token deletes nothing and leaves no row
    rows = len(await audit.recent(pool))
    other, _ = await _voicemail(pool, tenant, tmp_path, "09055556666")
    theirs = await _token(pool, console.b.tenant_id)
    status, _ = await call(http, console.daemon, "DELETE", f"/api/v1/operator/ivr/voicemails/{other}", headers=theirs)
    assert status == 404 and len(await audit.recent(pool)) == rows
