"""Our own Tokyo 03 numbers, kept by the platform admin, and which tenant each is given to now.

A pool number is given to a tenant by assigning it (``numbers``, whose primary
key is the number: never two tenants at once, whoever races); a number still
assigned cannot leave the pool (a trigger of sql/024_onboarding.sql).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.postgres.errors import Conflict, NotFound


@dataclass(frozen=True, slots=True)
class PoolNumber:
    number: str
    note: str
    added_at: datetime
    tenant_id: int | None  # None: free
    tenant_name: str | None
    product: str | None


async def add(pool: asyncpg.Pool, number: str, note: str = "") -> datetime:
    try:
        added_at: datetime = await pool.fetchval(
            "INSERT INTO number_pool (number, note) VALUES ($1, $2) RETURNING added_at", number, note
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"number {number} is in the pool already") from None
    except asyncpg.CheckViolationError:
        raise Conflict(f"number {number} is not a Tokyo 03 number (10 digits starting with 03)") from None
    return added_at


async def remove(pool: asyncpg.Pool, number: str) -> None:
    try:
        status = await pool.execute("DELETE FROM number_pool WHERE number = $1", number)
    except asyncpg.ForeignKeyViolationError:
        raise Conflict(f"number {number} is assigned to a tenant: take it out of service first") from None
    if status != "DELETE 1":
        raise NotFound(f"number {number} is not in the pool")


async def listing(pool: asyncpg.Pool, *, free_only: bool = False) -> list[PoolNumber]:
    rows = await pool.fetch(
        "SELECT p.number, p.note, p.added_at, n.tenant_id, t.name AS tenant_name, n.product"
        " FROM number_pool p LEFT JOIN numbers n ON n.number = p.number LEFT JOIN tenants t ON t.id = n.tenant_id"
        " WHERE NOT $1 OR n.number IS NULL ORDER BY p.number",
        free_only,
    )
    return [
        PoolNumber(r["number"], r["note"], r["added_at"], r["tenant_id"], r["tenant_name"], r["product"]) for r in rows
    ]


async def require_free(pool: asyncpg.Pool, number: str) -> None:
    """``number`` is in the pool and given to nobody (the assignment's primary key settles a race)."""
    row = await pool.fetchrow(
        "SELECT n.tenant_id FROM number_pool p LEFT JOIN numbers n ON n.number = p.number WHERE p.number = $1",
        number,
    )
    if row is None:
        raise NotFound(f"number {number} is not in the pool")
    if row["tenant_id"] is not None:
        raise Conflict(f"number {number} is assigned to tenant {row['tenant_id']} already")
