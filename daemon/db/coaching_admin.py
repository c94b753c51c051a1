"""Operator operations on Coaching Dial data: callers, counsellors, groups.

Every function is one transaction scoped to one tenant; ids of another tenant
are "not found", never touched.
"""

from __future__ import annotations

import asyncpg

from daemon.db.tenants import Conflict, NotFound
from daemon.db.types import Conn


async def create_caller(
    pool: asyncpg.Pool,
    tenant_id: int,
    *,
    name: str,
    billing: str,
    payment_method: str,
    numbers: list[str] | None = None,
    pin: str | None = None,
    credit_limit_yen: int | None = None,
) -> int:
    async with pool.acquire() as conn, conn.transaction():
        try:
            caller_id: int = await conn.fetchval(
                "INSERT INTO callers (tenant_id, name, billing, payment_method, pin, credit_limit_yen)"
                " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                tenant_id,
                name,
                billing,
                payment_method,
                pin,
                credit_limit_yen,
            )
            for number in numbers or []:
                await conn.execute(
                    "INSERT INTO caller_numbers (tenant_id, number, caller_id) VALUES ($1, $2, $3)",
                    tenant_id,
                    number,
                    caller_id,
                )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"caller number or PIN already registered ({exc.constraint_name})") from None
        except asyncpg.CheckViolationError as exc:
            raise ValueError(f"invalid caller ({exc.constraint_name})") from None
        except asyncpg.ForeignKeyViolationError:
            raise NotFound(f"no tenant {tenant_id}") from None
    return caller_id


async def create_counsellor(
    pool: asyncpg.Pool,
    tenant_id: int,
    *,
    name: str,
    dial_string: str,
    on_duty: bool = True,
    rate_yen_per_min: int | None = None,
) -> int:
    try:
        counsellor_id: int = await pool.fetchval(
            "INSERT INTO counsellors (tenant_id, name, dial_string, on_duty, rate_yen_per_min)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            tenant_id,
            name,
            dial_string,
            on_duty,
            rate_yen_per_min,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"counsellor {name!r} already exists") from None
    except asyncpg.CheckViolationError as exc:
        raise ValueError(f"invalid counsellor ({exc.constraint_name})") from None
    return counsellor_id


async def set_duty(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int, on_duty: bool) -> None:
    status = await pool.execute(
        "UPDATE counsellors SET on_duty = $3, missed_in_row = CASE WHEN $3 THEN 0 ELSE missed_in_row END"
        " WHERE id = $1 AND tenant_id = $2",
        counsellor_id,
        tenant_id,
        on_duty,
    )
    if status != "UPDATE 1":
        raise NotFound(f"no counsellor {counsellor_id}")


async def create_group(
    pool: asyncpg.Pool,
    tenant_id: int,
    *,
    code: str,
    name: str,
    rate_yen_per_min: int,
    members: list[int],
    strategy: str = "longest_idle",
    ring_timeout_s: int = 20,
    free_seconds: int = 0,
    minimum_charge_yen: int = 0,
    max_missed: int = 3,
    wrapup_seconds: int = 0,
    warning_seconds: int = 60,
) -> int:
    async with pool.acquire() as conn, conn.transaction():
        try:
            group_id: int = await conn.fetchval(
                "INSERT INTO counsellor_groups (tenant_id, code, name, rate_yen_per_min, strategy, ring_timeout_s,"
                " free_seconds, minimum_charge_yen, max_missed, wrapup_seconds, warning_seconds)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                tenant_id,
                code,
                name,
                rate_yen_per_min,
                strategy,
                ring_timeout_s,
                free_seconds,
                minimum_charge_yen,
                max_missed,
                wrapup_seconds,
                warning_seconds,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"group code {code} already exists") from None
        except asyncpg.CheckViolationError as exc:
            raise ValueError(f"invalid group ({exc.constraint_name})") from None
        await set_members(conn, tenant_id, group_id, members)
    return group_id


async def set_members(conn: Conn, tenant_id: int, group_id: int, members: list[int]) -> None:
    """Replace the group's members; their order is the sequential/round-robin order."""
    if len(set(members)) != len(members):
        raise ValueError("a counsellor is listed twice among the members")
    found = await conn.fetchval(
        "SELECT count(*) FROM counsellors WHERE tenant_id = $1 AND id = ANY($2::bigint[])", tenant_id, members
    )
    if found != len(set(members)):
        raise NotFound("a member is not a counsellor of this tenant")
    await conn.execute("DELETE FROM group_members WHERE group_id = $1", group_id)
    await conn.executemany(
        "INSERT INTO group_members (group_id, counsellor_id, position) VALUES ($1, $2, $3)",
        [(group_id, member, position) for position, member in enumerate(members)],
    )
