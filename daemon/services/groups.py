"""Counsellor groups of a Coaching Dial tenant: keypad code, tariff, hunting, members.

Members are counsellor ids in hunting order; a member of another tenant is
"not found".
"""

from __future__ import annotations

from typing import Any

import asyncpg

from daemon.repositories import groups
from daemon.repositories.groups import GroupRow
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import coded
from daemon.services.inputs import GroupIn

TAKEN = "group_code_taken"


def settings(row: GroupRow) -> dict[str, Any]:
    """What the audit log remembers of a group (the keys of :class:`GroupIn`)."""
    return {name: getattr(row, name) for name in groups.SETTINGS} | {"members": list(row.members)}


def _target(group_id: int) -> str:
    return f"group {group_id}"


async def create_group(pool: asyncpg.Pool, actor: Actor, tenant_id: int, body: GroupIn) -> int:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        with coded(TAKEN):
            new_id = await groups.create(c.pool, tenant, **body.model_dump())
        await c.record("group.create", tenant_id=tenant, target=_target(new_id), after=body.model_dump())
    return new_id


async def update_group(pool: asyncpg.Pool, actor: Actor, tenant_id: int, group_id: int, body: GroupIn) -> None:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        before = await groups.get(c.pool, tenant, group_id)
        with coded(TAKEN):
            await groups.update(c.pool, tenant, group_id, **body.model_dump())
        await c.record(
            "group.update", tenant_id=tenant, target=_target(group_id), before=settings(before), after=body.model_dump()
        )


async def set_members(pool: asyncpg.Pool, actor: Actor, tenant_id: int, group_id: int, members: list[int]) -> None:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        before = await groups.get(c.pool, tenant, group_id)
        await groups.set_members(c.pool, tenant, group_id, members)
        await c.record(
            "group.members",
            tenant_id=tenant,
            target=_target(group_id),
            before={"members": list(before.members)},
            after={"members": members},
        )


async def delete_group(pool: asyncpg.Pool, actor: Actor, tenant_id: int, group_id: int) -> None:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        before = await groups.get(c.pool, tenant, group_id)
        await groups.delete(c.pool, tenant, group_id)
        await c.record("group.delete", tenant_id=tenant, target=_target(group_id), before=settings(before))
