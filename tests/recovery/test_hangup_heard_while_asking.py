"""A hangup that arrives between ``uuid_exists`` → ``true`` and the recovery's look at its queue is kept.

It used to be drained with the hangups of calls already gone and then ignored
(the call was live), so the record stayed ``talking`` for ever: line and
counsellor taken, never charged (issue 16, item 2; ``make chaos`` 1 run in 2).
"""

from __future__ import annotations

import asyncio

import asyncpg

from daemon.inbound.client import InboundClient
from daemon.recovery.reconcile import reconcile
from daemon.rules.billing.charges import MICROS
from tests.db.test_reconcile import T0, open_talk
from tests.factories import prepaid_caller, shop
from tests.ivr.test_forwarding_recovery import open_leg
from tests.recovery.inbound_script import ScriptedInbound, hangup_complete


async def connected(port: int) -> InboundClient:
    client = InboundClient()
    await asyncio.wait_for(client.connect("127.0.0.1", port, "pw"), 5)
    return client


async def test_a_call_hanging_up_right_after_uuid_exists_is_finished_live(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=10_000)
    call = await open_talk(pool, s.tenant_id, caller, "n1", talking=True)
    counsellor_leg = await pool.fetchval("SELECT counsellor_leg FROM call_records WHERE call_uuid = $1", call)
    await pool.execute(
        "INSERT INTO active_calls (call_uuid, tenant_id, node_id, number) VALUES ($1, $2, 'n1', $3)",
        call,
        s.tenant_id,
        s.number,
    )
    # FreeSWITCH's order: the counsellor's leg ends first (at 7.2 s), then the caller's (7.3 s).
    events = hangup_complete(str(counsellor_leg), T0 + 7_200_000) + hangup_complete(str(call), T0 + 7_300_000, T0)
    async with ScriptedInbound({str(call): events}) as fs:
        client = await connected(fs.port)
        try:
            outcome = await asyncio.wait_for(reconcile(pool, "n1", client, wait_live_seconds=2.0), 10)
        finally:
            await client.close()
    record = await pool.fetchrow("SELECT * FROM call_records WHERE call_uuid = $1", call)
    assert record is not None
    assert (record["state"], record["ended_by"]) == ("ended", "reconciled_live")
    assert record["end_us"] == T0 + 7_200_000  # the talk ended with the counsellor's leg
    assert record["billed_seconds"] == 8 and record["charge_yen"] == 80
    assert outcome.finished_live == 1 and outcome.estimated == 0
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0
    assert await pool.fetchval("SELECT count(*) FROM ledger WHERE kind = 'charge'") == 1


async def test_a_forwarded_leg_hanging_up_right_after_uuid_exists_is_finished_live(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    leg = await open_leg(pool, s.tenant_id, "n1", answered=True)
    events = hangup_complete(str(leg), T0 + 61 * MICROS, T0 + MICROS)
    async with ScriptedInbound({str(leg): events}) as fs:
        client = await connected(fs.port)
        try:
            await asyncio.wait_for(reconcile(pool, "n1", client, wait_live_seconds=2.0), 10)
        finally:
            await client.close()
    row = await pool.fetchrow("SELECT * FROM forward_legs WHERE leg_uuid = $1", leg)
    assert row is not None
    assert (row["state"], row["reconciled"], row["end_us"]) == ("ended", "live", T0 + 61 * MICROS)
