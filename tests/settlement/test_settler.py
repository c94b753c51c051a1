"""Charges of calls that end while PostgreSQL is away are booked when it is back, exactly once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from daemon.repositories import call_records
from daemon.rules.billing.charges import Tariff
from daemon.settlement.journal import CallEnd, Journal
from daemon.settlement.settler import Settler
from emulator import CallerScript
from tests.calls.test_coaching_e2e import TARO, answers, fast, world
from tests.conftest import DaemonFactory
from tests.factories import prepaid_caller, shop, talking
from tests.settlement.conftest import until_pending

RATE = 600  # 10 yen a second


@asynccontextmanager
async def outage(pg_server: str, db_dsn: str) -> AsyncIterator[None]:
    """The database refuses connections and drops the ones it had, until the block ends."""
    name = urlsplit(db_dsn).path.lstrip("/")
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


async def talking_call(pool: asyncpg.Pool, seconds: int) -> tuple[uuid.UUID, int, int]:
    """A prepaid call whose counsellor answered ``seconds`` ago; (call, caller, end_us)."""
    s = await shop(pool, lines=2)
    caller_id = await prepaid_caller(pool, s.tenant_id, yen=10_000)
    end_us = time.time_ns() // 1000
    call = await talking(pool, s.tenant_id, caller_id, RATE, end_us - seconds * 1_000_000, node_id="n1")
    return call, caller_id, end_us


async def charges(pool: asyncpg.Pool, call: uuid.UUID) -> list[int]:
    return [r["amount_yen"] for r in await pool.fetch("SELECT amount_yen FROM ledger WHERE call_uuid = $1", call)]


async def test_a_call_ending_during_an_outage_is_booked_when_the_database_is_back(
    pg_server: str, db_dsn: str, pool: asyncpg.Pool, own_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    call, caller_id, end_us = await talking_call(pool, seconds=30)
    settler = Settler(lambda: own_pool, Journal(tmp_path / "settle.jsonl"), timeout=2.0)
    async with outage(pg_server, db_dsn):
        assert await settler.finish(call, end_us=end_us, hangup_cause="NORMAL_CLEARING", ended_by="caller") is None
        assert settler.pending == 1
        assert await settler.settle_pending() == 0  # still down: kept
    assert str(call) in (tmp_path / "settle.jsonl").read_text()
    assert await settler.settle_pending() == 1
    assert settler.pending == 0 and await settler.settle_pending() == 0
    record = await pool.fetchrow("SELECT * FROM call_records WHERE call_uuid = $1", call)
    assert record is not None
    assert (record["state"], record["end_us"], record["billed_seconds"], record["ended_by"]) == (
        "ended",
        end_us,
        30,
        "caller",
    )
    assert await charges(pool, call) == [-300]
    assert await pool.fetchval("SELECT balance_yen FROM callers WHERE id = $1", caller_id) == 10_000 - 300
    assert Journal(tmp_path / "settle.jsonl").pending == {}  # a restart finds nothing left to do


async def test_the_journal_survives_a_restart_of_the_daemon(
    pg_server: str, db_dsn: str, pool: asyncpg.Pool, own_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    path = tmp_path / "settle.jsonl"
    call, _, end_us = await talking_call(pool, seconds=12)
    async with outage(pg_server, db_dsn):
        dying = Settler(lambda: own_pool, Journal(path), timeout=2.0)
        assert await dying.finish(call, end_us=end_us, hangup_cause="ALLOTTED_TIMEOUT", ended_by="cutoff") is None
    # the process died here; the next one opens the journal before anything else
    reborn = Settler(lambda: own_pool, Journal(path))
    assert reborn.journal.pending == {call: CallEnd(call, end_us, "ALLOTTED_TIMEOUT", "cutoff")}
    assert await reborn.settle_pending() == 1
    assert await charges(pool, call) == [-120]
    assert await pool.fetchval("SELECT billed_seconds FROM call_records WHERE call_uuid = $1", call) == 12


async def test_a_consultation_that_ends_during_an_outage_is_charged_once_when_the_database_is_back(
    start_daemon: DaemonFactory, pg_server: str, db_dsn: str, pool: asyncpg.Pool
) -> None:
    """Caller and counsellor talk; PostgreSQL goes away; the caller hangs up; PostgreSQL comes back."""
    w = await world(start_daemon, pool)
    call = asyncio.create_task(
        w.fs.place_call(
            CallerScript(
                caller=TARO,
                destination=w.number,
                digits=[fast("12#")],
                far_ends={"08011110001": answers()},
                hangup_after_bridge=2.0,
            )
        )
    )
    for _ in range(300):
        if await pool.fetchval("SELECT count(*) FROM call_records WHERE state = 'talking'"):
            break
        await asyncio.sleep(0.02)
    async with outage(pg_server, db_dsn):
        result = await asyncio.wait_for(call, 30)
        assert result.hangup_by == "caller" and result.errors == []
        settler = w.daemon.settler
        assert settler is not None
        await until_pending(settler, 1, tries=100)
        assert settler.pending == 1  # journalled on this node, not lost
    await until_pending(settler, 0)  # the settler's retry loop books it
    record = await pool.fetchrow("SELECT * FROM call_records")
    assert record is not None and record["state"] == "ended" and record["ended_by"] == "caller"
    assert result.end_time is not None
    assert abs(record["end_us"] / 1e6 - result.end_time) < 0.1  # FreeSWITCH's end, not the booking time
    charges = await pool.fetch("SELECT amount_yen FROM ledger WHERE kind = 'charge'")
    assert [c["amount_yen"] for c in charges] == [-Tariff(RATE).charge(record["billed_seconds"])]
    assert record["billed_seconds"] in (2, 3)
    # the counsellor's release failed during the outage; finishing the call freed the claim
    assert await pool.fetchval("SELECT count(*) FROM counsellors WHERE current_call IS NOT NULL") == 0


async def test_a_retry_after_a_lost_answer_books_nothing_twice(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """The database committed the charge but the answer never came back: the journal still holds it."""
    call, _, end_us = await talking_call(pool, seconds=7)
    await call_records.finish(pool, call, end_us=end_us, hangup_cause="NORMAL_CLEARING", ended_by="caller")
    journal = Journal(tmp_path / "settle.jsonl")
    journal.add(CallEnd(call, end_us + 60_000_000, "NORMAL_CLEARING", "caller"))  # a later end must not re-bill
    assert await Settler(lambda: pool, journal).settle_pending() == 1
    assert await charges(pool, call) == [-70]


def test_a_torn_last_line_is_skipped_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "settle.jsonl"
    kept = CallEnd(uuid.uuid4(), 1_700_000_000_000_000, "NORMAL_CLEARING", "caller")
    gone = CallEnd(uuid.uuid4(), None, "NORMAL_CLEARING", "no_answer")
    journal = Journal(path)
    journal.add(kept)
    journal.add(gone)
    journal.done(gone.call_uuid)
    with path.open("a") as out:
        out.write('{"settle": {"call_uuid": "')  # the crash came mid-write
    again = Journal(path)
    assert again.pending == {kept.call_uuid: kept}
    assert path.read_text().count("\n") == 1  # compacted to what is still pending
    assert oct(path.stat().st_mode & 0o777) == "0o600"
