"""The IVR customer's statistics page and its CSV: Tokyo days, forwards per call, menu choices, refusals."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime

import asyncpg

from daemon.repositories import attempts, ivr_call_log, voicemail
from daemon.repositories.attempts import Attempt
from daemon.repositories.ivr_call_log import IvrCallEnd
from daemon.services.values import TOKYO
from tests.console.conftest import BrowserFactory, Console
from tests.console.money_data import pool_of

PERIOD = "since=2026-12-01&until=2026-12-03"


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TOKYO)


async def ivr_call(
    pool: asyncpg.Pool, tenant: int, when: datetime, *, choices: list[tuple[str, str]], lost: bool = False
) -> uuid.UUID:
    call = uuid.uuid4()
    end = IvrCallEnd(call, tenant, 1, "0312345678", "09011112222", when, "menu" if lost else "bye",
                     "menu" if lost else "hangup", lost, choices)  # fmt: skip
    await ivr_call_log.add(pool, end)
    return call


async def forward(pool: asyncpg.Pool, tenant: int, call: uuid.UUID, when: datetime, outcomes: list[str]) -> None:
    """One forward node's legs for ``call`` (simultaneous ringing: one leg each)."""
    for n, outcome in enumerate(outcomes):
        await pool.execute(
            "INSERT INTO forward_legs (leg_uuid, call_uuid, tenant_id, node_id, number, state, outcome, created_us,"
            " unit_seconds, yen_per_unit, created_at, flow_node)"
            " VALUES ($1, $2, $3, 'n', $4, 'ended', $5, 0, 60, 10, $6, 'fwd')",
            uuid.uuid4(),
            call,
            tenant,
            f"0355550{n:03d}",
            outcome,
            when,
        )


async def seed(console: Console) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    late = await ivr_call(pool, tenant, tokyo(1, 23, 30), choices=[("menu", "1")])  # 14:30 UTC: Tokyo's 1st
    early = await ivr_call(pool, tenant, tokyo(2, 0, 30), choices=[("menu", "2"), ("sub", "1")])  # UTC: the 1st
    await ivr_call(pool, tenant, tokyo(2, 9, 0), choices=[("menu", "1")])
    await ivr_call(pool, tenant, tokyo(2, 9, 10), choices=[], lost=True)
    await ivr_call(pool, tenant, tokyo(4, 9, 0), choices=[("menu", "1")])  # after the period
    await ivr_call(pool, console.b.tenant_id, tokyo(2, 9, 0), choices=[("menu", "9")])  # another tenant's
    await forward(pool, tenant, late, tokyo(1, 23, 31), ["answered", "no_answer"])  # one forward, answered
    await forward(pool, tenant, early, tokyo(2, 0, 31), ["busy"])
    second = uuid.uuid4()
    await forward(pool, tenant, second, tokyo(2, 10, 0), ["no_answer", "no_answer"])
    await voicemail.add(pool, tenant_id=tenant, call_uuid=second, flow_node="vm", caller_number="",
                        dialled="0312345678", path="/tmp/x.wav", duration_ms=3000)  # fmt: skip
    await pool.execute("UPDATE voicemails SET created_at = $1", tokyo(2, 10, 1))
    for reason in ("blocked", "blocked", "lines_full"):
        await attempts.add(pool, Attempt(reason, uuid.uuid4(), "0312345678", "09099990000", tenant_id=tenant))
    await pool.execute("UPDATE call_attempts SET created_at = $1", tokyo(3, 12, 0))


async def test_the_period_counts_in_tokyo_days(console: Console, browser: BrowserFactory) -> None:
    await seed(console)
    b = await browser()
    await b.login(console.a.ivr)
    page = await b.get(f"/console/ivr/statistics?{PERIOD}")
    assert page.status == 200
    totals = {
        key: page.text.split(f'id="total-{key}">', 1)[1].split("<", 1)[0]
        for key in ("calls", "blocked", "refused", "forward_answered", "forward_busy", "forward_no_answer",
                    "voicemails", "hung_up_in_menu")
    }  # fmt: skip
    assert totals == {
        "calls": "4",
        "blocked": "2",
        "refused": "1",
        "forward_answered": "1",
        "forward_busy": "1",
        "forward_no_answer": "1",
        "voicemails": "1",
        "hung_up_in_menu": "1",
    }
    assert page.has('id="chart-daily"') and page.has("/console/static/vendor/chart.umd.js")
    assert page.has('"menu：1": 2') or page.has('"menu\\uff1a1": 2')

    async with b.session.get(f"{b.base}/console/ivr/statistics.csv?{PERIOD}") as response:
        assert response.status == 200 and response.content_type == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        body = (await response.read()).decode("utf-8")
    assert body.startswith("\ufeff日付,着信（応答）,着信拒否,") and body.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert [r["日付"] for r in rows] == ["2026/12/01", "2026/12/02", "2026/12/03", "合計"]
    assert [r["着信（応答）"] for r in rows] == ["1", "3", "0", "4"]
    assert [r["メニューで切断"] for r in rows] == ["0", "1", "0", "1"]
    assert [r["着信拒否"] for r in rows] == ["0", "0", "2", "2"]
    assert [r["転送：応答"] for r in rows] == ["1", "0", "0", "1"]
    async with b.session.get(f"{b.base}/console/ivr/statistics.csv?{PERIOD}&table=choices") as response:
        choices = list(csv.reader(io.StringIO((await response.text()).removeprefix("\ufeff"))))
    assert choices == [["メニュー", "押された番号", "回数"], ["menu", "1", "2"], ["menu", "2", "1"], ["sub", "1", "1"]]
    async with b.session.get(f"{b.base}/console/ivr/statistics.csv?{PERIOD}&table=hourly") as response:
        hourly = list(csv.reader(io.StringIO((await response.text()).removeprefix("\ufeff"))))
    assert len(hourly) == 25 and hourly[10] == ["9時台", "2"] and hourly[24] == ["23時台", "1"]
    async with b.session.get(f"{b.base}/console/ivr/statistics.csv?{PERIOD}&table=nope") as response:
        assert response.status == 422


async def test_a_bad_period_is_refused_in_words(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.a.ivr)
    backwards = await b.get("/console/ivr/statistics?since=2026-12-05&until=2026-12-01")
    assert backwards.status == 422 and backwards.has("開始日が終了日より後になっています")
    bad = await b.get("/console/ivr/statistics?since=きのう")
    assert bad.status == 422 and bad.has("日付の形式が正しくありません")
    long = await b.get("/console/ivr/statistics?since=2024-01-01&until=2026-01-01")
    assert long.status == 422 and long.has("366日以内")
    default = await b.get("/console/ivr/statistics")
    assert default.status == 200 and default.text.count('data-label="日付"') == 30
    operator = await browser()
    await operator.login(console.a.operator)
    assert (await operator.get("/console/ivr/statistics")).status == 403
