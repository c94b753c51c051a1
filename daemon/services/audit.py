"""Reading the audit log: the platform sees every tenant's rows, a tenant's user or token only its own."""

from __future__ import annotations

import dataclasses

import asyncpg

from daemon.repositories import audit
from daemon.repositories.audit import Filter, Record
from daemon.services.actor import Actor


async def search(pool: asyncpg.Pool, actor: Actor, where: Filter, limit: int = 200) -> list[Record]:
    """Newest first; a tenant actor's filter is narrowed to their tenant whatever it asked for."""
    if actor.tenant_id is not None:
        if where.tenant_id not in (None, actor.tenant_id):
            return []
        where = dataclasses.replace(where, tenant_id=actor.tenant_id)
    return await audit.search(pool, where, limit)
