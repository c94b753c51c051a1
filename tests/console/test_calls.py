"""Call history: filters (Tokyo period, caller, counsellor, group, state), pages, and the CSV download."""

from __future__ import annotations

import csv
import io
import time
import uuid

import pytest

from daemon.console.pages import calls as calls_page
from daemon.repositories import attempts, counsellors, groups
from daemon.repositories.attempts import Attempt
from tests import factories
from tests.console.client import Browser
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


async def csv_rows(b: Browser, query: str = "") -> tuple[str, list[dict[str, str]]]:
    async with b.session.get(f"{b.base}/console/calls.csv{query}") as response:
        assert response.status == 200 and response.content_type == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        body = (await response.read()).decode("utf-8")
    return body, list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


async def test_csv_has_the_filtered_calls_for_excel(console: Console, browser: BrowserFactory) -> None:
    made = await _calls(console)
    b = await operator(console, browser)
    body, found = await csv_rows(b, f"?caller_id={made['taro']}")
    assert body.startswith("\ufeff受付日時,区分,拒否の理由,利用者,発信番号,相談員,グループ,状態,") and "\r\n" in body
    assert {r["通話ID"] for r in found} == {str(made["first"]), str(made["second"])}
    by_call = {r["通話ID"]: r for r in found}
    first, second = by_call[str(made["first"])], by_call[str(made["second"])]
    assert (first["利用者"], first["相談員"], first["グループ"], first["状態"]) == (
        "山田太郎",
        "田中先生",
        "恋愛相談",
        "終了",
    )
    assert first["料金（円）"] == "300" and first["通話秒数"] == "60" and first["区分"] == "通話"
    assert second["受付日時"] == "2026/12/01 09:30:00"  # Japan time
    _, everything = await csv_rows(b)
    assert len(everything) == 3  # not tenant beta's call
    async with b.session.get(f"{b.base}/console/calls.csv?state=nope") as response:
        assert response.status == 422 and "選択肢から選んでください" in await response.text()


async def _refused(console: Console, made: dict[str, uuid.UUID | int]) -> None:
    pool, tenant, taro = pool_of(console), console.a.tenant_id, made["taro"]
    assert isinstance(taro, int)
    for reason, number, caller_id in [
        ("no_money", "09011112222", taro),
        ("blocked", "09055556666", None),
        ("unknown_caller", "", None),
    ]:
        await attempts.add(
            pool,
            Attempt(
                reason, uuid.uuid4(), "0312345678", number, tenant_id=tenant, product="coaching", caller_id=caller_id
            ),
        )
    await attempts.add(
        pool, Attempt("blocked", uuid.uuid4(), "0399990000", "09055556666", tenant_id=console.b.tenant_id)
    )
    await pool.execute(
        "UPDATE call_attempts SET created_at = '2026-12-01 01:00:00+00' WHERE reason = 'unknown_caller'"
    )  # 10:00 Tokyo time


async def test_refused_attempts_are_in_the_history_with_their_reason(console: Console, browser: BrowserFactory) -> None:
    made = await _calls(console)
    await _refused(console, made)
    b = await operator(console, browser)
    page = await b.get("/console/calls")
    assert page.text.count('data-label="受付日時"') == 6  # 3 calls, 3 refused (not beta's)
    assert page.has("残高不足") and page.has("着信拒否") and page.has("未登録の発信者") and page.has("拒否")
    assert page.has('name="since" type="date"') and page.has('name="until" type="date"')

    def rows(text: str) -> int:
        return text.count('data-label="受付日時"')

    money = await b.get("/console/calls?reason=no_money")
    assert rows(money.text) == 1 and money.has("山田太郎") and money.has("残高不足")
    assert rows((await b.get("/console/calls?state=refused")).text) == 3
    assert rows((await b.get("/console/calls?state=ended")).text) == 2
    assert rows((await b.get(f"/console/calls?caller_id={made['taro']}")).text) == 3  # 2 calls, 1 refused
    assert rows((await b.get(f"/console/calls?counsellor_id={made['sensei']}")).text) == 1  # calls only
    one_day = await b.get("/console/calls?since=2026-12-01&until=2026-12-01")  # the end day included
    assert rows(one_day.text) == 2 and one_day.has("未登録の発信者") and one_day.has("2026-12-01 09:30:00")
    assert rows((await b.get("/console/calls?since=2026-12-02&until=2026-12-02")).text) == 0
    bad = await b.get("/console/calls?reason=nope")
    assert bad.status == 422 and bad.has("選択肢から選んでください")
    _, found = await csv_rows(b, "?state=refused")
    assert sorted(r["拒否の理由"] for r in found) == ["未登録の発信者", "残高不足", "着信拒否"]
    by_reason = {r["拒否の理由"]: r for r in found}
    assert by_reason["残高不足"]["利用者"] == "山田太郎" and by_reason["残高不足"]["区分"] == "拒否"
    assert by_reason["未登録の発信者"]["発信番号"] == "非通知"
    assert by_reason["未登録の発信者"]["受付日時"] == "2026/12/01 10:00:00"
