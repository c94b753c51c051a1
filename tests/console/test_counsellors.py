"""The counsellors page: list with state, create, edit, duty on/off, delete (not while in a call)."""

from __future__ import annotations

import uuid

import asyncpg

from daemon.repositories import audit, counsellors, hunting
from tests.console.client import Browser
from tests.console.conftest import BrowserFactory, Console


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def _operator(console: Console, browser: BrowserFactory) -> Browser:
    b = await browser()
    await b.login(console.a.operator)
    return b


async def test_an_operator_registers_a_counsellor_and_it_is_audited(console: Console, browser: BrowserFactory) -> None:
    b = await _operator(console, browser)
    form = await b.get("/console/counsellors/new")
    assert form.status == 200 and form.has("相談員の登録")
    page = await b.post(
        "/console/counsellors",
        {"name": "山田花子", "phone_number": "09012345678", "rate_yen_per_min": "１５０", "on_duty": "on"},
    )
    assert page.status == 200 and page.url.endswith("/console/counsellors")
    assert page.has("山田花子") and page.has("空き")
    [row] = await counsellors.list_all(_pool(console), console.a.tenant_id)
    assert (row.name, row.phone_number, row.rate_yen_per_min, row.on_duty) == ("山田花子", "09012345678", 150, True)
    [entry] = await audit.recent(_pool(console), console.a.tenant_id)
    assert entry.action == "counsellor.create" and entry.login == console.a.operator
    assert entry.target == f"counsellor {row.id}" and entry.after["phone_number"] == "09012345678"


async def test_a_bad_phone_number_is_refused_in_japanese_and_nothing_is_saved(
    console: Console, browser: BrowserFactory
) -> None:
    b = await _operator(console, browser)
    page = await b.post(
        "/console/counsellors", {"name": "山田花子", "phone_number": "0990123456", "rate_yen_per_min": "abc"}
    )
    assert page.status == 422
    assert page.has("0990123456は有料情報サービス（ダイヤルQ2）の番号のため発信できません")  # the reason, by the field
    assert page.has("数字で入力してください")
    assert page.has('value="山田花子"')  # nothing the user typed is lost
    missing = await b.post("/console/counsellors", {"name": "", "phone_number": ""})
    assert missing.status == 422 and missing.has("入力してください")
    assert await counsellors.list_all(_pool(console), console.a.tenant_id) == []
    assert await audit.recent(_pool(console), console.a.tenant_id) == []


async def test_a_duplicate_name_is_refused(console: Console, browser: BrowserFactory) -> None:
    await counsellors.create(_pool(console), console.a.tenant_id, name="山田花子", phone_number="09012345678")
    b = await _operator(console, browser)
    page = await b.post("/console/counsellors", {"name": "山田花子", "phone_number": "09011112222"})
    assert page.status == 422 and page.has("同じ名前の相談員がすでにいます")
    assert len(await counsellors.list_all(_pool(console), console.a.tenant_id)) == 1


async def test_editing_keeps_duty_and_is_audited_with_before_and_after(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    cid = await counsellors.create(pool, console.a.tenant_id, name="山田花子", phone_number="09012345678", on_duty=True)
    b = await _operator(console, browser)
    form = await b.get(f"/console/counsellors/{cid}")
    assert form.has('value="09012345678"')
    page = await b.post(
        f"/console/counsellors/{cid}", {"name": "山田はな", "phone_number": "+81312345678", "rate_yen_per_min": ""}
    )
    assert page.url.endswith("/console/counsellors")
    row = await counsellors.get(pool, console.a.tenant_id, cid)
    assert (row.name, row.phone_number, row.rate_yen_per_min, row.on_duty) == ("山田はな", "0312345678", None, True)
    [entry] = await audit.recent(pool, console.a.tenant_id)
    assert entry.action == "counsellor.update"
    assert entry.before["name"] == "山田花子" and entry.after["name"] == "山田はな"


async def test_the_duty_button_switches_and_is_audited(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    cid = await counsellors.create(pool, console.a.tenant_id, name="山田花子", phone_number="09012345678", on_duty=True)
    b = await _operator(console, browser)
    page = await b.post(f"/console/counsellors/{cid}/duty", {"on_duty": "0"})
    assert page.url.endswith("/console/counsellors") and page.has("休止")
    assert not (await counsellors.get(pool, console.a.tenant_id, cid)).on_duty
    [entry] = await audit.recent(pool, console.a.tenant_id)
    assert (entry.action, entry.before, entry.after) == ("counsellor.duty", {"on_duty": True}, {"on_duty": False})
    await b.post(f"/console/counsellors/{cid}/duty", {"on_duty": "1"})
    assert (await counsellors.get(pool, console.a.tenant_id, cid)).on_duty


async def test_a_counsellor_in_a_call_cannot_be_deleted(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    cid = await counsellors.create(pool, console.a.tenant_id, name="山田花子", phone_number="09012345678", on_duty=True)
    call = uuid.uuid4()
    assert await hunting.claim(pool, cid, call)
    b = await _operator(console, browser)
    page = await b.post(f"/console/counsellors/{cid}/delete")
    assert page.status == 409 and page.has("通話中（または呼出中）の相談員は削除できません")
    assert page.has("呼出中")  # claimed, no talking record: being rung
    await counsellors.get(pool, console.a.tenant_id, cid)  # still there
    assert await audit.recent(pool, console.a.tenant_id) == []
    await hunting.release_all_of_call(pool, call)
    page = await b.post(f"/console/counsellors/{cid}/delete")
    assert page.status == 200 and not page.has("山田花子")
    assert await counsellors.list_all(pool, console.a.tenant_id) == []
    [entry] = await audit.recent(pool, console.a.tenant_id)
    assert entry.action == "counsellor.delete" and entry.before["name"] == "山田花子"


async def test_another_tenants_counsellor_is_not_found(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    theirs = await counsellors.create(
        pool, console.b.tenant_id, name="他社の人", phone_number="09012345678", on_duty=True
    )
    b = await _operator(console, browser)
    assert not (await b.get("/console/counsellors")).has("他社の人")
    assert (await b.get(f"/console/counsellors/{theirs}")).status == 404
    assert (await b.post(f"/console/counsellors/{theirs}", {"name": "x", "phone_number": "09011112222"})).status == 404
    assert (await b.post(f"/console/counsellors/{theirs}/duty", {"on_duty": "0"})).status == 404
    assert (await b.post(f"/console/counsellors/{theirs}/delete")).status == 404
    row = await counsellors.get(pool, console.b.tenant_id, theirs)
    assert row.name == "他社の人" and row.on_duty
    assert await audit.recent(pool) == []


async def test_an_ivr_customer_cannot_open_the_counsellors(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.a.ivr)
    page = await b.get("/console/counsellors")
    assert page.status == 403 and page.has("開けません")


async def test_a_counsellor_rung_by_the_admins_dial_string_needs_no_phone_number(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    cid = await counsellors.create(pool, console.a.tenant_id, name="内線", dial_string="sofia/internal/1001@192.0.2.1")
    b = await _operator(console, browser)
    assert (await b.get(f"/console/counsellors/{cid}")).has("管理者が発信先を設定済み")
    page = await b.post(f"/console/counsellors/{cid}", {"name": "内線の人", "phone_number": ""})
    assert page.url.endswith("/console/counsellors")
    row = await counsellors.get(pool, console.a.tenant_id, cid)
    assert (row.name, row.phone_number, row.dial_override) == ("内線の人", None, "sofia/internal/1001@192.0.2.1")
