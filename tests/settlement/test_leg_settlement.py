"""Forwarded legs that end while PostgreSQL is away are booked, answer and all, when it is back: exactly once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import asyncpg
from structlog.testing import capture_logs

from daemon.repositories import forwarding
from daemon.rules.ivr.tariff import ForwardTariff, talk_seconds
from daemon.settlement.journal import CallEnd, Journal, LegEnd
from daemon.settlement.settler import Settler
from emulator import CallerScript, FarEnd
from tests.conftest import DaemonFactory
from tests.ivr.test_forwarding_e2e import SHOP_A, forward_flow
from tests.ivr.test_forwarding_recovery import T0, open_leg
from tests.ivr.world import NUMBER, ivr_shop
from tests.settlement.conftest import until_pending
from tests.settlement.test_settler import charges, outage, talking_call

ANSWER_US = T0 + 1_000_000
END_US = T0 + 13_000_000  # 12 s of talk at 10 yen a second (open_leg's tariff)


async def unmarked_leg(pool: asyncpg.Pool, tmp_path: Path) -> uuid.UUID:
    """A leg rung on n1 whose answer mark never reached its row (the database was already away)."""
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    return await open_leg(pool, shop.tenant_id, "n1", answered=False)


async def test_a_leg_ending_during_an_outage_is_booked_with_its_answer_when_the_database_is_back(
    pg_server: str, db_dsn: str, pool: asyncpg.Pool, own_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    leg = await unmarked_leg(pool, tmp_path / "g")
    path = tmp_path / "settle.jsonl"
    settler = Settler(lambda: own_pool, Journal(path), timeout=2.0)
    async with outage(pg_server, db_dsn):
        assert await settler.finish_leg(leg, outcome="answered", answer_us=ANSWER_US, end_us=END_US) is None
        assert settler.pending == 1
        assert await settler.settle_pending() == 0  # still down: kept
    assert Journal(path).pending == {leg: LegEnd(leg, "answered", ANSWER_US, END_US)}  # durable, as written
    assert await settler.settle_pending() == 1
    assert settler.pending == 0 and await settler.settle_pending() == 0
    row = await pool.fetchrow("SELECT * FROM forward_legs WHERE leg_uuid = $1", leg)
    assert row is not None
    assert (row["state"], row["outcome"], row["answer_us"], row["end_us"], row["billsec"], row["charge_yen"]) == (
        "ended",
        "answered",
        ANSWER_US,
        END_US,
        12,
        120,
    )
    assert Journal(path).pending == {}  # a restart finds nothing left to do


async def test_a_leg_entry_replayed_after_its_booking_books_nothing_twice(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Booked, then the node died before the journal's ``done``: the restarted node replays the entry."""
    leg = await unmarked_leg(pool, tmp_path / "g")
    path = tmp_path / "settle.jsonl"
    end = LegEnd(leg, "answered", ANSWER_US, END_US)
    for _ in range(2):  # once from the live call's journal, once more after the crash
        journal = Journal(path)
        journal.add(end)
        assert await Settler(lambda: pool, journal).settle_pending() == 1
    late = Journal(path)
    late.add(LegEnd(leg, "answered", ANSWER_US, END_US + 60_000_000))  # a later end must not re-bill
    assert await Settler(lambda: pool, late).settle_pending() == 1
    row = await pool.fetchrow("SELECT billsec, charge_yen, end_us FROM forward_legs WHERE leg_uuid = $1", leg)
    assert row is not None and (row["billsec"], row["charge_yen"], row["end_us"]) == (12, 120, END_US)
    assert (await forwarding.finish(pool, leg, outcome="answered", end_us=END_US)).already


