"""The waiting line in PostgreSQL alone: the order across nodes, who claims what, the notification."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from daemon.calls.waiting.line import WAITING_CHANNEL
from daemon.repositories import groups, nodes, waiting
from tests.factories import counsellor, shop

LIVE = 30.0


async def line(pool: asyncpg.Pool, members: int) -> tuple[int, int, list[int]]:
    """A tenant, its group with a waiting line, and its members (all off duty)."""
    s = await shop(pool)
    ids = [await counsellor(pool, s.tenant_id, f"0801111000{i}", on_duty=False) for i in range(members)]
    group = await groups.create(
        pool, s.tenant_id, code="12", name="g", rate_yen_per_min=600, members=ids, queue_enabled=True
    )
    for node in ("node-a", "node-b"):
        await nodes.heartbeat(pool, node)
    return s.tenant_id, group, ids


async def join(pool: asyncpg.Pool, tenant: int, group: int, node: str, max_length: int = 10) -> uuid.UUID:
    """A call of ``node`` joins the line (a caller id is not needed here); the nil UUID when it is full."""
    call = uuid.uuid4()
    place = await waiting.join(
        pool, waiting.Waiter(tenant, group, call, node, None), max_length=max_length, live_seconds=LIVE
    )
    return call if place is not None else uuid.UUID(int=0)


async def test_each_node_claims_only_what_its_waiters_are_due_in_the_whole_lines_order(pool: asyncpg.Pool) -> None:
    tenant, group, members = await line(pool, 2)
    a1, b1, a2 = [await join(pool, tenant, group, node) for node in ("node-a", "node-b", "node-a")]
    assert [await waiting.position(pool, c, LIVE) for c in (a1, b1, a2)] == [1, 2, 3]
    await pool.execute("UPDATE counsellors SET on_duty = true WHERE id = $1", members[0])
    # the one free member is due to the head of the line, a1 (node A's own)
    first = await waiting.match(pool, group, "node-a", LIVE)
    assert first.claimed == [(a1, members[0])]
    await pool.execute("UPDATE counsellors SET on_duty = true WHERE id = $1", members[1])
    # the next free member is b1's: node A leaves them alone, node B claims them
    assert (await waiting.match(pool, group, "node-a", LIVE)).claimed == []
    assert (await waiting.match(pool, group, "node-b", LIVE)).claimed == [(b1, members[1])]
    claimed = await pool.fetch("SELECT id, current_call FROM counsellors ORDER BY id")
    assert [(r["id"], r["current_call"]) for r in claimed] == [(members[0], a1), (members[1], b1)]
    assert await waiting.leave(pool, a1) == members[0] and await waiting.leave(pool, a2) is None


async def test_a_dead_nodes_waiters_leave_the_line_and_free_their_member(pool: asyncpg.Pool) -> None:
    tenant, group, members = await line(pool, 1)
    b1 = await join(pool, tenant, group, "node-b")
    a1 = await join(pool, tenant, group, "node-a")
    await pool.execute("UPDATE counsellors SET on_duty = true WHERE id = $1", members[0])
    assert (await waiting.match(pool, group, "node-b", LIVE)).claimed == [(b1, members[0])]
    await pool.execute("UPDATE nodes SET heartbeat_at = now() - interval '1 hour' WHERE node_id = 'node-b'")
    assert await waiting.position(pool, a1, LIVE) == 1
    assert (await waiting.match(pool, group, "node-a", LIVE)).claimed == [(a1, members[0])]
    assert await pool.fetchval("SELECT count(*) FROM waiting_calls") == 1


async def test_a_full_line_refuses_the_next(pool: asyncpg.Pool) -> None:
    tenant, group, _ = await line(pool, 1)
    assert await join(pool, tenant, group, "node-a", max_length=2) != uuid.UUID(int=0)
    assert await join(pool, tenant, group, "node-b", max_length=2) != uuid.UUID(int=0)
    assert await join(pool, tenant, group, "node-a", max_length=2) == uuid.UUID(int=0)


async def test_a_member_freed_notifies_the_group_only_while_someone_waits(pool: asyncpg.Pool) -> None:
    tenant, group, members = await line(pool, 1)
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await pool.acquire()

    def hear(*args: object) -> None:
        heard.put_nowait(str(args[3]))

    try:
        await listener.add_listener(WAITING_CHANNEL, hear)
        await pool.execute("UPDATE counsellors SET on_duty = true WHERE id = $1", members[0])
        await pool.execute("UPDATE counsellors SET on_duty = false WHERE id = $1", members[0])
        await join(pool, tenant, group, "node-a")
        await pool.execute("UPDATE counsellors SET on_duty = true WHERE id = $1", members[0])  # back on duty
        call = uuid.uuid4()
        await pool.execute("UPDATE counsellors SET current_call = $2 WHERE id = $1", members[0], call)
        await pool.execute("UPDATE counsellors SET current_call = NULL WHERE id = $1", members[0])  # released
        await asyncio.sleep(0.2)
        assert [heard.get_nowait() for _ in range(heard.qsize())] == [str(group), str(group)]
    finally:
        await listener.remove_listener(WAITING_CHANNEL, hear)
        await pool.release(listener)


async def test_a_caller_back_from_an_unanswered_member_keeps_their_place_and_is_not_handed_them_again(
    pool: asyncpg.Pool,
) -> None:
    tenant, group, members = await line(pool, 2)
    a1, b1 = [await join(pool, tenant, group, node, max_length=2) for node in ("node-a", "node-b")]
    joined_at = await pool.fetchval("SELECT joined_at FROM waiting_calls WHERE call_uuid = $1", a1)
    await waiting.leave(pool, a1)  # handed members[0], who did not answer
    back = await waiting.rejoin(
        pool,
        waiting.Waiter(tenant, group, a1, "node-a", None),
        joined_at=joined_at,
        passed_over=[waiting.Passed(members[0], None)],
        live_seconds=LIVE,
    )
    assert back == 1 and await waiting.position(pool, b1, LIVE) == 2  # the head again (and the line was full)
    await pool.execute("UPDATE counsellors SET on_duty = true WHERE id = $1", members[0])
    # members[0] failed a1: they go to b1, behind; node A claims nothing
    assert (await waiting.match(pool, group, "node-a", LIVE)).claimed == []
    assert (await waiting.match(pool, group, "node-b", LIVE)).claimed == [(b1, members[0])]
    await pool.execute("UPDATE counsellors SET on_duty = true WHERE id = $1", members[1])
    assert (await waiting.match(pool, group, "node-a", LIVE)).claimed == [(a1, members[1])]


async def back(pool: asyncpg.Pool, tenant: int, group: int, *passed: waiting.Passed) -> uuid.UUID:
    """A call of node A that was handed ``passed`` and came back to the end of the line."""
    call = uuid.uuid4()
    joined_at = await pool.fetchval("SELECT clock_timestamp()")
    who = waiting.Waiter(tenant, group, call, "node-a", None)
    await waiting.rejoin(pool, who, joined_at=joined_at, passed_over=passed, live_seconds=LIVE)
    return call


async def on_duty(pool: asyncpg.Pool, *members: int) -> None:
    await pool.execute("UPDATE counsellors SET on_duty = true WHERE id = ANY($1::bigint[])", list(members))


async def test_pairing_skips_the_members_who_failed_a_waiter(pool: asyncpg.Pool) -> None:
    """From the head, each waiter takes the first free member (longest idle, then position) not barred
    from them; a barred member goes to the waiters behind."""
    tenant, group, (m0, m1) = await line(pool, 2)
    c1 = await back(pool, tenant, group, waiting.Passed(m0, None))
    c2 = await back(pool, tenant, group)
    await on_duty(pool, m0, m1)
    assert set((await waiting.match(pool, group, "node-a", LIVE)).claimed) == {(c1, m1), (c2, m0)}


async def test_a_member_barred_from_everyone_waiting_stays_free_for_the_next(pool: asyncpg.Pool) -> None:
    tenant, group, (m0,) = await line(pool, 1)
    c1 = await back(pool, tenant, group, waiting.Passed(m0, None))
    c2 = await back(pool, tenant, group, waiting.Passed(m0, None))
    await on_duty(pool, m0)
    found = await waiting.match(pool, group, "node-a", LIVE)
    assert found.claimed == [] and found.next_look_s is None  # never again: nothing to look again for
    c3 = await back(pool, tenant, group)
    assert (await waiting.match(pool, group, "node-a", LIVE)).claimed == [(c3, m0)]
    assert await waiting.position(pool, c1, LIVE) == 1 and await waiting.position(pool, c2, LIVE) == 2


async def test_a_member_who_did_not_answer_is_handed_to_the_caller_again_once_the_bar_is_lifted(
    pool: asyncpg.Pool,
) -> None:
    """A one-member group: the named counsellor missed the caller; after the bar (here 1 s) the caller is
    handed them again, and the match says when to look (no notification comes when a bar is lifted)."""
    tenant, group, (m0,) = await line(pool, 1)
    c1 = await back(pool, tenant, group, waiting.Passed(m0, 1.0))
    await on_duty(pool, m0)
    found = await waiting.match(pool, group, "node-a", LIVE)
    assert found.claimed == []
    assert found.next_look_s is not None and 0.5 < found.next_look_s <= 1.0
    await asyncio.sleep(found.next_look_s + 0.05)
    assert (await waiting.match(pool, group, "node-a", LIVE)).claimed == [(c1, m0)]


async def test_an_expired_bar_is_not_kept_when_the_caller_comes_back(pool: asyncpg.Pool) -> None:
    tenant, group, (m0,) = await line(pool, 1)
    c1 = await back(pool, tenant, group, waiting.Passed(m0, -1.0))  # lifted before the caller is back
    await on_duty(pool, m0)
    assert (await waiting.match(pool, group, "node-a", LIVE)).claimed == [(c1, m0)]
