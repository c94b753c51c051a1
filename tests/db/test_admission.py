"""Line admission against the real PostgreSQL: atomic across pools (nodes), released on every path."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from daemon.postgres.deadline import within
from daemon.repositories import admission, block_list, nodes, tenants
from daemon.repositories.admission import Outcome


async def make_tenant(pool: asyncpg.Pool, lines: int, number: str = "0312345678") -> int:
    tenant_id = await tenants.create_tenant(pool, f"t-{uuid.uuid4().hex[:6]}", lines)
    await tenants.add_number(pool, tenant_id, number, "coaching")
    return tenant_id


async def test_unknown_number_is_not_in_service(pool: asyncpg.Pool) -> None:
    result = await admission.admit(pool, uuid.uuid4(), "0399999999", "n1")
    assert result.outcome is Outcome.NOT_IN_SERVICE
    assert result.tenant_id is None


async def test_twenty_calls_three_lines_two_nodes(db_dsn: str) -> None:
    """Two independent pools race like two daemon nodes: exactly 3 lines are taken."""
    pools = [await asyncpg.create_pool(db_dsn, min_size=10, max_size=10) for _ in range(2)]
    try:
        assert all(pools)
        await make_tenant(pools[0], 3)
        calls = [uuid.uuid4() for _ in range(20)]
        results = await asyncio.gather(
            *(admission.admit(pools[i % 2], c, "0312345678", f"node{i % 2}") for i, c in enumerate(calls))
        )
        admitted = [c for c, r in zip(calls, results, strict=True) if r.outcome is Outcome.ADMITTED]
        assert len(admitted) == 3
        assert sum(r.outcome is Outcome.BUSY for r in results) == 17
        await asyncio.gather(*(admission.release(pools[0], c) for c in admitted))
        assert await pools[0].fetchval("SELECT count(*) FROM active_calls") == 0
    finally:
        for p in pools:
            await p.close()


async def test_readmission_of_the_same_call_is_idempotent(pool: asyncpg.Pool) -> None:
    await make_tenant(pool, 1)
    call = uuid.uuid4()
    assert (await admission.admit(pool, call, "0312345678", "n1")).outcome is Outcome.ADMITTED
    assert (await admission.admit(pool, call, "0312345678", "n1")).outcome is Outcome.ADMITTED
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 1
    assert await admission.release(pool, call)
    assert not await admission.release(pool, call)


async def test_changed_line_count_applies_to_the_next_call(pool: asyncpg.Pool) -> None:
    tenant_id = await make_tenant(pool, 1)
    first = await admission.admit(pool, uuid.uuid4(), "0312345678", "n1")
    assert first.outcome is Outcome.ADMITTED
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "n1")).outcome is Outcome.BUSY
    assert await tenants.set_lines(pool, tenant_id, 2) == 1
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "n1")).outcome is Outcome.ADMITTED
    history = await pool.fetch("SELECT old_lines, new_lines FROM line_contract_changes ORDER BY id")
    assert [(r["old_lines"], r["new_lines"]) for r in history] == [(None, 1), (1, 2)]
    # lowering below the live count refuses new calls but keeps the live ones
    await tenants.set_lines(pool, tenant_id, 0)
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "n1")).outcome is Outcome.BUSY
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 2


async def test_restarted_node_frees_its_old_lines(pool: asyncpg.Pool) -> None:
    await make_tenant(pool, 5)
    await nodes.register(pool, "n1")
    for _ in range(3):
        await admission.admit(pool, uuid.uuid4(), "0312345678", "n1")
    await admission.admit(pool, uuid.uuid4(), "0312345678", "n2")
    assert await nodes.register(pool, "n1") == 3
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 1


async def test_dead_node_lines_are_reaped_by_heartbeat_age(pool: asyncpg.Pool) -> None:
    await make_tenant(pool, 5)
    await nodes.register(pool, "alive")
    await nodes.register(pool, "dead")
    await admission.admit(pool, uuid.uuid4(), "0312345678", "alive")
    await admission.admit(pool, uuid.uuid4(), "0312345678", "dead")
    await pool.execute("UPDATE nodes SET heartbeat_at = now() - interval '1 minute' WHERE node_id = 'dead'")
    assert await nodes.reap_dead(pool, 30.0) == 1
    assert await pool.fetchval("SELECT node_id FROM active_calls") == "alive"


async def test_orphaned_lines_of_this_node_are_freed(pool: asyncpg.Pool) -> None:
    await make_tenant(pool, 5)
    live, lost = uuid.uuid4(), uuid.uuid4()
    await admission.admit(pool, live, "0312345678", "n1")
    await admission.admit(pool, lost, "0312345678", "n1")
    assert await nodes.free_orphans(pool, "n1", [str(live), str(lost)], 0.0) == 0
    assert await nodes.free_orphans(pool, "n1", [str(live)], 3600.0) == 0  # too young to judge
    assert await nodes.free_orphans(pool, "n1", [str(live)], 0.0) == 1
    assert await pool.fetchval("SELECT call_uuid FROM active_calls") == live


async def test_batched_release_answers_each_call(pool: asyncpg.Pool) -> None:
    await make_tenant(pool, 50)
    calls = [uuid.uuid4() for _ in range(30)]
    for call in calls[:20]:
        await admission.admit(pool, call, "0312345678", "n1")
    releaser = admission.BatchReleaser()
    results = await asyncio.gather(*(releaser.release(pool, c) for c in calls))
    assert results == [True] * 20 + [False] * 10  # the last 10 never held a line
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0
    assert await releaser.release(pool, calls[0]) is False


async def test_restart_keeps_the_line_of_a_bridge_that_outlived_the_node(pool: asyncpg.Pool) -> None:
    from daemon.repositories import call_records, callers
    from daemon.rules.billing.charges import Tariff
    from tests.factories import prepaid_caller

    tenant_id = await make_tenant(pool, 5)
    caller_id = await prepaid_caller(pool, tenant_id, yen=1000)
    who = await callers.caller(pool, caller_id)
    assert who is not None
    talking, idle = uuid.uuid4(), uuid.uuid4()
    for call in (talking, idle):
        await admission.admit(pool, call, "0312345678", "n1")
    await call_records.open_record(
        pool,
        talking,
        tenant_id=tenant_id,
        node_id="n1",
        caller=who,
        caller_number="",
        group_id=None,
        tariff=Tariff(60),
        created_us=0,
    )
    await call_records.mark_talking(
        pool,
        talking,
        counsellor_id=None,
        counsellor_leg=uuid.uuid4(),
        answer_us=0,
        rate_yen_per_min=60,
        caller_id=caller_id,
    )
    assert await nodes.register(pool, "n1") == 1
    assert await nodes.free_orphans(pool, "n1", [], 0.0) == 0
    assert await pool.fetchval("SELECT call_uuid FROM active_calls") == talking


async def test_a_release_does_not_wait_behind_a_batch_on_its_round_trip(pool: asyncpg.Pool) -> None:
    """One call's row locked (its batch's round trip hangs): a call ending meanwhile is released at once."""
    await make_tenant(pool, 5)
    slow, quick = uuid.uuid4(), uuid.uuid4()
    for call in (slow, quick):
        await admission.admit(pool, call, "0312345678", "n1")
    releaser = admission.BatchReleaser()
    async with pool.acquire() as locker, locker.transaction():
        await locker.execute("SELECT 1 FROM active_calls WHERE call_uuid = $1 FOR UPDATE", slow)
        held = asyncio.ensure_future(releaser.release(pool, slow))
        await asyncio.sleep(0.2)  # its batch is on its round trip, waiting for the row
        assert await asyncio.wait_for(releaser.release(pool, quick), 2) is True
        assert not held.done()
    assert await held is True
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0


async def test_two_batches_under_way_at_most(pool: asyncpg.Pool) -> None:
    """Two batches hang on locked rows: a third call waits for one of them, not for a third connection."""
    await make_tenant(pool, 5)
    calls = [uuid.uuid4() for _ in range(3)]
    for call in calls:
        await admission.admit(pool, call, "0312345678", "n1")
    releaser = admission.BatchReleaser()
    async with pool.acquire() as locker, locker.transaction():
        await locker.execute("SELECT 1 FROM active_calls WHERE call_uuid = ANY($1::uuid[]) FOR UPDATE", calls[:2])
        first = asyncio.ensure_future(releaser.release(pool, calls[0]))
        await asyncio.sleep(0.2)
        second = asyncio.ensure_future(releaser.release(pool, calls[1]))
        await asyncio.sleep(0.2)
        third = asyncio.ensure_future(releaser.release(pool, calls[2]))
        await asyncio.sleep(0.5)
        assert not (first.done() or second.done() or third.done())
        assert await pool.fetchval("SELECT count(*) FROM active_calls") == 3
    assert list(await asyncio.gather(first, second, third)) == [True, True, True]
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0


async def test_calls_arriving_together_are_admitted_in_one_statement(pool: asyncpg.Pool) -> None:
    await make_tenant(pool, 3)
    admitter = admission.BatchAdmitter()
    calls = [uuid.uuid4() for _ in range(10)]
    results = await asyncio.gather(*(admitter.admit(pool, c, "0312345678", "n1", "09011112222") for c in calls))
    assert admitter.statements == 1
    assert [r.outcome for r in results] == [Outcome.ADMITTED] * 3 + [Outcome.BUSY] * 7  # in arrival order
    assert [r.in_use for r in results] == [1, 2, 3] + [3] * 7
    assert {r.product for r in results} == {"coaching"}
    assert {r["call_uuid"] for r in await pool.fetch("SELECT call_uuid FROM active_calls")} == set(calls[:3])


async def test_two_nodes_batching_take_exactly_the_lines(db_dsn: str) -> None:
    pools = [await asyncpg.create_pool(db_dsn, min_size=2, max_size=5) for _ in range(2)]
    try:
        await make_tenant(pools[0], 3)
        admitters = [admission.BatchAdmitter(), admission.BatchAdmitter()]
        calls = [uuid.uuid4() for _ in range(40)]
        results = await asyncio.gather(
            *(admitters[i % 2].admit(pools[i % 2], c, "0312345678", f"node{i % 2}") for i, c in enumerate(calls))
        )
        assert sum(r.outcome is Outcome.ADMITTED for r in results) == 3
        assert await pools[0].fetchval("SELECT count(*) FROM active_calls") == 3
        assert admitters[0].statements == admitters[1].statements == 1
    finally:
        for p in pools:
            await p.close()


async def test_a_batch_answers_each_call_its_own_outcome(pool: asyncpg.Pool) -> None:
    tenant_id = await make_tenant(pool, 2)
    await block_list.add(pool, tenant_id, caller="09099990000", number=None, note="")
    admitter = admission.BatchAdmitter()
    callers = ["09099990000", None, "09011112222", "09099990000", "09033334444"]
    calls = [uuid.uuid4() for _ in callers]
    results = await asyncio.gather(
        *(admitter.admit(pool, c, "0312345678", "n1", who) for c, who in zip(calls, callers, strict=True)),
        admitter.admit(pool, uuid.uuid4(), "0399999999", "n1", "09011112222"),  # a batch of its own
    )
    assert [r.outcome for r in results] == [
        Outcome.BLOCKED,  # no line taken, even with lines free
        Outcome.ADMITTED,  # withheld: blocked only if 'anonymous' is listed
        Outcome.ADMITTED,
        Outcome.BLOCKED,
        Outcome.BUSY,
        Outcome.NOT_IN_SERVICE,
    ]
    assert admitter.statements == 2
    assert results[0].tenant_id == results[4].tenant_id == tenant_id and results[5].tenant_id is None


async def test_a_failed_batch_fails_each_of_its_calls(db_dsn: str) -> None:
    closed = await asyncpg.create_pool(db_dsn, min_size=1, max_size=1)
    await closed.close()
    admitter = admission.BatchAdmitter()
    results = await asyncio.gather(
        *(admitter.admit(closed, uuid.uuid4(), "0312345678", "n1") for _ in range(3)), return_exceptions=True
    )
    assert len(results) == 3 and all(isinstance(r, asyncpg.InterfaceError) for r in results)


async def test_a_call_given_up_on_ends_only_after_its_batch_took_the_line(pool: asyncpg.Pool) -> None:
    """``within`` gives up on a hung admission; its undo must come after the line was taken, not before."""
    tenant_id = await make_tenant(pool, 5)
    admitter = admission.BatchAdmitter()
    call = uuid.uuid4()
    seen: list[int] = []
    undone = asyncio.Event()

    def abandoned() -> None:
        seen.append(0)
        undone.set()

    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM line_contracts WHERE tenant_id = $1 FOR UPDATE", tenant_id)
        with pytest.raises(TimeoutError):
            await within(0.2, admitter.admit(pool, call, "0312345678", "n1"), abandoned=abandoned)
        await asyncio.sleep(0.2)
        assert not seen  # the batch still waits for the lock: the undo would come too early
    await asyncio.wait_for(undone.wait(), 5)
    assert await pool.fetchval("SELECT count(*) FROM active_calls WHERE call_uuid = $1", call) == 1


async def test_batches_waiting_for_their_turn_take_the_calls_that_arrive_meanwhile(pool: asyncpg.Pool) -> None:
    """The limit on batches at once (the pool kept for releases): a batch waiting for its turn
    keeps gathering calls, so a burst takes one round trip more, not one per loop turn."""
    await make_tenant(pool, 50)
    turns = asyncio.Semaphore(1)
    admitter = admission.BatchAdmitter(turns)
    await turns.acquire()  # another batch on the database
    first = [asyncio.ensure_future(admitter.admit(pool, uuid.uuid4(), "0312345678", "n1")) for _ in range(3)]
    await asyncio.sleep(0.05)  # several loop turns: later calls join the waiting batch
    later = [asyncio.ensure_future(admitter.admit(pool, uuid.uuid4(), "0312345678", "n1")) for _ in range(4)]
    await asyncio.sleep(0.05)
    assert not any(f.done() for f in first + later)
    turns.release()
    results = await asyncio.wait_for(asyncio.gather(*first, *later), 5)
    assert [r.outcome for r in results] == [Outcome.ADMITTED] * 7
    assert admitter.statements == 1
    assert turns.locked() is False  # the batch gave its turn back