async def test_a_journalled_leg_that_was_never_written_is_dropped_and_only_a_lost_answer_is_an_error(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Forwarding closes the legs of a write it gave up on, whether or not the write landed; closed
    during a slow spell, the ends are journalled.  A leg never written (the write rolled back) and never
    answered has no money in it: dropped, said at info.  An answered leg without its row is an error."""
    never_rung, answered = uuid.uuid4(), uuid.uuid4()
    journal = Journal(tmp_path / "settle.jsonl")
    journal.add(LegEnd(never_rung, "failed", None, None))
    journal.add(LegEnd(answered, "answered", ANSWER_US, END_US))
    with capture_logs() as logs:
        assert await Settler(lambda: pool, journal).settle_pending() == 0
    said = {(line["event"], line["log_level"], line["uuid"]) for line in logs}
    assert said == {
        ("settlement_leg_never_written", "info", str(never_rung)),
        ("settlement_record_missing", "error", str(answered)),
    }
    assert Journal(tmp_path / "settle.jsonl").pending == {}  # nothing to book, ever: not retried


async def test_a_journal_written_before_legs_were_journalled_still_replays(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Lines without a ``kind`` are coaching calls' ends, as every journal held before."""
    call, _, end_us = await talking_call(pool, seconds=9)
    settled = uuid.uuid4()
    path = tmp_path / "settle.jsonl"
    old = [
        {"settle": {"call_uuid": str(settled), "end_us": None, "hangup_cause": "NORMAL_CLEARING", "ended_by": "x"}},
        {"settle": {"call_uuid": str(call), "end_us": end_us, "hangup_cause": "NORMAL_CLEARING", "ended_by": "caller"}},
        {"done": str(settled)},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in old))
    journal = Journal(path)
    assert journal.pending == {call: CallEnd(call, end_us, "NORMAL_CLEARING", "caller")}
    assert '"kind": "call"' in path.read_text()  # rewritten in the tagged format...
    assert Journal(path).pending == journal.pending  # ...and read back the same
    assert await Settler(lambda: pool, journal).settle_pending() == 1
    assert await charges(pool, call) == [-90]


async def test_a_forwarded_call_answered_and_ended_during_an_outage_is_charged_once_when_the_database_is_back(
    start_daemon: DaemonFactory, pg_server: str, db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The leg rings; PostgreSQL goes away; the shop answers (the mark fails), talks, hangs up; PostgreSQL is back."""
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    await forwarding.set_tariff(pool, shop.tenant_id, ForwardTariff(1, 10))
    await shop.publish(forward_flow(shop.g, numbers=[SHOP_A]))
    fs = await shop.start(start_daemon)
    call = asyncio.create_task(
        fs.place_call(
            CallerScript(destination=NUMBER, far_ends={SHOP_A: FarEnd("answer", answer_after=1.0, hangup_after=1.5)})
        )
    )
    for _ in range(300):
        if await pool.fetchval("SELECT count(*) FROM forward_legs WHERE state = 'ringing'"):
            break
        await asyncio.sleep(0.02)
    daemon = shop.daemon
    assert daemon is not None
    async with outage(pg_server, db_dsn):
        result = await asyncio.wait_for(call, 30)
        assert result.errors == []
        settler = daemon.settler
        assert settler is not None
        await until_pending(settler, 1, tries=100)
        assert settler.pending == 1  # journalled on this node, not lost
    back = time.time()  # the database is back: any booking time is later than this
    await until_pending(settler, 0)  # the settler's retry loop books it
    (row,) = await pool.fetch("SELECT * FROM forward_legs")
    assert (row["state"], row["outcome"]) == ("ended", "answered")  # not "failed": the answer came with the end
    assert result.end_time is not None
    # FreeSWITCH's end of the leg, not the booking time: it came before the caller's end and before the database
    # was back (a loaded machine may take a while to end the caller after the leg, so no tighter bound is claimed)
    assert result.end_time - 2 < row["end_us"] / 1e6 <= result.end_time + 0.01 < back
    assert 1.4 <= (row["end_us"] - row["answer_us"]) / 1e6 <= 1.8
    assert row["billsec"] == talk_seconds(row["answer_us"], row["end_us"])
    assert row["charge_yen"] == 10 * row["billsec"]
