"""Counsellor groups: what the caller keys, the tariff, how members are hunted; one tenant at a time.

:class:`Group` is what a call needs, :class:`GroupRow` what the operator
manages (with the members in hunting order).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from daemon.postgres.errors import Conflict, NotFound
from daemon.postgres.types import Conn
from daemon.rules.billing.charges import Tariff


@dataclass(frozen=True, slots=True)
class Group:
    """A group as a call sees it."""

    id: int
    code: str
    name: str
    tariff: Tariff
    strategy: str
    ring_timeout_s: int
    max_missed: int
    wrapup_seconds: int
    warning_seconds: int
    # the waiting line (off by default; daemon.calls.waiting)
    queue_enabled: bool = False
    queue_max_wait_s: int = 300
    queue_max_length: int = 10
    queue_announce_s: int = 30
    minimum_talk_seconds: int = 60  # a limited caller is offered only to members their money covers this long


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A group as the operator manages it."""

    id: int
    code: str
    name: str
    rate_yen_per_min: int
    strategy: str
    ring_timeout_s: int
    free_seconds: int
    minimum_charge_yen: int
    max_missed: int
    wrapup_seconds: int
    warning_seconds: int
    queue_enabled: bool
    queue_max_wait_s: int
    queue_max_length: int
    queue_announce_s: int
    minimum_talk_seconds: int
    members: tuple[int, ...]  # counsellor ids, in hunting order


SETTINGS = (
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
    "queue_enabled",
    "queue_max_wait_s",
    "queue_max_length",
    "queue_announce_s",
    "minimum_talk_seconds",
)
_ROW_COLUMNS = (
    ", ".join(f"g.{name}" for name in ("id", *SETTINGS))
    + ", COALESCE((SELECT array_agg(m.counsellor_id ORDER BY m.position) FROM group_members m"
    " WHERE m.group_id = g.id), '{}') AS members"
)


async def group_by_code(pool: asyncpg.Pool, tenant_id: int, code: str) -> Group | None:
    row = await pool.fetchrow("SELECT * FROM counsellor_groups WHERE tenant_id = $1 AND code = $2", tenant_id, code)
    if row is None:
        return None
    return Group(
        row["id"],
        row["code"],
        row["name"],
        Tariff(row["rate_yen_per_min"], row["free_seconds"], row["minimum_charge_yen"]),
        row["strategy"],
        row["ring_timeout_s"],
        row["max_missed"],
        row["wrapup_seconds"],
        row["warning_seconds"],
        row["queue_enabled"],
        row["queue_max_wait_s"],
        row["queue_max_length"],
        row["queue_announce_s"],
        row["minimum_talk_seconds"],
    )


def _row(r: asyncpg.Record) -> GroupRow:
    return GroupRow(id=r["id"], members=tuple(r["members"]), **{name: r[name] for name in SETTINGS})


async def create(
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
    queue_enabled: bool = False,
    queue_max_wait_s: int = 300,
    queue_max_length: int = 10,
    queue_announce_s: int = 30,
    minimum_talk_seconds: int = 60,
) -> int:
    async with pool.acquire() as conn, conn.transaction():
        try:
            group_id: int = await conn.fetchval(
                "INSERT INTO counsellor_groups (tenant_id, code, name, rate_yen_per_min, strategy, ring_timeout_s,"
                " free_seconds, minimum_charge_yen, max_missed, wrapup_seconds, warning_seconds,"
                " queue_enabled, queue_max_wait_s, queue_max_length, queue_announce_s, minimum_talk_seconds)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
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
                queue_enabled,
                queue_max_wait_s,
                queue_max_length,
                queue_announce_s,
                minimum_talk_seconds,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"group code {code} already exists") from None
        except asyncpg.CheckViolationError as exc:
            raise ValueError(f"invalid group ({exc.constraint_name})") from None
        await replace_members(conn, tenant_id, group_id, members)
    return group_id


async def replace_members(conn: Conn, tenant_id: int, group_id: int, members: list[int]) -> None:
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


async def get(pool: asyncpg.Pool, tenant_id: int, group_id: int) -> GroupRow:
    row = await pool.fetchrow(
        f"SELECT {_ROW_COLUMNS} FROM counsellor_groups g WHERE g.tenant_id = $1 AND g.id = $2", tenant_id, group_id
    )
    if row is None:
        raise NotFound(f"no group {group_id}")
    return _row(row)


async def list_all(pool: asyncpg.Pool, tenant_id: int) -> list[GroupRow]:
    rows = await pool.fetch(
        f"SELECT {_ROW_COLUMNS} FROM counsellor_groups g WHERE g.tenant_id = $1 ORDER BY g.id", tenant_id
    )
    return [_row(r) for r in rows]


async def update(pool: asyncpg.Pool, tenant_id: int, group_id: int, *, members: list[int], **values: object) -> None:
    """Replace a group's settings (every name of :data:`SETTINGS`) and members, in one transaction."""
    sets = ", ".join(f"{name} = ${i + 3}" for i, name in enumerate(SETTINGS))
    async with pool.acquire() as conn, conn.transaction():
        try:
            status = await conn.execute(
                f"UPDATE counsellor_groups SET {sets} WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                group_id,
                *(values[name] for name in SETTINGS),
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"group code {values['code']} already exists") from None
        except asyncpg.CheckViolationError as exc:
            raise ValueError(f"invalid group ({exc.constraint_name})") from None
        if status != "UPDATE 1":
            raise NotFound(f"no group {group_id}")
        await replace_members(conn, tenant_id, group_id, members)


async def set_members(pool: asyncpg.Pool, tenant_id: int, group_id: int, members: list[int]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchval(
            "SELECT id FROM counsellor_groups WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant_id, group_id
        )
        if found is None:
            raise NotFound(f"no group {group_id}")
        await replace_members(conn, tenant_id, group_id, members)


async def delete(pool: asyncpg.Pool, tenant_id: int, group_id: int) -> None:
    status = await pool.execute("DELETE FROM counsellor_groups WHERE tenant_id = $1 AND id = $2", tenant_id, group_id)
    if status != "DELETE 1":
        raise NotFound(f"no group {group_id}")
