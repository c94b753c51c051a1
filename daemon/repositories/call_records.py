"""Call records: written before the bridge, finished with the charge in one transaction.

States: ``hunting`` (the record exists, no counsellor has answered),
``talking`` (a counsellor answered at ``answer_us``), ``ended``.  Finishing is
idempotent by call uuid: the ledger holds at most one charge per call, so a
crash between any two steps, and any number of retries, books it exactly once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from daemon.repositories import ledger, money
from daemon.repositories.balance_channel import notify_balance
from daemon.repositories.callers import Caller
from daemon.rules.billing.charges import Tariff, billed_seconds
from daemon.rules.billing.deadline import TalkingCall


@dataclass(frozen=True, slots=True)
class Finished:
    call_uuid: uuid.UUID
    billed_seconds: int
    charge_yen: int
    uncollected_yen: int  # what the talk would have cost beyond the caller's money
    already: bool  # finished before (a retry or a reconciliation after a crash)


async def open_record(
    pool: asyncpg.Pool,
    call_uuid: uuid.UUID,
    *,
    tenant_id: int,
    node_id: str,
    caller: Caller,
    caller_number: str,
    group_id: int | None,
    tariff: Tariff,
    created_us: int,
) -> None:
    await pool.execute(
        "INSERT INTO call_records (call_uuid, tenant_id, node_id, caller_id, caller_number, group_id, billing,"
        " rate_yen_per_min, free_seconds, minimum_charge_yen, state, created_us)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'hunting', $11)",
        call_uuid,
        tenant_id,
        node_id,
        caller.id,
        caller_number,
        group_id,
        caller.billing,
        tariff.rate_yen_per_min,
        tariff.free_seconds,
        tariff.minimum_charge_yen,
        created_us,
    )


async def mark_talking(
    pool: asyncpg.Pool,
    call_uuid: uuid.UUID,
    *,
    counsellor_id: int | None,
    counsellor_leg: uuid.UUID,
    answer_us: int,
    rate_yen_per_min: int,
    caller_id: int,
) -> None:
    """The counsellor answered: billing starts at ``answer_us`` (FreeSWITCH's clock)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE call_records SET state = 'talking', counsellor_id = $2, counsellor_leg = $3,"
            " answer_us = $4, rate_yen_per_min = $5 WHERE call_uuid = $1 AND state = 'hunting'",
            call_uuid,
            counsellor_id,
            counsellor_leg,
            answer_us,
            rate_yen_per_min,
        )
        await notify_balance(conn, caller_id)


async def set_deadline(pool: asyncpg.Pool, call_uuid: uuid.UUID, deadline_us: int | None) -> None:
    """Record the cutoff armed for this call: the charge never bills past it."""
    await pool.execute("UPDATE call_records SET deadline_us = $2 WHERE call_uuid = $1", call_uuid, deadline_us)


async def money_picture(pool: asyncpg.Pool, caller_id: int) -> tuple[Caller, dict[uuid.UUID, TalkingCall]]:
    """Compatibility shape of :func:`daemon.repositories.money.money_picture` (use that, or
    ``money.joint_deadline_of``)."""
    picture = await money.money_picture(pool, caller_id)
    return picture.caller, dict(picture.talking)


async def finish(
    pool: asyncpg.Pool,
    call_uuid: uuid.UUID,
    *,
    end_us: int | None,
    hangup_cause: str,
    ended_by: str,
) -> Finished:
    """End the record and book its charge, in one transaction; idempotent.

    Talk time runs from ``answer_us`` to ``end_us``, clamped at the armed
    deadline (a cutoff that lands a few ms late is not billed).  A prepaid
    charge (or a postpaid one with a credit limit) never exceeds the money the
    caller has: the rest is reported as uncollected, never booked as debt.
    """
    async with pool.acquire() as conn, conn.transaction():
        record = await conn.fetchrow("SELECT * FROM call_records WHERE call_uuid = $1 FOR UPDATE", call_uuid)
        if record is None:
            raise LookupError(f"no call record {call_uuid}")
        if record["state"] == "ended":
            return Finished(call_uuid, record["billed_seconds"] or 0, record["charge_yen"] or 0, 0, True)
        billed = 0
        cost = 0
        charged = 0
        if record["state"] == "talking" and end_us is not None:
            end = end_us if record["deadline_us"] is None else min(end_us, record["deadline_us"])
            billed = billed_seconds(end - record["answer_us"])
            cost = Tariff(record["rate_yen_per_min"], record["free_seconds"], record["minimum_charge_yen"]).charge(
                billed
            )
            if cost > 0:
                charged = await ledger.charge_call(
                    conn,
                    record["tenant_id"],
                    record["caller_id"],
                    cost,
                    call_uuid=call_uuid,
                    memo=f"{billed}秒・{record['rate_yen_per_min']:,}円/分",
                )
        await conn.execute(
            "UPDATE call_records SET state = 'ended', end_us = $2, billed_seconds = $3, charge_yen = $4,"
            " hangup_cause = $5, ended_by = $6, ended_at = now() WHERE call_uuid = $1",
            call_uuid,
            end_us,
            billed,
            charged,
            hangup_cause,
            ended_by,
        )
        # An ended call holds no counsellor: frees a claim whose release failed (the database
        # was away when the talk ended) or a crashed node left, whatever the order of faults.
        await conn.execute(
            "UPDATE counsellors SET current_call = NULL, claimed_at = NULL WHERE current_call = $1", call_uuid
        )
        if record["state"] == "talking" and record["caller_id"] is not None:
            await notify_balance(conn, record["caller_id"])
    return Finished(call_uuid, billed, charged, cost - charged, False)


async def open_on_node(pool: asyncpg.Pool, node_id: str) -> list[asyncpg.Record]:
    """Records this node left unfinished (it crashed): to reconcile with FreeSWITCH."""
    return list(await pool.fetch("SELECT * FROM call_records WHERE node_id = $1 AND state <> 'ended'", node_id))
