"""Forwarded legs of IVR calls: one ``forward_legs`` row per leg rung, the tariff, the charge.

A row is written (``ringing``) before the leg rings, marked ``talking`` at the
answer (FreeSWITCH's timestamp) and finished with its billed seconds and charge
at the end.  Finishing is idempotent: a row already ``ended`` is left alone, so
the live call, a restart's reconciliation and a retry book one charge at most.
The unit and price are copied onto the row when it is written: a tariff change
applies to the next call.

The fraud guard (:func:`open_legs` with ``day_start_us``): the tenant's legs ringing or
talking and its forwarded talk this Asia/Tokyo day are counted and the new rows
written in one statement under a per-tenant advisory lock
(sql/030_open_forward_legs.sql), so two calls on two nodes cannot both take the
last leg.  A forward past the guard (or refused
by the destination policy at call time) leaves a ``forward_refusals`` row for
the console.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.postgres.errors import NotFound
from daemon.postgres.types import Queryable
from daemon.rules.ivr.hours import TOKYO
from daemon.rules.ivr.tariff import DEFAULT_TARIFF, ForwardTariff, talk_seconds

CONCURRENT_LEGS = "concurrent_legs"
DAILY_MINUTES = "daily_minutes"


@dataclass(frozen=True, slots=True)
class Guard:
    """The tenant's forwarding limits (``line_contracts``; the platform admin sets them)."""

    max_legs: int  # legs ringing or talking at once
    max_minutes: int  # forwarded talk per Asia/Tokyo day


DEFAULT_GUARD = Guard(10, 600)  # the columns' defaults (sql/013_destinations.sql)


@dataclass(frozen=True, slots=True)
class Contract:
    forwarding: bool
    tariff: ForwardTariff
    international: bool = False
    guard: Guard = DEFAULT_GUARD


@dataclass(frozen=True, slots=True)
class Usage:
    open_legs: int
    talk_seconds_today: int  # answered since the day began; talks still going count up to now


@dataclass(frozen=True, slots=True)
class Refused:
    at: datetime
    flow_node: str
    reason: str
    number: str


@dataclass(frozen=True, slots=True)
class Safety:
    """What the admin and the tenant see of the guard: the limits, today's use, today's refusals by reason."""

    international: bool
    guard: Guard
    used: Usage
    refused_today: dict[str, int]


def day_start_us(now_us: int) -> int:
    """Midnight (Asia/Tokyo) of the day ``now_us`` falls in, in µs: the guard's minutes are per day."""
    now = dt.datetime.fromtimestamp(now_us / 1e6, TOKYO)
    return int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()) * 1_000_000


@dataclass(frozen=True, slots=True)
class Finished:
    billsec: int
    charge_yen: int
    already: bool


async def contract(pool: Queryable, tenant_id: int) -> Contract:
    row = await pool.fetchrow(
        "SELECT c.forwarding, c.international, c.forward_max_legs, c.forward_max_minutes, t.unit_seconds,"
        " t.yen_per_unit FROM line_contracts c"
        " LEFT JOIN forwarding_tariffs t ON t.tenant_id = c.tenant_id WHERE c.tenant_id = $1",
        tenant_id,
    )
    if row is None:
        return Contract(False, DEFAULT_TARIFF)
    tariff = DEFAULT_TARIFF if row["unit_seconds"] is None else ForwardTariff(row["unit_seconds"], row["yen_per_unit"])
    guard = Guard(row["forward_max_legs"], row["forward_max_minutes"])
    return Contract(row["forwarding"], tariff, row["international"], guard)


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
    day_start_us: int | None = None,
) -> str | None:
    """Before ringing: one ``ringing`` row per (leg uuid, number); None.

    With ``day_start_us`` (the forward node always passes it) the tenant's fraud
    guard is checked first, in the same statement under a per-tenant advisory
    lock (``open_forward_legs``, sql/030_open_forward_legs.sql: the lock is held
    inside the server, not across round trips): past it no leg row is written, a
    refusal row is, and the limit broken (:data:`CONCURRENT_LEGS`,
    :data:`DAILY_MINUTES`) is returned.
    """
    broken: str | None = await pool.fetchval(
        "SELECT open_forward_legs($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        tenant_id,
        call_uuid,
        node_id,
        flow_node,
        [leg for leg, _ in legs],
        [number for _, number in legs],
        created_us,
        tariff.unit_seconds,
        tariff.yen_per_unit,
        day_start_us,
    )
    return broken


async def usage(db: Queryable, tenant_id: int, *, day_start_us: int, now_us: int) -> Usage:
    """Open legs, and seconds talked on legs answered since ``day_start_us`` (open ones up to ``now_us``)."""
    row = await db.fetchrow("SELECT * FROM forward_usage($1, $2, $3)", tenant_id, day_start_us, now_us)
    assert row is not None
    return Usage(row["open_legs"], int(row["talk_seconds"]))


async def refuse(
    db: Queryable, tenant_id: int, call_uuid: uuid.UUID, flow_node: str, reason: str, number: str = ""
) -> None:
    """Remember a forward not dialled (the console lists them)."""
    await db.execute(
        "INSERT INTO forward_refusals (tenant_id, call_uuid, flow_node, reason, number) VALUES ($1, $2, $3, $4, $5)",
        tenant_id,
        call_uuid,
        flow_node,
        reason,
        number,
    )


async def refusals(db: Queryable, tenant_id: int, *, limit: int = 50) -> list[Refused]:
    """The tenant's latest forwards not dialled, newest first."""
    rows = await db.fetch(
        "SELECT at, flow_node, reason, number FROM forward_refusals WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
        tenant_id,
        limit,
    )
    return [Refused(r["at"], r["flow_node"], r["reason"], r["number"]) for r in rows]


async def safety(db: Queryable, tenant_id: int, now_us: int) -> Safety:
    """The tenant's call safety now (:class:`NotFound` if there is no such tenant)."""
    if await db.fetchval("SELECT 1 FROM line_contracts WHERE tenant_id = $1", tenant_id) is None:
        raise NotFound(f"no tenant with id {tenant_id}")
    found = await contract(db, tenant_id)
    start = day_start_us(now_us)
    used = await usage(db, tenant_id, day_start_us=start, now_us=now_us)
    rows = await db.fetch(
        "SELECT reason, count(*) AS n FROM forward_refusals WHERE tenant_id = $1 AND at >= to_timestamp($2 / 1e6)"
        " GROUP BY reason ORDER BY reason",
        tenant_id,
        start,
    )
    return Safety(found.international, found.guard, used, {r["reason"]: r["n"] for r in rows})


async def live_flows(db: Queryable, tenant_id: int | None = None) -> list[asyncpg.Record]:
    """Each tenant's live flow (``tenant_id``, ``version``, ``definition`` as text) and whether it may call abroad.

    For checking published forward numbers against the destination policy
    (:mod:`daemon.ivr.published`); only flows with a ``forward`` node.
    """
    return list(
        await db.fetch(
            "SELECT l.tenant_id, v.version, v.definition::text AS definition, coalesce(c.international, false)"
            " AS international FROM ivr_live_flows l JOIN ivr_flow_versions v ON v.id = l.version_id"
            " LEFT JOIN line_contracts c ON c.tenant_id = l.tenant_id"
            " WHERE ($1::bigint IS NULL OR l.tenant_id = $1) AND v.definition::text LIKE '%\"forward\"%'"
            " ORDER BY l.tenant_id",
            tenant_id,
        )
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
