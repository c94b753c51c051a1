"""Forwarded legs of IVR calls: one ``forward_legs`` row per leg rung, the tariff, the charge.

A row is written (``ringing``) before the leg rings, marked ``talking`` at the
answer (FreeSWITCH's timestamp) and finished with its billed seconds and charge
at the end.  Finishing is idempotent: a row already ``ended`` is left alone, so
the live call, a restart's reconciliation and a retry book one charge at most.
The unit and price are copied onto the row when it is written: a tariff change
applies to the next call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from daemon.db.errors import NotFound
from daemon.db.types import Queryable
from daemon.ivr.tariff import DEFAULT_TARIFF, ForwardTariff, talk_seconds


@dataclass(frozen=True, slots=True)
class Contract:
    forwarding: bool
    tariff: ForwardTariff


@dataclass(frozen=True, slots=True)
class Finished:
    billsec: int
    charge_yen: int
    already: bool


async def contract(pool: Queryable, tenant_id: int) -> Contract:
    row = await pool.fetchrow(
        "SELECT c.forwarding, t.unit_seconds, t.yen_per_unit FROM line_contracts c"
        " LEFT JOIN forwarding_tariffs t ON t.tenant_id = c.tenant_id WHERE c.tenant_id = $1",
        tenant_id,
    )
    if row is None:
        return Contract(False, DEFAULT_TARIFF)
    tariff = DEFAULT_TARIFF if row["unit_seconds"] is None else ForwardTariff(row["unit_seconds"], row["yen_per_unit"])
    return Contract(row["forwarding"], tariff)


async def set_tariff(pool: Queryable, tenant_id: int, tariff: ForwardTariff) -> None:
    """Set the tenant's tariff; :class:`NotFound` if there is no such tenant."""
    try:
        await pool.execute(
            "INSERT INTO forwarding_tariffs (tenant_id, unit_seconds, yen_per_unit) VALUES ($1, $2, $3)"
            " ON CONFLICT (tenant_id) DO UPDATE SET unit_seconds = EXCLUDED.unit_seconds,"
            " yen_per_unit = EXCLUDED.yen_per_unit, updated_at = now()",
            tenant_id,
            tariff.unit_seconds,
            tariff.yen_per_unit,
        )
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(f"no tenant with id {tenant_id}") from None


async def open_legs(
    pool: asyncpg.Pool,
    legs: list[tuple[uuid.UUID, str]],
    *,
    call_uuid: uuid.UUID,
    tenant_id: int,
    node_id: str,
    flow_node: str,
    tariff: ForwardTariff,
    created_us: int,
) -> None:
    """Before ringing: one ``ringing`` row per (leg uuid, number)."""
    await pool.executemany(
        "INSERT INTO forward_legs (leg_uuid, call_uuid, tenant_id, node_id, number, state, created_us,"
        " unit_seconds, yen_per_unit, flow_node) VALUES ($1, $2, $3, $4, $5, 'ringing', $6, $7, $8, $9)",
        [
            (
                leg,
                call_uuid,
                tenant_id,
                node_id,
                number,
                created_us,
                tariff.unit_seconds,
                tariff.yen_per_unit,
                flow_node,
            )
            for leg, number in legs
        ],
    )


async def mark_answered(pool: asyncpg.Pool, leg: uuid.UUID, answer_us: int) -> None:
    await pool.execute(
        "UPDATE forward_legs SET state = 'talking', answer_us = $2 WHERE leg_uuid = $1 AND state = 'ringing'",
        leg,
        answer_us,
    )


async def finish(
    pool: asyncpg.Pool,
    leg: uuid.UUID,
    *,
    outcome: str,
    answer_us: int | None = None,
    end_us: int | None,
    reconciled: str | None = None,
) -> Finished:
    """End one leg's row with its charge (talk from ``answer_us`` — or the one recorded — to ``end_us``)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow("SELECT * FROM forward_legs WHERE leg_uuid = $1 FOR UPDATE", leg)
        if row is None:
            raise LookupError(f"no forwarded leg {leg}")
        if row["state"] == "ended":
            return Finished(row["billsec"] or 0, row["charge_yen"] or 0, True)
        answered = answer_us if answer_us is not None else row["answer_us"]
        billsec = talk_seconds(answered, end_us)
        charge = ForwardTariff(row["unit_seconds"], row["yen_per_unit"]).charge(billsec)
        await conn.execute(
            "UPDATE forward_legs SET state = 'ended', outcome = $2, answer_us = $3, end_us = $4, billsec = $5,"
            " charge_yen = $6, reconciled = $7, ended_at = now() WHERE leg_uuid = $1",
            leg,
            outcome,
            answered,
            end_us,
            billsec,
            charge,
            reconciled,
        )
    return Finished(billsec, charge, False)


async def open_on_node(pool: Queryable, node_id: str) -> list[asyncpg.Record]:
    """Legs this node left unfinished (it crashed)."""
    return list(await pool.fetch("SELECT * FROM forward_legs WHERE node_id = $1 AND state <> 'ended'", node_id))


async def legs_of_call(pool: Queryable, call_uuid: uuid.UUID) -> list[asyncpg.Record]:
    return list(await pool.fetch("SELECT * FROM forward_legs WHERE call_uuid = $1 ORDER BY created_at", call_uuid))


async def listing(
    pool: Queryable, tenant_id: int, *, since_us: int | None, until_us: int | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    """The tenant's forwarded legs, newest first; ``since``/``until`` by when they were rung."""
    return list(
        await pool.fetch(
            "SELECT leg_uuid, call_uuid, number, state, outcome, created_us, answer_us, end_us, billsec,"
            " unit_seconds, yen_per_unit, charge_yen FROM forward_legs WHERE tenant_id = $1"
            " AND ($2::bigint IS NULL OR created_us >= $2) AND ($3::bigint IS NULL OR created_us < $3)"
            " ORDER BY created_us DESC, leg_uuid LIMIT $4 OFFSET $5",
            tenant_id,
            since_us,
            until_us,
            limit,
            offset,
        )
    )
