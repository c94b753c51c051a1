"""The fraud guard inside PostgreSQL: ``open_forward_legs`` (sql/030) as many openers at once see it.

The end-to-end tests (test_forward_policy_e2e.py) hold the guard across two daemons;
these hold its statement to the limits directly, with more openers at once than a
test call flow can make.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from daemon.repositories import forwarding, tenants
from daemon.repositories.forwarding import CONCURRENT_LEGS, DAILY_MINUTES, Guard
from daemon.rules.ivr.tariff import ForwardTariff
from daemon.services import tenants as tenant_service
from daemon.services.actor import Actor
from tests.ivr.test_forwarding_e2e import SHOP_A

DAY = 1_795_532_400_000_000  # 2026-11-25 00:00 Asia/Tokyo, in µs


async def guarded_tenant(pool: asyncpg.Pool, guard: Guard, name: str = "clinic") -> int:
    """A tenant whose fraud guard the platform admin set to ``guard`` (the service, as the console does)."""
    tenant = await tenants.create_tenant(pool, name, 1)
    await tenant_service.set_forward_guard(pool, Actor.cli("root"), tenant, guard)
    return tenant


async def open_one(pool: asyncpg.Pool, tenant: int, legs: int = 1, at_us: int = DAY + 3_600_000_000) -> str | None:
    return await forwarding.open_legs(
        pool,
        [(uuid.uuid4(), SHOP_A) for _ in range(legs)],
        call_uuid=uuid.uuid4(),
        tenant_id=tenant,
        node_id="n1",
        flow_node="fwd",
        tariff=ForwardTariff(30, 12),
        created_us=at_us,
        day_start_us=DAY,
    )


async def test_openers_at_once_take_exactly_the_legs_the_guard_allows(pool: asyncpg.Pool) -> None:
    tenant = await guarded_tenant(pool, Guard(max_legs=5, max_minutes=600))
    other = await guarded_tenant(pool, Guard(max_legs=5, max_minutes=600), "pharmacy")

    async with pool.acquire() as holder:  # the tenant's guard lock, as another opener holding it would
        await holder.execute("SELECT pg_advisory_lock(hashtext($1))", f"forward_guard:{tenant}")
        assert await open_one(pool, other, legs=2) is None  # another tenant's lock is another lock
        waiting = asyncio.gather(*(open_one(pool, tenant) for _ in range(30)))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # every opener waits for the lock, inside its one statement
        assert await holder.fetchval("SELECT count(*) FROM forward_legs WHERE tenant_id = $1", tenant) == 0
        await holder.execute("SELECT pg_advisory_unlock(hashtext($1))", f"forward_guard:{tenant}")
    answers = await waiting

    assert answers.count(None) == 5
    assert answers.count(CONCURRENT_LEGS) == 25
    rows = await pool.fetch("SELECT state, unit_seconds, yen_per_unit FROM forward_legs WHERE tenant_id = $1", tenant)
    assert [tuple(r) for r in rows] == [("ringing", 30, 12)] * 5
    refused = await pool.fetch("SELECT reason, flow_node, number FROM forward_refusals WHERE tenant_id = $1", tenant)
    assert [tuple(r) for r in refused] == [(CONCURRENT_LEGS, "fwd", "")] * 25
    assert await forwarding.usage(pool, tenant, day_start_us=DAY, now_us=DAY) == forwarding.Usage(5, 0)


async def test_a_forward_of_more_legs_than_are_left_writes_none_of_them(pool: asyncpg.Pool) -> None:
    tenant = await guarded_tenant(pool, Guard(max_legs=3, max_minutes=600))
    assert await open_one(pool, tenant, legs=2) is None
    assert await open_one(pool, tenant, legs=2) == CONCURRENT_LEGS
    assert await open_one(pool, tenant, legs=1) is None
    assert await pool.fetchval("SELECT count(*) FROM forward_legs WHERE tenant_id = $1", tenant) == 3


async def test_the_day_s_talk_counts_ended_legs_billed_and_open_ones_up_to_now(pool: asyncpg.Pool) -> None:
    tenant = await guarded_tenant(pool, Guard(max_legs=10, max_minutes=2))
    yesterday = await open_one(pool, tenant, at_us=DAY - 600_000_000)
    assert yesterday is None
    (old,) = await pool.fetch("SELECT leg_uuid FROM forward_legs WHERE tenant_id = $1", tenant)
    await forwarding.mark_answered(pool, old["leg_uuid"], DAY - 500_000_000)  # answered before the day began
    assert await open_one(pool, tenant) is None
    leg = await pool.fetchval(
        "SELECT leg_uuid FROM forward_legs WHERE tenant_id = $1 AND leg_uuid <> $2", tenant, old[0]
    )
    talk_from = DAY + 3_600_000_000
    await forwarding.mark_answered(pool, leg, talk_from)

    # 119 s into a talk still going: under 2 minutes, so a second forward opens
    assert await open_one(pool, tenant, at_us=talk_from + 119_900_000) is None
    # at 120 s the day's minutes are used up: refused, and told which limit
    assert await open_one(pool, tenant, at_us=talk_from + 120_000_000) == DAILY_MINUTES
    assert await forwarding.usage(pool, tenant, day_start_us=DAY, now_us=talk_from + 120_000_000) == forwarding.Usage(
        3, 120
    )
