"""A tenant's contract over time: the forwarding add-on switch, and the history invoices are computed from.

Also the contract's call-safety options: international calls (:func:`set_international`)
and the forwarding fraud guard (:func:`set_forward_guard`), written inside the change of
``daemon.services.tenants`` that checks the actor and audits them.

Every change of ``line_contracts`` (lines or add-on, by any path) is recorded in
``contract_history`` by a trigger, in the changing transaction, stamped with the
row's ``updated_at`` (``sql/011_invoices.sql``).  History rows are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.postgres.types import Queryable
from daemon.repositories.forwarding import Guard
from daemon.repositories.tenants import NotFound
from daemon.rules.billing.invoice import ContractState


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    changed_at: datetime
    lines: int
    forwarding: bool


async def set_forwarding(pool: asyncpg.Pool, tenant_id: int, enabled: bool, *, at: datetime | None = None) -> bool:
    """Turn the forwarding add-on on or off (from ``at``, default now).  Returns the previous setting."""
    async with pool.acquire() as conn, conn.transaction():
        previous: bool | None = await conn.fetchval(
            "SELECT forwarding FROM line_contracts WHERE tenant_id = $1 FOR NO KEY UPDATE", tenant_id
        )
        if previous is None:
            raise NotFound(f"no tenant with id {tenant_id}")
        if previous != enabled:
            await conn.execute(
                "UPDATE line_contracts SET forwarding = $2, updated_at = COALESCE($3, now()) WHERE tenant_id = $1",
                tenant_id,
                enabled,
                at,
            )
    return previous


async def set_international(db: asyncpg.Pool, tenant_id: int, enabled: bool) -> bool:
    """Allow or forbid international calls (off by default).  Returns the previous setting.

    The service (``daemon.services.tenants``) calls it inside its change and audits it.
    """
    previous: bool | None = await db.fetchval(
        "SELECT international FROM line_contracts WHERE tenant_id = $1 FOR NO KEY UPDATE", tenant_id
    )
    if previous is None:
        raise NotFound(f"no tenant with id {tenant_id}")
    await db.execute("UPDATE line_contracts SET international = $2 WHERE tenant_id = $1", tenant_id, enabled)
    return previous


async def set_forward_guard(db: asyncpg.Pool, tenant_id: int, guard: Guard) -> Guard:
    """Set the forwarding fraud guard (legs at once, minutes a day).  Returns the previous limits.

    The service (``daemon.services.tenants``) calls it inside its change and audits it.
    """
    row = await db.fetchrow(
        "SELECT forward_max_legs, forward_max_minutes FROM line_contracts WHERE tenant_id = $1 FOR NO KEY UPDATE",
        tenant_id,
    )
    if row is None:
        raise NotFound(f"no tenant with id {tenant_id}")
    await db.execute(
        "UPDATE line_contracts SET forward_max_legs = $2, forward_max_minutes = $3 WHERE tenant_id = $1",
        tenant_id,
        guard.max_legs,
        guard.max_minutes,
    )
    return Guard(row["forward_max_legs"], row["forward_max_minutes"])


async def changes(db: Queryable, tenant_id: int) -> list[Change]:
    """The contract's states in the order they were made (a handful per tenant and year)."""
    rows = await db.fetch(
        "SELECT id, changed_at, lines, forwarding FROM contract_history WHERE tenant_id = $1 ORDER BY id",
        tenant_id,
    )
    return [Change(r["id"], r["changed_at"], r["lines"], r["forwarding"]) for r in rows]


def states(history: list[Change]) -> list[ContractState]:
    return [ContractState(at=c.changed_at, lines=c.lines, forwarding=c.forwarding) for c in history]
