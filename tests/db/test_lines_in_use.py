"""The lines in use that admission reads (``lines_in_use``, sql/031) against the rows that hold them.

Whatever takes or frees a line (admission alone and in batches, the release alone and in
batches, housekeeping's sweeps, a node's restart, plain SQL, TRUNCATE), the number is
the count of the tenant's ``active_calls`` rows, and admission decides on it.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path

import asyncpg

from daemon.postgres.migrate import migrate, migration_files
from daemon.repositories import admission, nodes, tenants
from daemon.repositories.admission import Outcome
from tests.db.earlier_schema import schema_before

A, B = "0312345678", "0312340000"


async def shop(pool: asyncpg.Pool, lines: int, number: str) -> int:
    tenant_id = await tenants.create_tenant(pool, f"t-{uuid.uuid4().hex[:6]}", lines)
    await tenants.add_number(pool, tenant_id, number, "ivr")
    return tenant_id


async def counted(conn: asyncpg.Pool | asyncpg.Connection) -> dict[int, tuple[int, int]]:
    """Per tenant: (the number admission reads, the rows that hold lines)."""
    rows = await conn.fetch(
        "SELECT t.id, coalesce(u.in_use, 0) AS in_use,"
        " (SELECT count(*) FROM active_calls a WHERE a.tenant_id = t.id) AS rows"
        " FROM tenants t LEFT JOIN lines_in_use u ON u.tenant_id = t.id"
    )
    return {r["id"]: (r["in_use"], r["rows"]) for r in rows}


async def assert_counted(conn: asyncpg.Pool | asyncpg.Connection, expected: dict[int, int]) -> None:
    assert await counted(conn) == {tenant: (n, n) for tenant, n in expected.items()}


async def test_every_way_of_taking_and_freeing_a_line_keeps_the_number(pool: asyncpg.Pool) -> None:
    a, b = await shop(pool, 10, A), await shop(pool, 10, B)
    await nodes.register(pool, "n1")
    calls_a = [uuid.uuid4() for _ in range(6)]
    calls_b = [uuid.uuid4() for _ in range(4)]
    for call in calls_a[:2]:
        assert (await admission.admit(pool, call, A, "n1")).outcome is Outcome.ADMITTED
    admitter = admission.BatchAdmitter()
    batch = await asyncio.gather(*(admitter.admit(pool, c, A, "n1", None) for c in calls_a[2:]))
    assert [d.in_use for d in batch] == [3, 4, 5, 6]  # each call sees the lines the calls before it took
    for call in calls_b:
        await admission.admit(pool, call, B, "n2")
    await assert_counted(pool, {a: 6, b: 4})

    assert (await admission.admit(pool, calls_a[0], A, "n1")).in_use == 6  # admitted again: no second line
    assert await admission.release(pool, calls_a[0])
    assert not await admission.release(pool, calls_a[0])
    await assert_counted(pool, {a: 5, b: 4})

    releaser = admission.BatchReleaser()  # one batch with both tenants' calls, and one that held none
    await asyncio.gather(*(releaser.release(pool, c) for c in [calls_a[1], calls_b[0], uuid.uuid4()]))
    await assert_counted(pool, {a: 4, b: 3})

    assert await nodes.free_orphans(pool, "n1", [str(calls_a[2])], 0.0) == 3  # housekeeping's sweep
    await assert_counted(pool, {a: 1, b: 3})

    await pool.execute(
        "INSERT INTO active_calls (call_uuid, tenant_id, node_id, number)"
        " VALUES ($1, $2, 'n3', $3), ($4, $5, 'n3', $6)",
        uuid.uuid4(),
        a,
        A,
        uuid.uuid4(),
        b,
        B,
    )
    await assert_counted(pool, {a: 2, b: 4})
    await pool.execute("DELETE FROM active_calls WHERE node_id = 'n3'")
    await assert_counted(pool, {a: 1, b: 3})

    assert await nodes.register(pool, "n2") == 3  # node n2 restarted: its old lines freed
    await assert_counted(pool, {a: 1, b: 0})
    await pool.execute("TRUNCATE active_calls")
    await assert_counted(pool, {a: 0, b: 0})
    assert (await admission.admit(pool, uuid.uuid4(), A, "n1")).in_use == 1


async def test_admission_decides_on_the_number(pool: asyncpg.Pool) -> None:
    """Lines full → busy; a line given back → the next call is admitted; lines raised → at once."""
    tenant = await shop(pool, 2, A)
    first, second = uuid.uuid4(), uuid.uuid4()
    for call in (first, second):
        assert (await admission.admit(pool, call, A, "n1")).outcome is Outcome.ADMITTED
    busy = await admission.admit(pool, uuid.uuid4(), A, "n1")
    assert (busy.outcome, busy.lines, busy.in_use) == (Outcome.BUSY, 2, 2)
    await admission.release(pool, first)
    assert (await admission.admit(pool, uuid.uuid4(), A, "n1")).outcome is Outcome.ADMITTED
    await tenants.set_lines(pool, tenant, 3)
    raised = await admission.admit(pool, uuid.uuid4(), A, "n1")
    assert (raised.outcome, raised.in_use) == (Outcome.ADMITTED, 3)
    await assert_counted(pool, {tenant: 3})


async def test_a_line_comes_back_while_the_contract_is_locked(pool: asyncpg.Pool) -> None:
    """The release does not wait for the contract's lock, which admissions and contract changes hold."""
    tenant = await shop(pool, 3, A)
    call = uuid.uuid4()
    await admission.admit(pool, call, A, "n1")
    async with pool.acquire() as locker, locker.transaction():
        await locker.execute("SELECT 1 FROM line_contracts WHERE tenant_id = $1 FOR UPDATE", tenant)
        assert await asyncio.wait_for(admission.release(pool, call), 2.0)
        await assert_counted(pool, {tenant: 0})


