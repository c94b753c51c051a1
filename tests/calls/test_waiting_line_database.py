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
        passed_over=[members[0]],
        live_seconds=LIVE,
    )
    assert back == 1 and await waiting.position(pool, b1, LIVE) == 2  # the head again (and the line was full)
    await pool.execute("UPDATE counsellors SET on_duty = true WHERE id = $1", members[0])
    # members[0] failed a1: they go to b1, behind; node A claims nothing
    assert (await waiting.match(pool, group, "node-a", LIVE)).claimed == []
    assert (await waiting.match(pool, group, "node-b", LIVE)).claimed == [(b1, members[0])]
    await pool.execute("UPDATE counsellors SET on_duty = true WHERE id = $1", members[1])
    assert (await waiting.match(pool, group, "node-a", LIVE)).claimed == [(a1, members[1])]


def test_pairing_skips_the_members_who_failed_a_waiter() -> None:
    c1, c2, c3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert waiting.pair([(c1, frozenset()), (c2, frozenset())], [7]) == [(c1, 7)]
    assert waiting.pair([(c1, frozenset({7})), (c2, frozenset())], [7, 8]) == [(c1, 8), (c2, 7)]
    assert waiting.pair([(c1, frozenset({7})), (c2, frozenset({7})), (c3, frozenset())], [7]) == [(c3, 7)]
    assert waiting.pair([(c1, frozenset({7}))], [7]) == []
