"""Tenants, their lines, their numbers and the forwarding add-on: the platform staff's operations.

Every operation here is the platform's (admin token, platform admin, CLI): a
tenant's own users and tokens are refused with :class:`Forbidden`.
"""

from __future__ import annotations

import asyncpg

from daemon.repositories import contracts, tenants
from daemon.repositories.tenants import NumberAssignment
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import NotFound, coded
from daemon.services.inputs import LinesUpdate, NumberCreate, TenantCreate


def _target(tenant_id: int) -> str:
    return f"tenant {tenant_id}"


async def create_tenant(pool: asyncpg.Pool, actor: Actor, body: TenantCreate) -> int:
    actor.require_platform()
    async with change(pool, actor) as c:
        with coded("tenant_name_taken"):
            tenant_id = await tenants.create_tenant(c.pool, body.name, body.lines)
        await c.record(
            "tenant.create",
            tenant_id=tenant_id,
            target=_target(tenant_id),
            after={"name": body.name, "lines": body.lines},
        )
    return tenant_id


async def set_lines(pool: asyncpg.Pool, actor: Actor, tenant_id: int, body: LinesUpdate) -> int:
    """The new line count applies to the next call; returns the previous count."""
    actor.require_platform()
    async with change(pool, actor) as c:
        previous = await tenants.set_lines(c.pool, tenant_id, body.lines)
        await c.record(
            "tenant.lines",
            tenant_id=tenant_id,
            target=_target(tenant_id),
            before={"lines": previous},
            after={"lines": body.lines},
        )
    return previous


async def add_number(pool: asyncpg.Pool, actor: Actor, tenant_id: int, body: NumberCreate) -> None:
    actor.require_platform()
    async with change(pool, actor) as c:
        with coded("number_taken"):
            await tenants.add_number(c.pool, tenant_id, body.number, body.product)
        await c.record(
            "tenant.number.add",
            tenant_id=tenant_id,
            target=f"number {body.number}",
            after={"number": body.number, "product": body.product},
        )


async def remove_number(
    pool: asyncpg.Pool, actor: Actor, number: str, *, tenant_id: int | None = None
) -> NumberAssignment:
    """Take ``number`` out of service; with ``tenant_id``, only if it is that tenant's."""
    actor.require_platform()
    async with change(pool, actor) as c:
        owner, assignment = await tenants.number_owner(c.pool, number)
        if tenant_id is not None and owner != tenant_id:
            raise NotFound(f"number {number} is not assigned to tenant {tenant_id}")
        await tenants.remove_number(c.pool, number)
        await c.record(
            "tenant.number.remove",
            tenant_id=owner,
            target=f"number {number}",
            before={"number": number, "product": assignment.product},
        )
    return assignment


async def set_forwarding(pool: asyncpg.Pool, actor: Actor, tenant_id: int, enabled: bool) -> bool:
    """The forwarding add-on on or off from now; returns the previous setting."""
    actor.require_platform()
    async with change(pool, actor) as c:
        previous = await contracts.set_forwarding(c.pool, tenant_id, enabled)
        await c.record(
            "tenant.forwarding",
            tenant_id=tenant_id,
            target=_target(tenant_id),
            before={"forwarding": previous},
            after={"forwarding": enabled},
        )
    return previous
