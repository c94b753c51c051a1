"""Forwarded calls: the tariff, what a tenant sees of its add-on and the legs it rang.

The tariff (per unit of talk) applies from the next forwarded call and is set
by the platform's staff; a tenant reads it, its add-on and its forwarded legs.
Switching the add-on itself is a contract change of the tenant
(:func:`daemon.services.tenants.set_forwarding`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from daemon.repositories import forwarding
from daemon.rules.ivr.tariff import ForwardTariff
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.ivr_models import ForwardedLeg, ForwardedQuery


def _us(at: datetime | None) -> int | None:
    """FreeSWITCH's time unit (µs since the epoch); a time without an offset is UTC."""
    if at is None:
        return None
    return int((at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp() * 1_000_000)


async def contract(pool: asyncpg.Pool, actor: Actor, tenant_id: int) -> forwarding.Contract:
    return await forwarding.contract(pool, actor.scope(tenant_id))


async def forwarded(pool: asyncpg.Pool, actor: Actor, tenant_id: int, query: ForwardedQuery) -> list[ForwardedLeg]:
    """The tenant's forwarded legs with their charges, newest first, rung within the query's period."""
    rows = await forwarding.listing(
        pool,
        actor.scope(tenant_id),
        since_us=_us(query.since),
        until_us=_us(query.until),
        limit=query.limit,
        offset=query.offset,
    )
    return [ForwardedLeg(**dict(r)) for r in rows]


async def set_tariff(pool: asyncpg.Pool, actor: Actor, tenant_id: int, tariff: ForwardTariff) -> None:
    """The price of forwarded talk, from the next forwarded call (a leg keeps the tariff it was rung with).

    The platform's staff only: a tenant sees its tariff, it does not set it.
    """
    actor.require_platform()
    async with change(pool, actor) as c:
        old = (await forwarding.contract(c.pool, tenant_id)).tariff
        await forwarding.set_tariff(c.pool, tenant_id, tariff)
        await c.record(
            "tenant.forwarding_tariff",
            tenant_id=tenant_id,
            target=f"tenant {tenant_id}",
            before={"unit_seconds": old.unit_seconds, "yen_per_unit": old.yen_per_unit},
            after={"unit_seconds": tariff.unit_seconds, "yen_per_unit": tariff.yen_per_unit},
        )
