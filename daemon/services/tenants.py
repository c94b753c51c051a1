"""Tenants, their lines, their numbers and the forwarding add-on: the platform staff's operations.

Every operation here is the platform's (admin token, platform admin, CLI): a
tenant's own users and tokens are refused with :class:`Forbidden`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import asyncpg

from daemon.repositories import billing_contacts, contracts, number_pool, tenants
from daemon.repositories.billing_contacts import BillingContact
from daemon.repositories.forwarding import Guard
from daemon.repositories.tenants import NumberAssignment
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import NotFound, coded
from daemon.services.inputs import LinesUpdate, NumberCreate, TenantCreate
from daemon.services.invites import Invitation, invite_in
from daemon.services.tenant_models import BillingContactIn, Onboarding


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


async def set_international(pool: asyncpg.Pool, actor: Actor, tenant_id: int, enabled: bool) -> bool:
    """International forwarding allowed by the tenant's contract (off by default); returns the previous setting."""
    actor.require_platform()
    async with change(pool, actor) as c:
        previous = await contracts.set_international(c.pool, tenant_id, enabled)
        await c.record(
            "tenant.international",
            tenant_id=tenant_id,
            target=_target(tenant_id),
            before={"international": previous},
            after={"international": enabled},
        )
    return previous


async def set_forward_guard(pool: asyncpg.Pool, actor: Actor, tenant_id: int, guard: Guard) -> Guard:
    """The forwarding fraud guard (legs at once, minutes a Tokyo day); returns the previous limits."""
    actor.require_platform()
    async with change(pool, actor) as c:
        previous = await contracts.set_forward_guard(c.pool, tenant_id, guard)
        await c.record(
            "tenant.forward_guard",
            tenant_id=tenant_id,
            target=_target(tenant_id),
            before={"max_legs": previous.max_legs, "max_minutes": previous.max_minutes},
            after={"max_legs": guard.max_legs, "max_minutes": guard.max_minutes},
        )
    return previous


def _contact(body: BillingContactIn) -> BillingContact:
    return BillingContact(body.billing_name, body.billing_address, body.billing_email)


async def set_billing(pool: asyncpg.Pool, actor: Actor, tenant_id: int, body: BillingContactIn) -> None:
    """The invoice's addressee and address, and where invoices are mailed (from the next invoice issued)."""
    actor.require_platform()
    async with change(pool, actor) as c:
        before = await billing_contacts.set_contact(c.pool, tenant_id, _contact(body))
        await c.record(
            "tenant.billing",
            tenant_id=tenant_id,
            target=_target(tenant_id),
            before=asdict(before),
            after=asdict(_contact(body)),
        )


@dataclass(frozen=True, slots=True)
class Onboarded:
    tenant_id: int
    invitation: Invitation | None


async def onboard(pool: asyncpg.Pool, actor: Actor, body: Onboarding) -> Onboarded:
    """A new customer in one transaction: all of it, or (a number taken meanwhile, a login taken) nothing."""
    actor.require_platform()
    async with change(pool, actor) as c:
        with coded("tenant_name_taken"):
            tenant_id = await tenants.create_tenant(c.pool, body.name, body.lines)
        await billing_contacts.set_contact(c.pool, tenant_id, _contact(body))
        if body.number is not None:
            with coded("number_taken"):
                await number_pool.require_free(c.pool, body.number)
                await tenants.add_number(c.pool, tenant_id, body.number, body.product)
        if body.forwarding:
            await contracts.set_forwarding(c.pool, tenant_id, True)
        invitation = None if body.first_user is None else await invite_in(c, tenant_id, body.first_user)
        await c.record(
            "tenant.onboard",
            tenant_id=tenant_id,
            target=_target(tenant_id),
            after={
                "name": body.name,
                "product": body.product,
                "number": body.number,
                "lines": body.lines,
                "forwarding": body.forwarding,
                "billing_name": body.billing_name,
                "billing_address": body.billing_address,
                "billing_email": body.billing_email,
                "first_user": None if invitation is None else invitation.login,
            },
        )
    return Onboarded(tenant_id, invitation)
