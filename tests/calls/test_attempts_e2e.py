"""Refused attempts on record, and the caller block list, end to end (emulated FreeSWITCH → daemon → PostgreSQL)."""

from __future__ import annotations

import asyncio

import asyncpg

from daemon.app import Daemon
from daemon.repositories import block_list
from emulator import CallerScript, CallResult
from tests.calls.test_admission_e2e import emulator_for, live_lines, played, refused
from tests.calls.test_coaching_e2e import TARO, fast, world
from tests.conftest import DaemonFactory
from tests.factories import shop


async def reasons(daemon: Daemon, pool: asyncpg.Pool) -> list[tuple[int | None, str, str]]:
    await daemon.services.writer.drained()
    rows = await pool.fetch("SELECT tenant_id, reason, caller_number FROM call_attempts ORDER BY id")
    return [(r["tenant_id"], r["reason"], r["caller_number"]) for r in rows]


def declined(result: CallResult) -> bool:
    """The block list's refusal: early media, then 603 Decline with Q.850 21; never answered."""
    return (
        refused(result, 603)
        and played(result) == ["call_declined"]
        and result.hangup_cause == "CALL_REJECTED"
        and result.sip_reason == 'Q.850;cause=21;text="CALL_REJECTED"'
        and "CHANNEL_ANSWER" not in result.events_sent
    )


async def test_a_blocked_number_is_refused_unanswered_on_both_products(
    start_daemon: DaemonFactory, pool: asyncpg.Pool
) -> None:
    coaching = await shop(pool, lines=1)
    ivr = await shop(pool, lines=1, number="0355556666")
    await pool.execute("UPDATE numbers SET product = 'ivr' WHERE number = $1", ivr.number)
    await block_list.add(pool, coaching.tenant_id, caller="09011112222", number=None, note="いたずら")
    await block_list.add(pool, ivr.tenant_id, caller="09011112222", number=ivr.number, note="")
    daemon = await start_daemon()
    fs = emulator_for(daemon)
    for s in (coaching, ivr):
        result = await fs.place_call(CallerScript(caller="+819011112222", destination=s.number))
        assert result.errors == []
        assert declined(result), (result.sip_responses, played(result), result.hangup_cause)
    assert await live_lines(pool) == 0
    # someone else still gets through (the IVR's stock greeting: nothing published)
    other = await fs.place_call(CallerScript(caller="09033334444", destination=ivr.number))
    assert played(other) == ["greeting"] and other.answered
    assert await reasons(daemon, pool) == [
        (coaching.tenant_id, "blocked", "09011112222"),
        (ivr.tenant_id, "blocked", "09011112222"),
    ]
    assert daemon.metrics.calls_rejected.labels("blocked")._value.get() == 2


async def test_a_blocked_caller_is_refused_even_with_every_line_in_use(
    start_daemon: DaemonFactory, pool: asyncpg.Pool
) -> None:
    s = await shop(pool, lines=0)
    await block_list.add(pool, s.tenant_id, caller="09011112222", number=None, note="")
    daemon = await start_daemon()
    fs = emulator_for(daemon)
    blocked = await fs.place_call(CallerScript(caller="09011112222", destination=s.number))
    busy = await fs.place_call(CallerScript(caller="09055556666", destination=s.number))
    assert declined(blocked)
    assert refused(busy, 486) and played(busy) == ["busy"]
    assert await reasons(daemon, pool) == [
        (s.tenant_id, "blocked", "09011112222"),
        (s.tenant_id, "lines_full", "09055556666"),
    ]


