"""The demo shop of `make run` is complete, and created once."""

from __future__ import annotations

import asyncpg

from daemon.db import demo, directory


async def test_demo_shop_is_ready_to_call_and_idempotent(pool: asyncpg.Pool) -> None:
    first = await demo.ensure_demo(pool)
    assert await demo.ensure_demo(pool) == first
    caller = await directory.caller_by_number(pool, first, demo.CALLER)
    assert caller is not None and caller.billing == "prepaid" and caller.balance_yen == 3000
    group = await directory.group_by_code(pool, first, "1")
    assert group is not None and group.tariff.rate_yen_per_min == 300
    assert await pool.fetchval("SELECT count(*) FROM tenants") == 1
    assert await pool.fetchval("SELECT count(*) FROM ledger") == 1
