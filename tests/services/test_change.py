"""The one write path: check → write → audit in one transaction (real PostgreSQL)."""

from __future__ import annotations

import asyncpg
import pytest

from daemon.repositories import audit, tenants
from daemon.services.actor import Actor
from daemon.services.change import Unaudited, change
from daemon.services.errors import Conflict, NotFound


async def _lines(pool: asyncpg.Pool, tenant_id: int) -> int:
    return (await tenants.get_tenant(pool, tenant_id)).lines


async def test_the_change_and_its_audit_row_commit_together(pool: asyncpg.Pool) -> None:
    tenant = await tenants.create_tenant(pool, "shop", 1)
    actor = Actor.cli("root")
    async with change(pool, actor) as c:
        before = await tenants.set_lines(c.pool, tenant, 3)
        await c.record("tenant.lines", tenant_id=tenant, target=f"tenant {tenant}", before=before, after=3)
    [row] = await audit.recent(pool)
    assert (row.login, row.actor_kind, row.action, row.before, row.after) == ("cli:root", "cli", "tenant.lines", 1, 3)
    assert await _lines(pool, tenant) == 3


async def test_a_change_without_an_audit_row_is_rolled_back(pool: asyncpg.Pool) -> None:
    tenant = await tenants.create_tenant(pool, "shop", 1)
    with pytest.raises(Unaudited):
        async with change(pool, Actor.system("test")) as c:
            await tenants.set_lines(c.pool, tenant, 5)
    assert await _lines(pool, tenant) == 1 and await audit.recent(pool) == []


async def test_a_refusal_after_the_audit_row_keeps_neither(pool: asyncpg.Pool) -> None:
    tenant = await tenants.create_tenant(pool, "shop", 1)
    with pytest.raises(Conflict) as refused:
        async with change(pool, Actor.admin_token("127.0.0.1")) as c:
            await tenants.set_lines(c.pool, tenant, 5)
            await c.record("tenant.lines", tenant_id=tenant)
            await tenants.create_tenant(c.pool, "shop", 1)  # the name is taken
    assert await _lines(pool, tenant) == 1 and await audit.recent(pool) == []
    assert "already exists" in str(refused.value)


async def test_a_tenant_actor_cannot_name_another_tenant(pool: asyncpg.Pool) -> None:
    mine, theirs = await tenants.create_tenant(pool, "mine", 1), await tenants.create_tenant(pool, "theirs", 1)
    actor = Actor.tenant_token(mine)
    assert actor.scope(mine) == mine
    with pytest.raises(NotFound):
        actor.scope(theirs)
    assert Actor.admin_token().scope(theirs) == theirs
