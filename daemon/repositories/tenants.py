"""Tenants, their numbers and their line contracts (operator operations)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from daemon.postgres import errors

# Defined once in daemon.postgres.errors; importable from here as before.
NotFound = errors.NotFound
Conflict = errors.Conflict


@dataclass(frozen=True, slots=True)
class TenantLines:
    tenant_id: int
    name: str
    lines: int
    live_calls: int


async def create_tenant(pool: asyncpg.Pool, name: str, lines: int) -> int:
    async with pool.acquire() as conn, conn.transaction():
        try:
            tenant_id: int = await conn.fetchval("INSERT INTO tenants (name) VALUES ($1) RETURNING id", name)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"tenant {name!r} already exists") from None
        await conn.execute("INSERT INTO line_contracts (tenant_id, lines) VALUES ($1, $2)", tenant_id, lines)
        await conn.execute(
            "INSERT INTO line_contract_changes (tenant_id, old_lines, new_lines) VALUES ($1, NULL, $2)",
            tenant_id,
            lines,
        )
    return tenant_id


async def tenant_id_by_name(pool: asyncpg.Pool, name: str) -> int:
    tenant_id: int | None = await pool.fetchval("SELECT id FROM tenants WHERE name = $1", name)
    if tenant_id is None:
        raise NotFound(f"no tenant named {name!r}")
    return tenant_id


async def set_lines(pool: asyncpg.Pool, tenant_id: int, lines: int) -> int:
    """Change a tenant's line count; it applies to the next call.  Returns the old count."""
    async with pool.acquire() as conn, conn.transaction():
        old: int | None = await conn.fetchval(
            "SELECT lines FROM line_contracts WHERE tenant_id = $1 FOR NO KEY UPDATE", tenant_id
        )
        if old is None:
            raise NotFound(f"no tenant with id {tenant_id}")
        await conn.execute(
            "UPDATE line_contracts SET lines = $2, updated_at = now() WHERE tenant_id = $1", tenant_id, lines
        )
        await conn.execute(
            "INSERT INTO line_contract_changes (tenant_id, old_lines, new_lines) VALUES ($1, $2, $3)",
            tenant_id,
            old,
            lines,
        )
    return old


async def add_number(pool: asyncpg.Pool, tenant_id: int, number: str, product: str) -> None:
    try:
        await pool.execute(
            "INSERT INTO numbers (number, tenant_id, product) VALUES ($1, $2, $3)", number, tenant_id, product
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"number {number} is already assigned") from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(f"no tenant with id {tenant_id}") from None


async def remove_number(pool: asyncpg.Pool, number: str) -> None:
    status = await pool.execute("DELETE FROM numbers WHERE number = $1", number)
    if status != "DELETE 1":
        raise NotFound(f"number {number} is not assigned")


async def lines_overview(pool: asyncpg.Pool) -> list[TenantLines]:
    rows = await pool.fetch(
        "SELECT t.id, t.name, COALESCE(c.lines, 0) AS lines,"
        " (SELECT count(*) FROM active_calls a WHERE a.tenant_id = t.id) AS live"
        " FROM tenants t LEFT JOIN line_contracts c ON c.tenant_id = t.id ORDER BY t.id"
    )
    return [TenantLines(r["id"], r["name"], r["lines"], r["live"]) for r in rows]


@dataclass(frozen=True, slots=True)
class NumberAssignment:
    number: str
    product: str


@dataclass(frozen=True, slots=True)
class TenantDetail:
    tenant_id: int
    name: str
    lines: int
    live_calls: int  # across every node sharing the database
    numbers: tuple[NumberAssignment, ...]


# One statement, so the lines, the live calls and the numbers come from one snapshot.
_TENANT_DETAIL = (
    "SELECT t.id, t.name, COALESCE(c.lines, 0) AS lines,"
    " (SELECT count(*) FROM active_calls a WHERE a.tenant_id = t.id) AS live,"
    " ARRAY(SELECT n.number FROM numbers n WHERE n.tenant_id = t.id ORDER BY n.number) AS numbers,"
    " ARRAY(SELECT n.product FROM numbers n WHERE n.tenant_id = t.id ORDER BY n.number) AS products"
    " FROM tenants t LEFT JOIN line_contracts c ON c.tenant_id = t.id"
)


def _detail(row: asyncpg.Record) -> TenantDetail:
    numbers = tuple(NumberAssignment(n, p) for n, p in zip(row["numbers"], row["products"], strict=True))
    return TenantDetail(row["id"], row["name"], row["lines"], row["live"], numbers)


async def get_tenant(pool: asyncpg.Pool, tenant_id: int) -> TenantDetail:
    row = await pool.fetchrow(_TENANT_DETAIL + " WHERE t.id = $1", tenant_id)
    if row is None:
        raise NotFound(f"no tenant with id {tenant_id}")
    return _detail(row)


async def list_tenants(pool: asyncpg.Pool) -> list[TenantDetail]:
    return [_detail(r) for r in await pool.fetch(_TENANT_DETAIL + " ORDER BY t.id")]


async def number_owner(pool: asyncpg.Pool, number: str) -> tuple[int, NumberAssignment]:
    """Who a number is assigned to, and for which product (what its removal takes away)."""
    row = await pool.fetchrow("SELECT tenant_id, product FROM numbers WHERE number = $1", number)
    if row is None:
        raise NotFound(f"number {number} is not assigned")
    return row["tenant_id"], NumberAssignment(number, row["product"])
