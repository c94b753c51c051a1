"""Reading, changing and deleting Coaching Dial data for an operator (one tenant).

Creation lives in :mod:`daemon.db.coaching_admin`.  Every statement carries the
tenant id, so an id of another tenant is simply "not found".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import asyncpg

from daemon.db import coaching_admin
from daemon.db.tenants import Conflict, NotFound

COUNSELLOR_COLUMNS = (
    "id, name, dial_string, rate_yen_per_min, on_duty, current_call IS NOT NULL AS in_call,"
    " missed_in_row, last_call_end"
)
GROUP_COLUMNS = (
    "g.id, g.code, g.name, g.rate_yen_per_min, g.strategy, g.ring_timeout_s, g.free_seconds,"
    " g.minimum_charge_yen, g.max_missed, g.wrapup_seconds, g.warning_seconds,"
    " COALESCE((SELECT array_agg(m.counsellor_id ORDER BY m.position) FROM group_members m"
    " WHERE m.group_id = g.id), '{}') AS members"
)
CALLER_COLUMNS = (
    "c.id, c.name, c.pin IS NOT NULL AS has_pin, c.billing, c.payment_method, c.credit_limit_yen, c.balance_yen,"
    " COALESCE((SELECT array_agg(n.number ORDER BY n.number) FROM caller_numbers n"
    " WHERE n.caller_id = c.id), '{}') AS numbers"
)
CALL_COLUMNS = (
    "call_uuid, created_at, caller_id, caller_number, group_id, counsellor_id, state, answer_us, end_us,"
    " billed_seconds, charge_yen, hangup_cause, ended_by"
)


def _one(row: asyncpg.Record | None, what: str, ident: int) -> dict[str, Any]:
    if row is None:
        raise NotFound(f"no {what} {ident}")
    return dict(row)


# -- counsellors ---------------------------------------------------------------


async def counsellors(pool: asyncpg.Pool, tenant_id: int) -> list[dict[str, Any]]:
    rows = await pool.fetch(f"SELECT {COUNSELLOR_COLUMNS} FROM counsellors WHERE tenant_id = $1 ORDER BY id", tenant_id)
    return [dict(r) for r in rows]


async def counsellor(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int) -> dict[str, Any]:
    row = await pool.fetchrow(
        f"SELECT {COUNSELLOR_COLUMNS} FROM counsellors WHERE tenant_id = $1 AND id = $2", tenant_id, counsellor_id
    )
    return _one(row, "counsellor", counsellor_id)


async def update_counsellor(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int, values: Mapping[str, Any]) -> None:
    try:
        status = await pool.execute(
            "UPDATE counsellors SET name = $3, dial_string = $4, rate_yen_per_min = $5, on_duty = $6,"
            " missed_in_row = CASE WHEN $6 AND NOT on_duty THEN 0 ELSE missed_in_row END"
            " WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            counsellor_id,
            values["name"],
            values["dial_string"],
            values["rate_yen_per_min"],
            values["on_duty"],
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a counsellor named {values['name']!r} already exists") from None
    if status != "UPDATE 1":
        raise NotFound(f"no counsellor {counsellor_id}")


async def delete_counsellor(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int) -> None:
    status = await pool.execute(
        "DELETE FROM counsellors WHERE tenant_id = $1 AND id = $2 AND current_call IS NULL", tenant_id, counsellor_id
    )
    if status != "DELETE 1":
        await counsellor(pool, tenant_id, counsellor_id)  # 404 if it does not exist
        raise Conflict(f"counsellor {counsellor_id} is in a call; try again after it ends")


# -- groups ----------------------------------------------------------------------

_GROUP_FIELDS = (
    "code",
    "name",
    "rate_yen_per_min",
    "strategy",
    "ring_timeout_s",
    "free_seconds",
    "minimum_charge_yen",
    "max_missed",
    "wrapup_seconds",
    "warning_seconds",
)


async def groups(pool: asyncpg.Pool, tenant_id: int) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT {GROUP_COLUMNS} FROM counsellor_groups g WHERE g.tenant_id = $1 ORDER BY g.id", tenant_id
    )
    return [dict(r) for r in rows]


async def group(pool: asyncpg.Pool, tenant_id: int, group_id: int) -> dict[str, Any]:
    row = await pool.fetchrow(
        f"SELECT {GROUP_COLUMNS} FROM counsellor_groups g WHERE g.tenant_id = $1 AND g.id = $2", tenant_id, group_id
    )
    return _one(row, "group", group_id)


async def update_group(pool: asyncpg.Pool, tenant_id: int, group_id: int, values: Mapping[str, Any]) -> None:
    sets = ", ".join(f"{name} = ${i + 3}" for i, name in enumerate(_GROUP_FIELDS))
    async with pool.acquire() as conn, conn.transaction():
        try:
            status = await conn.execute(
                f"UPDATE counsellor_groups SET {sets} WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                group_id,
                *(values[name] for name in _GROUP_FIELDS),
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"group code {values['code']} already exists") from None
        if status != "UPDATE 1":
            raise NotFound(f"no group {group_id}")
        await coaching_admin.set_members(conn, tenant_id, group_id, list(values["members"]))


async def set_group_members(pool: asyncpg.Pool, tenant_id: int, group_id: int, members: list[int]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchval(
            "SELECT id FROM counsellor_groups WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant_id, group_id
        )
        if found is None:
            raise NotFound(f"no group {group_id}")
        await coaching_admin.set_members(conn, tenant_id, group_id, members)


async def delete_group(pool: asyncpg.Pool, tenant_id: int, group_id: int) -> None:
    status = await pool.execute("DELETE FROM counsellor_groups WHERE tenant_id = $1 AND id = $2", tenant_id, group_id)
    if status != "DELETE 1":
        raise NotFound(f"no group {group_id}")


# -- callers ---------------------------------------------------------------------


async def callers(pool: asyncpg.Pool, tenant_id: int) -> list[dict[str, Any]]:
    rows = await pool.fetch(f"SELECT {CALLER_COLUMNS} FROM callers c WHERE c.tenant_id = $1 ORDER BY c.id", tenant_id)
    return [dict(r) for r in rows]


async def caller(pool: asyncpg.Pool, tenant_id: int, caller_id: int) -> dict[str, Any]:
    row = await pool.fetchrow(
        f"SELECT {CALLER_COLUMNS} FROM callers c WHERE c.tenant_id = $1 AND c.id = $2", tenant_id, caller_id
    )
    return _one(row, "caller", caller_id)


async def update_caller(pool: asyncpg.Pool, tenant_id: int, caller_id: int, values: Mapping[str, Any]) -> None:
    """Replace a caller's settings and numbers in one transaction (the balance is the ledger's)."""
    async with pool.acquire() as conn, conn.transaction():
        try:
            status = await conn.execute(
                "UPDATE callers SET name = $3, pin = $4, billing = $5, payment_method = $6, credit_limit_yen = $7"
                " WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                caller_id,
                values["name"],
                values["pin"],
                values["billing"],
                values["payment_method"],
                values["credit_limit_yen"],
            )
            if status != "UPDATE 1":
                raise NotFound(f"no caller {caller_id}")
            await conn.execute("DELETE FROM caller_numbers WHERE caller_id = $1", caller_id)
            await conn.executemany(
                "INSERT INTO caller_numbers (tenant_id, number, caller_id) VALUES ($1, $2, $3)",
                [(tenant_id, number, caller_id) for number in values["numbers"]],
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"caller number or PIN already registered ({exc.constraint_name})") from None
        except asyncpg.CheckViolationError as exc:
            raise ValueError(_caller_rule(exc.constraint_name)) from None


def _caller_rule(constraint: str | None) -> str:
    if constraint == "callers_balance_yen_check" or (constraint or "").endswith("check2"):
        return "a prepaid balance cannot be negative: settle what is owed before switching to prepaid"
    return f"the caller's settings break a rule ({constraint})"


async def delete_caller(pool: asyncpg.Pool, tenant_id: int, caller_id: int) -> None:
    try:
        status = await pool.execute("DELETE FROM callers WHERE tenant_id = $1 AND id = $2", tenant_id, caller_id)
    except asyncpg.ForeignKeyViolationError:
        raise Conflict(
            f"caller {caller_id} has ledger or call history, which is kept; remove their numbers instead"
        ) from None
    if status != "DELETE 1":
        raise NotFound(f"no caller {caller_id}")


# -- call records ----------------------------------------------------------------


async def calls(
    pool: asyncpg.Pool,
    tenant_id: int,
    *,
    since: datetime | None,
    until: datetime | None,
    filters: Mapping[str, object],
    limit: int,
    offset: int,
) -> AsyncIterator[asyncpg.Record]:
    """Call records of the tenant, newest first, streamed from a cursor."""
    where = ["tenant_id = $1"]
    args: list[object] = [tenant_id]
    for column, value in [
        ("created_at >=", since),
        ("created_at <", until),
        *((f"{k} =", v) for k, v in filters.items()),
    ]:
        if value is not None:
            args.append(value)
            where.append(f"{column} ${len(args)}")
    args += [limit, offset]
    sql = (
        f"SELECT {CALL_COLUMNS} FROM call_records WHERE {' AND '.join(where)}"
        f" ORDER BY created_at DESC, call_uuid LIMIT ${len(args) - 1} OFFSET ${len(args)}"
    )
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        async for row in conn.cursor(sql, *args):
            yield row
