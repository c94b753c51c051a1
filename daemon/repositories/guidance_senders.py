"""The addresses a tenant's guidance may be mailed from (``guidance_mail_senders``, sql/023)."""

from __future__ import annotations

import asyncpg

from daemon.postgres.types import Queryable
from daemon.repositories.tenants import Conflict


async def of_tenant(pool: Queryable, tenant_id: int) -> list[str]:
    rows = await pool.fetch(
        "SELECT address FROM guidance_mail_senders WHERE tenant_id = $1 ORDER BY created_at, address", tenant_id
    )
    return [r["address"] for r in rows]


async def replace(pool: Queryable, tenant_id: int, addresses: list[str]) -> None:
    """The tenant's list becomes ``addresses`` (lower case); an address of another tenant is a :class:`Conflict`."""
    taken = await pool.fetch(
        "SELECT address FROM guidance_mail_senders WHERE address = any($2::text[]) AND tenant_id <> $1",
        tenant_id,
        addresses,
    )
    if taken:
        raise Conflict(f"registered by another tenant: {', '.join(r['address'] for r in taken)}")
    await pool.execute(
        "DELETE FROM guidance_mail_senders WHERE tenant_id = $1 AND NOT (address = any($2::text[]))",
        tenant_id,
        addresses,
    )
    try:
        await pool.execute(
            "INSERT INTO guidance_mail_senders (tenant_id, address) SELECT $1, unnest($2::text[])"
            " ON CONFLICT (tenant_id, address) DO NOTHING",
            tenant_id,
            addresses,
        )
    except asyncpg.UniqueViolationError:  # registered by another tenant meanwhile
        raise Conflict("an address was registered by another tenant meanwhile") from None


async def tenant_of(pool: Queryable, address: str) -> tuple[int, str] | None:
    """The tenant (id, name) whose guidance ``address`` may send, if any."""
    row = await pool.fetchrow(
        "SELECT t.id, t.name FROM guidance_mail_senders s JOIN tenants t ON t.id = s.tenant_id WHERE s.address = $1",
        address.lower(),
    )
    return None if row is None else (row["id"], row["name"])
