"""The waiting line of a Coaching Dial group: one row per waiting caller, whatever node holds the call.

Order is ``(joined_at, id)`` across every node.  A node serves only its own
waiters (it holds their calls), and only in the order of the whole line:
:func:`match` pairs the line's head with the group's free members under a
per-group lock and claims, for this node's waiters alone, the member their
place in the line gives them.  Another node's waiter keeps its member free for
that node, which does the same when it hears of the change.  Nothing is claimed
on behalf of a node that may be gone; the rows of a node whose heartbeat
stopped leave the line.

A claim is the hunt's own (``counsellors.current_call`` = the waiter's call),
so no other call, of any group on any node, can take the member meanwhile;
``offered_to`` remembers it until the bridge takes over (:func:`leave`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from daemon.repositories.counsellors import DEFAULT_DIAL_TEMPLATE, dial_string
from daemon.repositories.hunting import Counsellor

#: pg_advisory_xact_lock(LOCK_SPACE, group id): one matcher per group at a time, across nodes.
LOCK_SPACE = 20017

_LIVE = (
    "EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = w.node_id"
    " AND n.heartbeat_at > now() - make_interval(secs => $2::float8))"
)
_FREE = "c.on_duty AND c.current_call IS NULL AND (c.wrapup_until IS NULL OR c.wrapup_until <= now())"


#: One statement: number the waiters without a member (oldest first) and the free members
#: (longest idle first), pair them by number, claim this node's pairs (the hunt's own
#: conditional claim: a member another call took meanwhile is skipped) and mark those
#: waiters.  Also says how many waited and how many were free (is a wrap-up worth waiting for?).
_PAIR_AND_CLAIM = f"""
WITH w AS (
    SELECT call_uuid, node_id, row_number() OVER (ORDER BY joined_at, id) AS n
    FROM waiting_calls w WHERE w.group_id = $1 AND w.offered_to IS NULL AND {_LIVE}
), f AS (
    SELECT c.id, row_number() OVER (ORDER BY c.last_call_end ASC NULLS FIRST, m.position, c.id) AS n
    FROM group_members m JOIN counsellors c ON c.id = m.counsellor_id WHERE m.group_id = $1 AND {_FREE}
), claimed AS (
    UPDATE counsellors c SET current_call = w.call_uuid, claimed_at = now()
    FROM w JOIN f USING (n)
    WHERE c.id = f.id AND w.node_id = $3 AND {_FREE}
    RETURNING c.id, c.current_call
), marked AS (
    UPDATE waiting_calls x SET offered_to = claimed.id FROM claimed
    WHERE x.call_uuid = claimed.current_call RETURNING x.call_uuid, x.offered_to
)
SELECT m.call_uuid, m.offered_to, (SELECT count(*) FROM w) AS waiters, (SELECT count(*) FROM f) AS free
FROM (SELECT 1) one LEFT JOIN marked m ON true
"""


@dataclass(frozen=True, slots=True)
class Match:
    """What one matching round gave this node: (call, counsellor id) pairs claimed, and when to look again."""

    claimed: list[tuple[uuid.UUID, int]]
    next_look_s: float | None  # a member's wrap-up ends then; None: nothing to wait for


async def waiting_count(pool: asyncpg.Pool, group_id: int, live_seconds: float) -> int:
    """How many callers wait in the group's line (on live nodes)."""
    count: int = await pool.fetchval(
        f"SELECT count(*) FROM waiting_calls w WHERE w.group_id = $1 AND {_LIVE}", group_id, live_seconds
    )
    return count


async def join(
    pool: asyncpg.Pool,
    *,
    tenant_id: int,
    group_id: int,
    call_uuid: uuid.UUID,
    node_id: str,
    caller_id: int | None,
    max_length: int,
    live_seconds: float,
) -> int | None:
    """Take a place at the end of the line; its position (1 = next), or None when the line is full."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2::int)", LOCK_SPACE, group_id)
        ahead: int = await conn.fetchval(
            f"SELECT count(*) FROM waiting_calls w WHERE w.group_id = $1 AND {_LIVE}", group_id, live_seconds
        )
        if ahead >= max_length:
            return None
        await conn.execute(
            "INSERT INTO waiting_calls (tenant_id, group_id, call_uuid, node_id, caller_id)"
            " VALUES ($1, $2, $3, $4, $5)",
            tenant_id,
            group_id,
            call_uuid,
            node_id,
            caller_id,
        )
    return ahead + 1


async def position(pool: asyncpg.Pool, call_uuid: uuid.UUID, live_seconds: float) -> int | None:
    """The caller's place in the line (1 = next); None once they left it."""
    found: int | None = await pool.fetchval(
        "SELECT (SELECT count(*) FROM waiting_calls w WHERE w.group_id = me.group_id"
        f" AND (w.joined_at, w.id) <= (me.joined_at, me.id) AND {_LIVE})"
        " FROM waiting_calls me WHERE me.call_uuid = $1",
        call_uuid,
        live_seconds,
    )
    return found


