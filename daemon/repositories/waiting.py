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
A member handed over who does not answer sends the caller back to their place
(:func:`rejoin`, same ``joined_at``), and is not handed to that call again
while barred (``passed_over``, :class:`Passed`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.repositories.counsellors import DEFAULT_DIAL_TEMPLATE, dial_string
from daemon.repositories.hunting import Counsellor

#: pg_advisory_xact_lock(LOCK_SPACE, group id): one matcher per group at a time, across nodes
#: (also taken inside ``waiting_match()``, migration 029).
LOCK_SPACE = 20017

_LIVE = (
    "EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = w.node_id"
    " AND n.heartbeat_at > now() - make_interval(secs => $2::float8))"
)


@dataclass(frozen=True, slots=True)
class Match:
    """What one matching round gave this node: (call, counsellor id) pairs claimed, and when to look again."""

    claimed: list[tuple[uuid.UUID, int]]
    next_look_s: float | None  # a member's wrap-up ends, or a bar on a member lifts, then; None: nothing to wait for


async def waiting_count(pool: asyncpg.Pool, group_id: int, live_seconds: float) -> int:
    """How many callers wait in the group's line (on live nodes)."""
    count: int = await pool.fetchval(
        f"SELECT count(*) FROM waiting_calls w WHERE w.group_id = $1 AND {_LIVE}", group_id, live_seconds
    )
    return count


@dataclass(frozen=True, slots=True)
class Waiter:
    """A call waiting in a group's line: whose, and the node that holds it."""

    tenant_id: int
    group_id: int
    call_uuid: uuid.UUID
    node_id: str
    caller_id: int | None


@dataclass(frozen=True, slots=True)
class Joined:
    """A place taken in the line: its position (1 = next) and the time that orders it."""

    position: int
    joined_at: datetime


async def join(pool: asyncpg.Pool, who: Waiter, *, max_length: int, live_seconds: float) -> Joined | None:
    """Take a place at the end of the line; None when the line is full."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2::int)", LOCK_SPACE, who.group_id)
        ahead: int = await conn.fetchval(
            f"SELECT count(*) FROM waiting_calls w WHERE w.group_id = $1 AND {_LIVE}", who.group_id, live_seconds
        )
        if ahead >= max_length:
            return None
        joined_at: datetime = await conn.fetchval(
            "INSERT INTO waiting_calls (tenant_id, group_id, call_uuid, node_id, caller_id)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING joined_at",
            who.tenant_id,
            who.group_id,
            who.call_uuid,
            who.node_id,
            who.caller_id,
        )
    return Joined(ahead + 1, joined_at)


@dataclass(frozen=True, slots=True)
class Passed:
    """A member handed to a waiting call who failed it, barred from that call for ``for_s`` more seconds.

    None: for the rest of the wait (the caller's money does not cover them).
    A member who only did not answer is offered again once the bar is lifted:
    for a named counsellor (a one-member group) there is nobody else.
    """

    counsellor_id: int
    for_s: float | None


async def rejoin(
    pool: asyncpg.Pool, who: Waiter, *, joined_at: datetime, passed_over: Sequence[Passed], live_seconds: float
) -> int:
    """Back to the place taken at ``joined_at`` (the member handed over did not answer); the position.

    Not turned away by a full line: the place was the caller's already.
    ``passed_over``: the members who failed this call, not handed to it again while barred (by the
    database's clock from now on).
    """
    ahead: int = await pool.fetchval(
        "WITH me AS (INSERT INTO waiting_calls (group_id, tenant_id, call_uuid, node_id, caller_id, joined_at,"
        " passed_over, passed_until) VALUES ($1, $3, $4, $5, $6, $7, $8,"
        " ARRAY(SELECT now() + make_interval(secs => s) FROM unnest($9::float8[]) WITH ORDINALITY AS u(s, i)"
        " ORDER BY i)) RETURNING joined_at, id)"
        " SELECT count(*) FROM waiting_calls w, me WHERE w.group_id = $1"
        f" AND (w.joined_at, w.id) < (me.joined_at, me.id) AND {_LIVE}",
        who.group_id,
        live_seconds,
        who.tenant_id,
        who.call_uuid,
        who.node_id,
        who.caller_id,
        joined_at,
        [p.counsellor_id for p in passed_over],
        [p.for_s for p in passed_over],
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

    One round trip: ``waiting_match()`` (migration 029) takes the group's
    lock, lets the rows of dead nodes leave the line (a member claimed for them
    is free again), hands each waiter without a member, from the head, the
    first free member not barred from them (:data:`Passed`), and claims the
    pairs of this node's waiters.
    """
    row = await pool.fetchrow("SELECT * FROM waiting_match($1, $2, $3)", group_id, node_id, live_seconds)
    assert row is not None  # a function returning one row
    return Match(list(zip(row["calls"], row["members"], strict=True)), row["look_again_s"])


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
    ringing: int = 0  # the group's callers whose member rings now (handed from the line, or found free)


#: A caller handed a member leaves the line while the member rings (and comes back if they do not
#: answer): they count as ringing, by their row while a member is claimed for them, then by their call
#: record (this group's, hunting) that a member is claimed for.
_LINES = f"""
SELECT g.id, g.name, count(w.id) FILTER (WHERE w.offered_to IS NULL) AS waiting,
  (extract(epoch FROM min(w.joined_at) FILTER (WHERE w.offered_to IS NULL)) * 1000000)::bigint AS oldest,
  (SELECT count(*) FROM (
     SELECT x.call_uuid FROM waiting_calls x WHERE x.group_id = g.id AND x.offered_to IS NOT NULL
     UNION
     SELECT r.call_uuid FROM counsellors c JOIN call_records r ON r.call_uuid = c.current_call
      WHERE c.tenant_id = $1 AND r.group_id = g.id AND r.state = 'hunting'
  ) handed) AS ringing
FROM counsellor_groups g LEFT JOIN waiting_calls w ON w.group_id = g.id AND {_LIVE}
WHERE g.tenant_id = $1 AND g.queue_enabled GROUP BY g.id, g.name ORDER BY g.id
"""


async def lines(pool: asyncpg.Pool, tenant_id: int, live_seconds: float) -> list[LineState]:
    """Every group of the tenant with a waiting line: how many wait, since when the longest, how many ring."""
    rows = await pool.fetch(_LINES, tenant_id, live_seconds)
    return [LineState(r["id"], r["name"], r["waiting"], r["oldest"], r["ringing"]) for r in rows]
