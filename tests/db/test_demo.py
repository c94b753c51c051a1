"""The demo shop of `make run` is complete, created once, and never half-built."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from daemon.demo import seed as demo
from daemon.repositories import callers, groups, tenants


async def test_demo_shop_is_ready_to_call_and_idempotent(pool: asyncpg.Pool) -> None:
    first = await demo.ensure_demo(pool)
    assert await demo.ensure_demo(pool) == first
    caller = await callers.caller_by_number(pool, first, demo.CALLER)
    assert caller is not None and caller.billing == "prepaid" and caller.balance_yen == 3000
    group = await groups.group_by_code(pool, first, "1")
    assert group is not None and group.tariff.rate_yen_per_min == 300
    assert await pool.fetchval("SELECT count(*) FROM tenants") == 1
    assert await pool.fetchval("SELECT count(*) FROM ledger") == 1


async def test_later_starts_burn_no_tenant_id(pool: asyncpg.Pool) -> None:
    demo_id = await demo.ensure_demo(pool)
    for _ in range(3):
        await demo.ensure_demo(pool)
    assert await tenants.create_tenant(pool, "next", 1) == demo_id + 1


async def test_nodes_starting_together_make_one_shop(pool: asyncpg.Pool) -> None:
    ids = await asyncio.gather(*(demo.ensure_demo(pool) for _ in range(4)))
    assert len(set(ids)) == 1
    assert await pool.fetchval("SELECT count(*) FROM tenants") == 1


async def test_a_taken_demo_number_fails_cleanly_and_leaves_nothing(pool: asyncpg.Pool) -> None:
    other = await tenants.create_tenant(pool, "acme", 1)
    await tenants.add_number(pool, other, demo.NUMBER, "ivr")
    for _ in range(2):
        with pytest.raises(demo.DemoConflict, match=r"0312345678.*'acme'.*CALLD_DEMO=false"):
            await demo.ensure_demo(pool)
    assert await pool.fetchval("SELECT count(*) FROM tenants WHERE name = 'demo'") == 0
    assert await pool.fetchval("SELECT count(*) FROM callers") == 0


async def test_a_failure_half_way_rolls_the_whole_shop_back(pool: asyncpg.Pool) -> None:
    # The group insert fails (its table refuses every row); nothing before it may stay.
    await pool.execute("ALTER TABLE counsellor_groups ADD CONSTRAINT no_groups CHECK (false) NOT VALID")
    with pytest.raises(ValueError, match="no_groups"):
        await demo.ensure_demo(pool)
    for table in ("tenants", "numbers", "callers", "ledger", "counsellors", "line_contracts"):
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    await pool.execute("ALTER TABLE counsellor_groups DROP CONSTRAINT no_groups")
    assert await demo.ensure_demo(pool) > 0
