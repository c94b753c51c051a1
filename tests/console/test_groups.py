"""The groups page: list, create and edit (code, name, rate, members in hunting order), delete."""

from __future__ import annotations

import asyncpg

from daemon.repositories import audit, counsellors, groups
from tests.console.client import Browser
from tests.console.conftest import BrowserFactory, Console


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def _operator(console: Console, browser: BrowserFactory) -> Browser:
    b = await browser()
    await b.login(console.a.operator)
    return b


async def _people(console: Console, tenant_id: int, *names: str) -> list[int]:
    return [
        await counsellors.create(_pool(console), tenant_id, name=name, phone_number=f"0901234567{i}")
        for i, name in enumerate(names)
    ]


async def test_an_operator_creates_a_group_with_members_in_order(console: Console, browser: BrowserFactory) -> None:
    hana, taro, jiro = await _people(console, console.a.tenant_id, "花子", "太郎", "次郎")
    b = await _operator(console, browser)
    form = await b.get("/console/groups/new")
    assert form.status == 200 and form.has("花子") and form.has('value="20"')  # the API's defaults
    page = await b.post(
        "/console/groups",
        {
            "code": "12",
            "name": "タロット",
            "rate_yen_per_min": "1,200円",
            "strategy": "sequential",
            "ring_timeout_s": "20",
            f"member-{hana}": "2",
            f"member-{taro}": "",
            f"member-{jiro}": "1",
        },
    )
    assert page.url.endswith("/console/groups") and page.has("タロット") and page.has("1,200円")
    assert page.has("1. 次郎、2. 花子")
    [group] = await groups.list_all(_pool(console), console.a.tenant_id)
    assert (group.code, group.rate_yen_per_min, group.strategy, group.members) == (
        "12",
        1200,
        "sequential",
        (jiro, hana),
    )
    [entry] = await audit.recent(_pool(console), console.a.tenant_id)
    assert entry.action == "group.create" and entry.after["members"] == [jiro, hana]


async def test_bad_values_are_refused_in_japanese_and_nothing_is_saved(
    console: Console, browser: BrowserFactory
) -> None:
    [hana] = await _people(console, console.a.tenant_id, "花子")
    b = await _operator(console, browser)
    page = await b.post(
        "/console/groups",
        {"code": "12a", "name": "タロット", "rate_yen_per_min": "", "ring_timeout_s": "500", f"member-{hana}": "x"},
    )
    assert page.status == 422
    assert page.has("形式が正しくありません")  # code
    assert page.has("入力してください")  # rate
    assert page.has("120以下で入力してください")  # ring time-out
    assert page.has("数字で入力してください")  # member place
    assert page.has('value="タロット"') and page.has('value="12a"')
    assert await groups.list_all(_pool(console), console.a.tenant_id) == []
    assert await audit.recent(_pool(console), console.a.tenant_id) == []


async def test_a_code_in_use_is_refused(console: Console, browser: BrowserFactory) -> None:
    await groups.create(_pool(console), console.a.tenant_id, code="12", name="既存", rate_yen_per_min=100, members=[])
    b = await _operator(console, browser)
    page = await b.post("/console/groups", {"code": "12", "name": "新規", "rate_yen_per_min": "100"})
    assert page.status == 422 and page.has("このコードはほかのグループで使われています")
    assert len(await groups.list_all(_pool(console), console.a.tenant_id)) == 1


async def test_editing_replaces_settings_and_members_and_is_audited(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    hana, taro = await _people(console, console.a.tenant_id, "花子", "太郎")
    gid = await groups.create(
        pool, console.a.tenant_id, code="12", name="タロット", rate_yen_per_min=100, members=[hana]
    )
    b = await _operator(console, browser)
    form = await b.get(f"/console/groups/{gid}")
    assert form.has('value="タロット"') and form.has(f'name="member-{hana}" type="text" value="1"')
    values = {
        "code": "13",
        "name": "占い",
        "rate_yen_per_min": "300",
        "strategy": "ring_all",
        "wrapup_seconds": "30",
        f"member-{taro}": "1",
        f"member-{hana}": "2",
    }
    page = await b.post(f"/console/groups/{gid}", values)
    assert page.url.endswith("/console/groups")
    row = await groups.get(pool, console.a.tenant_id, gid)
    assert (row.code, row.name, row.rate_yen_per_min, row.strategy, row.wrapup_seconds, row.members) == (
        "13",
        "占い",
        300,
        "ring_all",
        30,
        (taro, hana),
    )
    [entry] = await audit.recent(pool, console.a.tenant_id)
    assert entry.action == "group.update"
    assert entry.before["members"] == [hana] and entry.after["members"] == [taro, hana]


async def test_deleting_a_group(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    gid = await groups.create(pool, console.a.tenant_id, code="12", name="タロット", rate_yen_per_min=100, members=[])
    b = await _operator(console, browser)
    page = await b.post(f"/console/groups/{gid}/delete")
    assert page.url.endswith("/console/groups") and not page.has("タロット")
    assert await groups.list_all(pool, console.a.tenant_id) == []
    [entry] = await audit.recent(pool, console.a.tenant_id)
    assert entry.action == "group.delete" and entry.before["code"] == "12"


async def test_another_tenants_group_is_not_found_and_their_counsellors_cannot_be_members(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    [stranger] = await _people(console, console.b.tenant_id, "他社の人")
    theirs = await groups.create(pool, console.b.tenant_id, code="12", name="他社", rate_yen_per_min=100, members=[])
    b = await _operator(console, browser)
    assert not (await b.get("/console/groups")).has("他社")
    assert (await b.get(f"/console/groups/{theirs}")).status == 404
    assert (
        await b.post(f"/console/groups/{theirs}", {"code": "1", "name": "x", "rate_yen_per_min": "1"})
    ).status == 404
    assert (await b.post(f"/console/groups/{theirs}/delete")).status == 404
    assert (await groups.get(pool, console.b.tenant_id, theirs)).name == "他社"
    assert not (await b.get("/console/groups/new")).has("他社の人")
    # a forged member field naming another tenant's counsellor is ignored
    await b.post("/console/groups", {"code": "12", "name": "自社", "rate_yen_per_min": "1", f"member-{stranger}": "1"})
    [ours] = await groups.list_all(pool, console.a.tenant_id)
    assert ours.members == ()
    assert [e.action for e in await audit.recent(pool)] == ["group.create"]