async def test_withheld_numbers_are_blocked_only_when_listed(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    s = await shop(pool, lines=2)
    await pool.execute("UPDATE numbers SET product = 'ivr' WHERE number = $1", s.number)
    daemon = await start_daemon()
    fs = emulator_for(daemon)
    before = await fs.place_call(CallerScript(caller="anonymous", destination=s.number))
    assert played(before) == ["greeting"]
    await block_list.add(pool, s.tenant_id, caller=block_list.ANONYMOUS, number=s.number, note="非通知拒否")
    after = await fs.place_call(CallerScript(caller="anonymous", destination=s.number))
    assert declined(after)
    shown = await fs.place_call(CallerScript(caller="09011112222", destination=s.number))
    assert played(shown) == ["greeting"]
    assert await reasons(daemon, pool) == [(s.tenant_id, "blocked", "")]


async def test_an_unknown_number_is_on_record_without_a_tenant(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    daemon = await start_daemon()
    result = await emulator_for(daemon).place_call(CallerScript(caller=TARO, destination="0399999999"))
    assert refused(result, 404)
    await daemon.services.writer.drained()
    row = await pool.fetchrow("SELECT * FROM call_attempts")
    assert row is not None
    assert (row["tenant_id"], row["reason"], row["dialled"], row["caller_number"]) == (
        None,
        "not_in_service",
        "0399999999",
        TARO,
    )
    assert str(row["call_uuid"]) == result.call_uuid


async def test_the_database_down_refuses_at_once_and_loses_only_the_record(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, db_dsn: str
) -> None:
    daemon = await start_daemon()
    broken = await asyncpg.create_pool(db_dsn, min_size=1, max_size=1)
    assert broken is not None
    await broken.close()
    kept, daemon.services.pool = daemon.services.pool, broken
    try:
        result = await asyncio.wait_for(emulator_for(daemon).place_call(CallerScript()), 10)
        await daemon.services.writer.drained()
    finally:
        daemon.services.pool = kept
    assert refused(result, 503) and played(result) == ["unavailable"]
    assert await pool.fetchval("SELECT count(*) FROM call_attempts") == 0


async def test_coaching_refusals_are_on_record_with_their_reason(
    start_daemon: DaemonFactory, pool: asyncpg.Pool
) -> None:
    w = await world(start_daemon, pool, yen=5)  # 600 yen/min: 5 yen does not buy the first second
    unknown = await w.fs.place_call(CallerScript(caller="09099999999", destination=w.number, digits=[fast("#")] * 2))
    wrong = await w.fs.place_call(CallerScript(caller="anonymous", destination=w.number, digits=[fast("1111#")] * 2))
    no_group = await w.fs.place_call(CallerScript(caller=TARO, destination=w.number, digits=[fast("99#")] * 2))
    poor = await w.fs.place_call(CallerScript(caller=TARO, destination=w.number, digits=[fast("12#")]))
    await pool.execute("UPDATE callers SET billing = 'postpaid' WHERE id = $1", w.caller_id)
    await pool.execute("UPDATE counsellors SET on_duty = false")
    busy = await w.fs.place_call(CallerScript(caller=TARO, destination=w.number, digits=[fast("12#")]))
    assert [played(r)[-1] for r in (unknown, wrong, no_group, poor, busy)] == [
        "not_registered",
        "not_registered",
        "goodbye",
        "insufficient_balance",
        "all_counsellors_busy",
    ]
    assert await reasons(w.daemon, pool) == [
        (w.tenant_id, "unknown_caller", "09099999999"),
        (w.tenant_id, "wrong_pin", ""),
        (w.tenant_id, "no_group", TARO),
        (w.tenant_id, "no_money", TARO),
        (w.tenant_id, "all_busy", TARO),
    ]
    group = await pool.fetchval("SELECT id FROM counsellor_groups WHERE tenant_id = $1", w.tenant_id)
    rows = await pool.fetch("SELECT caller_id, group_id FROM call_attempts ORDER BY id")
    assert [(r["caller_id"], r["group_id"]) for r in rows] == [
        (None, None),
        (None, None),
        (w.caller_id, None),
        (w.caller_id, group),
        (w.caller_id, group),
    ]
    assert await pool.fetchval("SELECT count(*) FROM call_records") == 0


async def test_a_hanging_write_never_holds_up_the_refusal(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    """The attempts table locked by another transaction: the caller is refused while the row still waits."""
    s = await shop(pool, lines=0)
    daemon = await start_daemon(db_timeout_seconds=30.0)
    async with pool.acquire() as locker, locker.transaction():
        await locker.execute("LOCK TABLE call_attempts IN ACCESS EXCLUSIVE MODE")
        result = await asyncio.wait_for(emulator_for(daemon).place_call(CallerScript(destination=s.number)), 10)
        assert refused(result, 486) and played(result) == ["busy"]
        assert daemon.services.writer.pending == 1  # the refusal is over; its row is still waiting for the lock
    assert await reasons(daemon, pool) == [(s.tenant_id, "lines_full", "09012345678")]


LOCK_WAITERS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND application_name = 'calld' AND wait_event_type = 'Lock'"
)


async def test_a_flood_of_refusals_takes_one_connection_and_admission_goes_on(
    start_daemon: DaemonFactory, pool: asyncpg.Pool
) -> None:
    """The rows of 20 refusals wait behind a lock on one pool connection of 4: every call is still admitted
    (busy, 486) rather than starved of a connection (unavailable, 503)."""
    s = await shop(pool, lines=0)
    daemon = await start_daemon(db_pool_size=4, db_timeout_seconds=5.0)
    fs = emulator_for(daemon)
    async with pool.acquire() as locker, locker.transaction():
        await locker.execute("LOCK TABLE call_attempts IN ACCESS EXCLUSIVE MODE")
        calls = [CallerScript(caller=f"090{i:08d}", destination=s.number) for i in range(20)]
        results = await asyncio.wait_for(asyncio.gather(*(fs.place_call(c) for c in calls)), 30)
        assert [r.sip_responses[-1] for r in results] == [486] * 20
        assert daemon.services.writer.pending == 20
        assert await pool.fetchval(LOCK_WAITERS) == 1  # the writer's one statement, waiting for the lock
    await daemon.services.writer.drained()
    assert await pool.fetchval("SELECT count(*) FROM call_attempts WHERE reason = 'lines_full'") == 20
    assert daemon.metrics.background_rows_written.labels("attempt")._value.get() == 20
