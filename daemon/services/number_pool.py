"""The pool of our 03 numbers: the platform's staff add and retire them (audited)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from daemon.repositories import number_pool
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import coded
from daemon.services.tenant_models import PoolNumberIn


async def add(pool: asyncpg.Pool, actor: Actor, body: PoolNumberIn) -> datetime:
    """Returns when it was added."""
    actor.require_platform()
    async with change(pool, actor) as c:
        with coded("pool_number_taken"):
            added_at = await number_pool.add(c.pool, body.number, body.note)
        await c.record("number_pool.add", tenant_id=None, target=f"number {body.number}", after={"note": body.note})
    return added_at


async def remove(pool: asyncpg.Pool, actor: Actor, number: str) -> None:
    """Retire a free number; one still given to a tenant is refused (:class:`Conflict` ``number_assigned``)."""
    actor.require_platform()
    async with change(pool, actor) as c:
        with coded("number_assigned"):
            await number_pool.remove(c.pool, number)
        await c.record("number_pool.remove", tenant_id=None, target=f"number {number}")