async def leave(pool: asyncpg.Pool, call_uuid: uuid.UUID) -> int | None:
    """Leave the line; the member claimed for this call meanwhile, if any (the caller's to use or free)."""
    offered: int | None = await pool.fetchval(
        "DELETE FROM waiting_calls WHERE call_uuid = $1 RETURNING offered_to", call_uuid
    )
    return offered


async def match(pool: asyncpg.Pool, group_id: int, node_id: str, live_seconds: float) -> Match:
    """Pair the line's head with the free members (longest idle first); claim this node's pairs.

    The i-th waiter without a member gets the i-th free member.  Rows of dead
    nodes leave the line first (a member claimed for them is free again).
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2::int)", LOCK_SPACE, group_id)
        await conn.execute(
            "WITH gone AS (DELETE FROM waiting_calls w WHERE w.group_id = $1 AND NOT "
            + _LIVE
            + " RETURNING call_uuid, offered_to)"
            " UPDATE counsellors c SET current_call = NULL, claimed_at = NULL FROM gone"
            " WHERE c.id = gone.offered_to AND c.current_call = gone.call_uuid",
            group_id,
            live_seconds,
        )
        rows = await conn.fetch(_PAIR_AND_CLAIM, group_id, live_seconds, node_id)
        if not rows:
            return Match([], None)
        claimed = [(r["call_uuid"], r["offered_to"]) for r in rows if r["offered_to"] is not None]
        waiters = rows[0]["waiters"]
        free = rows[0]["free"]
        next_look: float | None = None
        if free < waiters:
            next_look = await conn.fetchval(
                "SELECT extract(epoch FROM min(c.wrapup_until) - now())::float8"
                " FROM group_members m JOIN counsellors c ON c.id = m.counsellor_id"
                " WHERE m.group_id = $1 AND c.on_duty AND c.current_call IS NULL AND c.wrapup_until > now()",
                group_id,
            )
    return Match(claimed, next_look)


async def claimed_counsellor(
    pool: asyncpg.Pool, counsellor_id: int, call_uuid: uuid.UUID, *, dial_template: str = DEFAULT_DIAL_TEMPLATE
) -> Counsellor | None:
    """The member claimed for this call, as the hunt rings them; None if the claim is gone."""
    row = await pool.fetchrow(
        "SELECT id, name, phone_number, dial_string, rate_yen_per_min FROM counsellors"
        " WHERE id = $1 AND current_call = $2",
        counsellor_id,
        call_uuid,
    )
    if row is None:
        return None
    dial = dial_string(row["phone_number"], row["dial_string"], dial_template)
    return Counsellor(row["id"], row["name"], dial, row["rate_yen_per_min"])


async def cheapest_rate(pool: asyncpg.Pool, group_id: int, group_rate: int) -> int:
    """The lowest per-minute rate any member of the group talks at (their own, else the group's)."""
    rate: int | None = await pool.fetchval(
        "SELECT min(COALESCE(c.rate_yen_per_min, $2)) FROM group_members m"
        " JOIN counsellors c ON c.id = m.counsellor_id WHERE m.group_id = $1",
        group_id,
        group_rate,
    )
    return group_rate if rate is None else rate


async def purge_node(pool: asyncpg.Pool, node_id: str) -> int:
    """At start: this node's earlier life left waiters whose calls are gone; free what was claimed for them.

    Returns how many members were freed.
    """
    status: str = await pool.execute(
        "WITH gone AS (DELETE FROM waiting_calls WHERE node_id = $1 RETURNING call_uuid, offered_to)"
        " UPDATE counsellors c SET current_call = NULL, claimed_at = NULL FROM gone"
        " WHERE c.id = gone.offered_to AND c.current_call = gone.call_uuid",
        node_id,
    )
    return int(status.rsplit(maxsplit=1)[-1])


@dataclass(frozen=True, slots=True)
class LineState:
    """One group's line on the live board."""

    group_id: int
    group_name: str
    waiting: int
    oldest_joined_us: int | None  # when the longest waiter joined (epoch µs); None: nobody waits


async def lines(pool: asyncpg.Pool, tenant_id: int, live_seconds: float) -> list[LineState]:
    """Every group of the tenant with a waiting line: how many wait, and since when the longest."""
    rows = await pool.fetch(
        "SELECT g.id, g.name, count(w.id) AS waiting,"
        " (extract(epoch FROM min(w.joined_at)) * 1000000)::bigint AS oldest"
        " FROM counsellor_groups g LEFT JOIN waiting_calls w ON w.group_id = g.id AND "
        + _LIVE
        + " WHERE g.tenant_id = $1 AND g.queue_enabled GROUP BY g.id, g.name ORDER BY g.id",
        tenant_id,
        live_seconds,
    )
    return [LineState(r["id"], r["name"], r["waiting"], r["oldest"]) for r in rows]
