"""International calls and the forwarding fraud guard: platform operations of the service layer.

The admin API and the console used to call the contracts repository, which audited by
itself; now they share ``services.tenants`` like every other change: the actor is
checked, and the write and its audit row are one transaction.
"""

from __future__ import annotations

import asyncpg
import pytest

from daemon.repositories import tenants
from daemon.repositories.forwarding import Guard
from daemon.services import tenants as service
from daemon.services.actor import Actor
from daemon.services.errors import Forbidden, NotFound


async def audit_rows(pool: asyncpg.Pool, tenant_id: int) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT action, before, after FROM audit_log WHERE tenant_id = $1 AND action LIKE 'tenant.%' ORDER BY id",
        tenant_id,
    )


async def test_the_platform_switches_international_and_the_guard_each_with_its_audit_row(pool: asyncpg.Pool) -> None:
    tenant = await tenants.create_tenant(pool, "clinic", 1)
    admin = Actor.cli("root")

    assert await service.set_international(pool, admin, tenant, True) is False
    previous = await service.set_forward_guard(pool, admin, tenant, Guard(max_legs=3, max_minutes=120))

    assert previous == Guard(max_legs=10, max_minutes=600)  # the defaults
    row = await pool.fetchrow(
        "SELECT international, forward_max_legs, forward_max_minutes FROM line_contracts WHERE tenant_id = $1", tenant
    )
    assert row is not None and tuple(row) == (True, 3, 120)
    assert [r["action"] for r in await audit_rows(pool, tenant)] == ["tenant.international", "tenant.forward_guard"]


async def test_a_tenant_cannot_lift_its_own_limits_and_nothing_is_written(pool: asyncpg.Pool) -> None:
    tenant = await tenants.create_tenant(pool, "clinic", 1)
    own = Actor.tenant_token(tenant)

    with pytest.raises(Forbidden):
        await service.set_international(pool, own, tenant, True)
    with pytest.raises(Forbidden):
        await service.set_forward_guard(pool, own, tenant, Guard(max_legs=1000, max_minutes=100000))

    row = await pool.fetchrow("SELECT international, forward_max_legs FROM line_contracts WHERE tenant_id = $1", tenant)
    assert row is not None and tuple(row) == (False, 10)
    assert await audit_rows(pool, tenant) == []


async def test_an_unknown_tenant_is_not_found_and_leaves_no_audit_row(pool: asyncpg.Pool) -> None:
    with pytest.raises(NotFound):
        await service.set_international(pool, Actor.cli("root"), 999_999, True)
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'tenant.international'") == 0
