"""Node liveness: heartbeats, and freeing the lines of nodes that died.

A node frees its own leftover lines when it starts (it crashed, so none of its
sessions survive).  Every node also frees the lines of nodes whose heartbeat is
older than the timeout, so a node that never comes back holds nothing forever.

A line whose call was *talking* when the node died is kept: the bridge may go
on inside FreeSWITCH without us, so the line stays taken until the recovery
finishes that call (and releases it there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

#: Calls of this node whose talk may outlive the daemon inside FreeSWITCH: a Coaching Dial
#: consultation, or an IVR call bridged to a forwarded number.  Recovery gives their lines back.
_TALKING_HERE = (
    "SELECT r.call_uuid FROM call_records r WHERE r.node_id = $1 AND r.state = 'talking'"
    " UNION ALL SELECT f.call_uuid FROM forward_legs f WHERE f.node_id = $1 AND f.state = 'talking'"
)


async def register(pool: asyncpg.Pool, node_id: str) -> int:
    """Announce this node; free the lines its previous life left behind."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO nodes (node_id) VALUES ($1) ON CONFLICT (node_id) DO UPDATE"
            " SET started_at = now(), heartbeat_at = now()",
            node_id,
        )
        status: str = await conn.execute(
            f"DELETE FROM active_calls WHERE node_id = $1 AND call_uuid NOT IN ( {_TALKING_HERE})",
            node_id,
        )
    return int(status.rsplit(maxsplit=1)[-1])


async def heartbeat(pool: asyncpg.Pool, node_id: str) -> None:
    await pool.execute(
        "INSERT INTO nodes (node_id) VALUES ($1) ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now()",
        node_id,
    )


async def reap_dead(pool: asyncpg.Pool, timeout_seconds: float) -> int:
    """Free lines held by nodes silent for longer than ``timeout_seconds``; return how many."""
    status: str = await pool.execute(
        "DELETE FROM active_calls a WHERE NOT EXISTS ("
        " SELECT 1 FROM nodes n WHERE n.node_id = a.node_id"
        " AND n.heartbeat_at > now() - make_interval(secs => $1))",
        timeout_seconds,
    )
    return int(status.rsplit(maxsplit=1)[-1])


async def free_orphans(pool: asyncpg.Pool, node_id: str, live: list[str], grace_seconds: float) -> int:
    """Free this node's lines that no live session owns (a release lost to a DB outage).

    Lines younger than ``grace_seconds`` are left alone: their session may
    still be between admission and registering itself as live.
    """
    status: str = await pool.execute(
        "DELETE FROM active_calls WHERE node_id = $1"
        " AND started_at < now() - make_interval(secs => $3)"
        " AND NOT (call_uuid = ANY($2::uuid[]))"
        f" AND call_uuid NOT IN ({_TALKING_HERE})",
        node_id,
        live,
        grace_seconds,
    )
    return int(status.rsplit(maxsplit=1)[-1])


@dataclass(frozen=True, slots=True)
class Node:
    node_id: str
    started_at: datetime
    heartbeat_at: datetime
    silent_seconds: float  # since the last heartbeat, by the database's clock
    live_calls: int  # lines this node holds now


async def overview(pool: asyncpg.Pool) -> list[Node]:
    """Every node that has announced itself, with its heartbeat and the lines it holds (one snapshot)."""
    rows = await pool.fetch(
        "SELECT n.node_id, n.started_at, n.heartbeat_at, extract(epoch FROM now() - n.heartbeat_at) AS silent,"
        " (SELECT count(*) FROM active_calls a WHERE a.node_id = n.node_id) AS live"
        " FROM nodes n ORDER BY n.node_id"
    )
    return [Node(r["node_id"], r["started_at"], r["heartbeat_at"], float(r["silent"]), r["live"]) for r in rows]
