"""Call history: filters (Tokyo period, caller, counsellor, group, state), pages, and the CSV download."""

from __future__ import annotations

import csv
import io
import time
import uuid

import pytest

from daemon.console.pages import calls as calls_page
from daemon.repositories import counsellors, groups
from tests import factories
from tests.console.conftest import BrowserFactory, Console
from tests.console.money_data import caller, ended_call, operator, pool_of


async def _calls(console: Console) -> dict[str, uuid.UUID | int]:
    pool, tenant = pool_of(console), console.a.tenant_id
    taro = await caller(console, tenant, "山田太郎", "09011112222", yen=5_000)
    hanako = await caller(console, tenant, "佐藤花子", "08033334444", yen=5_000)
    sensei = await counsellors.create(pool, tenant, name="田中先生", phone_number="09088887777")
    group = await groups.create(pool, tenant, code="1", name="恋愛相談", rate_yen_per_min=300, members=[sensei])
    first = await ended_call(console, tenant, taro, seconds=60, counsellor_id=sensei)
    second = await ended_call(console, tenant, taro, seconds=120)
    node = console.daemon.settings.node_id  # this node's own call: no dead-node sweep ends it
    live = await factories.talking(pool, tenant, hanako, 300, time.time_ns() // 1000, node_id=node)
    await pool.execute("UPDATE call_records SET group_id = $2 WHERE call_uuid = $1", first, group)
    # the second call was on 2026-12-01 at 09:30 Tokyo time
    await pool.execute("UPDATE call_records SET created_at = '2026-12-01 00:30:00+00' WHERE call_uuid = $1", second)
    theirs = await caller(console, console.b.tenant_id, "ベータの人", "09099990000", yen=1_000)
    await ended_call(console, console.b.tenant_id, theirs, seconds=30)
    return {
        "taro": taro,
        "hanako": hanako,
        "sensei": sensei,
        "group": group,
        "first": first,
        "second": second,
        "live": live,
    }


async def test_filters_pick_the_calls(console: Console, browser: BrowserFactory) -> None:
    made = await _calls(console)
    b = await operator(console, browser)
    page = await b.get("/console/calls")
    assert page.status == 200
    assert page.has("山田太郎") and page.has("佐藤花子") and page.has("田中先生") and page.has("恋愛相談")
    assert page.has("300円") and page.has("600円") and page.has("1分0秒") and page.has("通話中")
    assert not page.has("ベータの人")

    def rows(text: str) -> int:
        return text.count('data-label="受付日時"')

    assert rows(page.text) == 3
    assert rows((await b.get(f"/console/calls?caller_id={made['taro']}")).text) == 2
    assert rows((await b.get(f"/console/calls?counsellor_id={made['sensei']}")).text) == 1
    assert rows((await b.get(f"/console/calls?group_id={made['group']}")).text) == 1
    assert rows((await b.get("/console/calls?state=talking")).text) == 1
    tokyo = await b.get("/console/calls?since=2026-12-01T09:00&until=2026-12-01T10:00")
    assert rows(tokyo.text) == 1 and tokyo.has("2026-12-01 09:30:00")
    assert rows((await b.get("/console/calls?since=2026-12-01T09:31&until=2026-12-02")).text) == 0
    bad = await b.get("/console/calls?since=昨日")
    assert bad.status == 422 and bad.has("日時の形式が正しくありません") and bad.has("昨日")


async def test_pages(console: Console, browser: BrowserFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    await _calls(console)
    monkeypatch.setattr(calls_page, "PER_PAGE", 2)
    b = await operator(console, browser)
    first = await b.get("/console/calls")
    assert first.text.count('data-label="受付日時"') == 2 and first.has("page=2") and first.has("次へ")
    second = await b.get("/console/calls?page=2")
    assert second.text.count('data-label="受付日時"') == 1 and second.has("前へ") and not second.has("次へ")


async def test_csv_has_the_filtered_calls(console: Console, browser: BrowserFactory) -> None:
    made = await _calls(console)
    b = await operator(console, browser)
    async with b.session.get(f"{b.base}/console/calls.csv?caller_id={made['taro']}") as response:
        assert response.status == 200 and response.content_type == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        found = list(csv.DictReader(io.StringIO(await response.text())))
    assert {r["call_uuid"] for r in found} == {str(made["first"]), str(made["second"])}
    by_call = {r["call_uuid"]: r for r in found}
    assert by_call[str(made["first"])]["charge_yen"] == "300"
    assert by_call[str(made["second"])]["created_at"] == "2026-12-01T09:30:00+09:00"
    async with b.session.get(f"{b.base}/console/calls.csv") as response:
        everything = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(everything) == 3  # not tenant beta's call
    async with b.session.get(f"{b.base}/console/calls.csv?state=nope") as response:
        assert response.status == 422 and "選択肢から選んでください" in await response.text()
