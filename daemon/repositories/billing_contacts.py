"""Who our invoice to a tenant is addressed to (宛名, address) and the address it is e-mailed to."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from daemon.postgres.errors import NotFound
from daemon.postgres.types import Queryable


@dataclass(frozen=True, slots=True)
class BillingContact:
    name: str = ""  # empty: the tenant's own name is the addressee
    address: str = ""
    email: str = ""  # empty: the invoice is not mailed


async def get(pool: Queryable, tenant_id: int) -> BillingContact:
    row = await pool.fetchrow(
        "SELECT billing_name, billing_address, billing_email FROM tenants WHERE id = $1", tenant_id
    )
    if row is None:
        raise NotFound(f"no tenant with id {tenant_id}")
    return BillingContact(row["billing_name"], row["billing_address"], row["billing_email"])


async def set_contact(pool: asyncpg.Pool, tenant_id: int, contact: BillingContact) -> BillingContact:
    """Store ``contact``; returns the one it replaces."""
    async with pool.acquire() as conn, conn.transaction():
        before = await get(conn, tenant_id)
        await conn.execute(
            "UPDATE tenants SET billing_name = $2, billing_address = $3, billing_email = $4 WHERE id = $1",
            tenant_id,
            contact.name,
            contact.address,
            contact.email,
        )
    return before