async def test_racing_nodes_keep_the_number_and_the_limit(db_dsn: str) -> None:
    """Two pools (two nodes) admit and release at random on two tenants: never more calls than
    lines at any admission, and the number equals the rows at the end."""
    pools = [await asyncpg.create_pool(db_dsn, min_size=8, max_size=8) for _ in range(2)]
    try:
        a, b = await shop(pools[0], 5, A), await shop(pools[0], 3, B)
        limits = {A: 5, B: 3}
        rng = random.Random(22)

        async def caller(i: int) -> list[int]:
            seen = []
            number = A if i % 2 else B
            for _ in range(15):
                call = uuid.uuid4()
                decision = await admission.admit(pools[i % 2], call, number, f"node{i % 2}")
                if decision.outcome is Outcome.ADMITTED:
                    seen.append(decision.in_use)
                    assert decision.in_use <= limits[number]
                    await asyncio.sleep(rng.random() / 100)
                    if rng.random() < 0.9:  # the rest stay up
                        await admission.release(pools[(i + 1) % 2], call)
            return seen

        admitted = await asyncio.gather(*(caller(i) for i in range(16)))
        assert sum(len(s) for s in admitted) > 30  # the race did admit calls on both tenants
        final = await counted(pools[0])
        assert final[a][0] == final[a][1] <= 5
        assert final[b][0] == final[b][1] <= 3
    finally:
        for p in pools:
            await p.close()


async def test_the_upgrade_counts_the_calls_already_up(pg_server: str, tmp_path: Path) -> None:
    async with schema_before(pg_server, tmp_path, 31) as conn:
        tenant = await conn.fetchval("INSERT INTO tenants (name) VALUES ('up') RETURNING id")
        await conn.execute("INSERT INTO line_contracts (tenant_id, lines) VALUES ($1, 3)", tenant)
        await conn.execute("INSERT INTO numbers (number, tenant_id, product) VALUES ($1, $2, 'ivr')", A, tenant)
        for _ in range(2):
            await conn.fetchrow("SELECT * FROM admit_call($1, $2, 'n1')", uuid.uuid4(), A)
        assert await migrate(conn) == [p.stem for p in migration_files() if int(p.name[:3]) >= 31]
        await assert_counted(conn, {tenant: 2})
        after = [await conn.fetchrow("SELECT * FROM admit_call($1, $2, 'n1')", uuid.uuid4(), A) for _ in range(2)]
        assert [(r["outcome"], r["in_use"]) for r in after if r is not None] == [("admitted", 3), ("busy", 3)]
