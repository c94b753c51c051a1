"""Crash reconciliation from evidence in the database (FreeSWITCH's CDRs)."""

from __future__ import annotations

import uuid

import asyncpg

from daemon.recovery.reconcile import adopt_dead_nodes, reconcile
from daemon.repositories import call_records, callers, nodes
from daemon.rules.billing.charges import MICROS, Tariff
from tests.factories import prepaid_caller, shop

T0 = 1_795_582_441_000_000


async def open_talk(pool: asyncpg.Pool, tenant_id: int, caller_id: int, node: str, *, talking: bool) -> uuid.UUID:
    who = await callers.caller(pool, caller_id)
    assert who is not None
    call = uuid.uuid4()
    await call_records.open_record(
        pool,
        call,
        tenant_id=tenant_id,
        node_id=node,
        caller=who,
        caller_number="",
        group_id=None,
        tariff=Tariff(600),
        created_us=T0,
    )
    if talking:
        await call_records.mark_talking(
            pool,
            call,
            counsellor_id=None,
            counsellor_leg=uuid.uuid4(),
            answer_us=T0,
            rate_yen_per_min=600,
            caller_id=caller_id,
        )
    return call


async def test_restart_without_freeswitch_uses_cdr_then_estimate(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=10_000)
    hunting = await open_talk(pool, s.tenant_id, caller, "n1", talking=False)
    with_cdr = await open_talk(pool, s.tenant_id, caller, "n1", talking=True)
    without = await open_talk(pool, s.tenant_id, caller, "n1", talking=True)
    await call_records.set_deadline(pool, without, T0 + 30 * MICROS)
    await pool.execute("INSERT INTO fs_cdr (uuid, end_uepoch) VALUES ($1, $2)", with_cdr, T0 + 12_300_000)

    outcome = await reconcile(pool, "n1", None)
    assert (outcome.closed_unanswered, outcome.finished_from_cdr, outcome.estimated) == (1, 1, 1)
    rows = {r["call_uuid"]: r for r in await pool.fetch("SELECT * FROM call_records")}
    assert rows[hunting]["charge_yen"] == 0
    assert rows[with_cdr]["billed_seconds"] == 13 and rows[with_cdr]["ended_by"] == "reconciled_cdr"
    assert rows[without]["billed_seconds"] == 30 and rows[without]["ended_by"] == "reconciled_estimate"
    again = await reconcile(pool, "n1", None)
    assert (again.closed_unanswered, again.finished_from_cdr, again.estimated) == (0, 0, 0)
    assert await pool.fetchval("SELECT count(*) FROM ledger WHERE kind = 'charge'") == 2


async def test_dead_nodes_are_finished_from_evidence_only(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=10_000)
    await nodes.register(pool, "dead")
    await nodes.register(pool, "alive")
    await pool.execute("UPDATE nodes SET heartbeat_at = now() - interval '5 minutes' WHERE node_id = 'dead'")
    with_cdr = await open_talk(pool, s.tenant_id, caller, "dead", talking=True)
    no_evidence = await open_talk(pool, s.tenant_id, caller, "dead", talking=True)
    alive = await open_talk(pool, s.tenant_id, caller, "alive", talking=True)
    await pool.execute("INSERT INTO fs_cdr (uuid, end_uepoch) VALUES ($1, $2)", with_cdr, T0 + 5 * MICROS)
    outcome = await adopt_dead_nodes(pool, "alive", 30.0)
    assert outcome.finished_from_cdr == 1
    states = {r["call_uuid"]: r["state"] for r in await pool.fetch("SELECT call_uuid, state FROM call_records")}
    assert states == {with_cdr: "ended", no_evidence: "talking", alive: "talking"}
