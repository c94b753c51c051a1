"""The groups a caller short of money hears instead: gathered by the database, named as a group-by-group look would.

:func:`daemon.calls.purse.groups_within_reach` reads the tenant's groups as the
database gathers them by money (``hunting.money_shapes``: a handful of rows for
1,000 groups).  What it names must be what checking every group of
``hunting.group_rates`` one by one names: the first three in menu order (shorter
codes first) that have someone on duty whom the money covers for the group's
minimum talk, the chosen group left out.
"""

from __future__ import annotations

import random

import asyncpg
import pytest

from daemon.calls import purse
from daemon.calls.cutoff import wall_us
from daemon.repositories import groups, hunting
from daemon.rules.billing.affordable import Purse
from tests.factories import counsellor, shop


async def one_by_one(pool: asyncpg.Pool, tenant_id: int, money_now: Purse, other_than: int) -> list[str]:
    """Every group read and checked on its own, in menu order."""
    every = await hunting.group_rates(pool, tenant_id)
    within = [g.code for g in every if g.id != other_than and g.rates and purse.within_reach(money_now, g)]
    return within[: purse.GROUPS_NAMED]


async def random_tenant(pool: asyncpg.Pool, rng: random.Random) -> tuple[int, list[int]]:
    """Up to 40 groups at a few rates, minimum talks and free seconds; one or two members each, some off duty."""
    s = await shop(pool)
    codes = rng.sample([str(n) for n in range(1, 400)] + ["0", "01", "012", "07"], rng.randint(1, 40))
    ids = []
    for i, code in enumerate(codes):
        members = []
        for j in range(rng.randint(1, 2)):
            own = rng.choice([None, None, 300, 3000])
            members.append(
                await counsellor(pool, s.tenant_id, f"c{i}-{j}", rate_yen_per_min=own, on_duty=rng.random() < 0.7)
            )
        ids.append(
            await groups.create(
                pool,
                s.tenant_id,
                code=code,
                name=f"group {code}",
                rate_yen_per_min=rng.choice([100, 600, 600, 1000]),
                members=members,
                minimum_talk_seconds=rng.choice([10, 60]),
                free_seconds=rng.choice([0, 0, 30]),
            )
        )
    return s.tenant_id, ids


@pytest.mark.parametrize("seed", range(12))
async def test_the_gathered_groups_name_what_a_look_at_every_group_names(pool: asyncpg.Pool, seed: int) -> None:
    rng = random.Random(seed)
    tenant_id, ids = await random_tenant(pool, rng)
    named = set()
    for yen in (0, 50, 150, 700, 5000):
        money_now = Purse(yen, [], wall_us())
        for chosen in rng.sample(ids, min(4, len(ids))):
            expected = await one_by_one(pool, tenant_id, money_now, chosen)
            got = await purse.groups_within_reach(pool, tenant_id, money_now, other_than=chosen)
            assert got == expected, (yen, chosen)
            named.update(got)
    assert named or len(ids) < 3  # the seeds reach groups: the comparison is not of empty lists only


async def test_a_shape_shared_by_many_groups_names_its_first_three_but_the_chosen(pool: asyncpg.Pool) -> None:
    """Five groups alike in money: the chosen one (the first) is skipped, the next three are named in menu order."""
    s = await shop(pool)
    ids = {}
    for code in ("5", "10", "2", "30", "100"):
        member = await counsellor(pool, s.tenant_id, f"c{code}")
        ids[code] = await groups.create(
            pool, s.tenant_id, code=code, name=f"g{code}", rate_yen_per_min=600, members=[member]
        )
    off = await counsellor(pool, s.tenant_id, "off", on_duty=False)
    await groups.create(pool, s.tenant_id, code="1", name="nobody on duty", rate_yen_per_min=600, members=[off])
    money_now = Purse(600, [], wall_us())  # a minute at 600 yen
    assert await purse.groups_within_reach(pool, s.tenant_id, money_now, other_than=ids["2"]) == ["5", "10", "30"]
    assert await purse.groups_within_reach(pool, s.tenant_id, Purse(599, [], wall_us()), other_than=ids["2"]) == []
