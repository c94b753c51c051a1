"""A node id is a lease: one live daemon process per ``CALLD_NODE_ID`` and database.

Two processes with one node id would each take the other's live calls for a
crashed node's calls and "recover" them.  The lease is a session-level advisory
lock (key: a 64-bit hash of the node id; advisory locks are per database) held
on a connection of its own for the life of the process:

* a second process finds the lock taken and refuses to start;
* a process killed with SIGKILL loses it with its socket: the kernel closes the
  connection, the server ends the session and drops the lock within
  milliseconds, so :func:`take` tries for a few seconds before it refuses;
* a host that vanished without closing its sockets: the server's TCP keepalive,
  set short on this connection, ends the session (about 25 s) -- the node
  timeout (30 s by default) after which other nodes free its lines;
* an outage of the database drops the connection, and the lock with it: the
  :meth:`Lease.keep` task takes it again when the database is back.  Someone else
  holding it then (a second process started meanwhile) is a conflict the daemon
  cannot settle: it fails, and ``serve`` exits non-zero.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket

import asyncpg

from daemon.logs import get_logger
from daemon.postgres.deadline import within
from daemon.postgres.errors import DB_ERRORS

_log = get_logger(__name__)

#: How long a start waits for the lock of a process that just died (its session is ending).
TAKE_SECONDS = 5.0
CHECK_SECONDS = 5.0
_KEEPALIVE = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"}


class NodeTaken(Exception):
    """Another live session holds this node id's lease; ``holder`` describes it."""

    def __init__(self, node_id: str, holder: str) -> None:
        super().__init__(f"node id {node_id!r} is held by {holder}")
        self.holder = holder


def lease_key(node_id: str) -> int:
    """The advisory lock's bigint key: stable across processes and Python versions."""
    digest = hashlib.sha256(b"calld node lease\0" + node_id.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _name() -> str:
    return f"calld lease pid {os.getpid()} on {socket.gethostname()}"[:63]


async def _connect(dsn: str, seconds: float) -> asyncpg.Connection:
    return await asyncpg.connect(
        dsn, timeout=seconds, server_settings={"application_name": _name(), **_KEEPALIVE}, command_timeout=10
    )


async def _holder(conn: asyncpg.Connection, key: int) -> str:
    """Who holds the lock: the application name it set (pid and host), its address and since when."""
    row = await conn.fetchrow(
        "SELECT a.application_name, a.client_addr::text AS addr, a.backend_start FROM pg_locks l"
        " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
        " AND l.classid = (($1::bigint >> 32) & 4294967295)::bigint::oid"
        " AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1",
        key,
    )
    if row is None:
        return "another session"
    where = f" from {row['addr']}" if row["addr"] else ""
    return (
        f"{row['application_name'] or 'another session'}{where}, connected {row['backend_start']:%Y-%m-%d %H:%M:%S%z}"
    )


async def _lock(conn: asyncpg.Connection, key: int, node_id: str, wait_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + wait_seconds
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
        if loop.time() >= until:
            raise NodeTaken(node_id, await _holder(conn, key))
        await asyncio.sleep(0.2)


class Lease:
    def __init__(self, dsn: str, node_id: str, conn: asyncpg.Connection) -> None:
        self.dsn = dsn
        self.node_id = node_id
        self.key = lease_key(node_id)
        self._conn: asyncpg.Connection | None = conn

    async def keep(self) -> None:
        """Watch the lease's connection; after an outage take the lock again (NodeTaken if someone has it)."""
        delay = 0.5
        while True:
            await asyncio.sleep(CHECK_SECONDS if self._conn is not None else delay)
            if self._conn is not None:
                if await self._alive(self._conn):
                    continue
                _log.error("node_lease_lost", node=self.node_id)
                self._conn.terminate()
                self._conn = None
            try:
                self._conn = await self._take_again()
            except NodeTaken as exc:
                if _name() not in exc.holder:
                    raise
                continue  # our own session from before the outage is still ending
            except DB_ERRORS as exc:
                _log.error("node_lease_retry", node=self.node_id, error=repr(exc), retry_in=delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            _log.warning("node_lease_taken_again", node=self.node_id)

    @staticmethod
    async def _alive(conn: asyncpg.Connection) -> bool:
        """Closed or failing: the lock went with the session.  A server too slow to answer still holds it."""
        if conn.is_closed():
            return False
        try:
            await within(CHECK_SECONDS, conn.fetchval("SELECT 1"))
        except TimeoutError:
            return True
        except DB_ERRORS:
            return False
        return True

    async def _take_again(self) -> asyncpg.Connection:
        conn = await _connect(self.dsn, CHECK_SECONDS)
        try:
            await _lock(conn, self.key, self.node_id, TAKE_SECONDS)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await within(2.0, conn.close())
            except DB_ERRORS:
                conn.terminate()


async def take(dsn: str, node_id: str, *, connect_seconds: float = 10.0, wait_seconds: float = TAKE_SECONDS) -> Lease:
    """The lease of ``node_id`` on the database of ``dsn``; connection errors propagate as asyncpg raises them."""
    conn = await _connect(dsn, connect_seconds)
    try:
        await _lock(conn, lease_key(node_id), node_id, wait_seconds)
    except BaseException:
        await conn.close()
        raise
    return Lease(dsn, node_id, conn)
