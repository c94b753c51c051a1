"""The live flow of each tenant, cached in this process and dropped on NOTIFY.

A hit is a dict lookup: no database round trip.  Publishing (or a guidance
path changing) NOTIFYs ``calld_ivr`` with the tenant id from the same
transaction (triggers in sql/009_ivr.sql); this node's own listener connection
drops that tenant's entry.  A load that raced a notification is not kept
(generation counter), and while the listener is down nothing is cached, so a
stale flow is never served.  When the listener comes back every entry is
dropped (notifications sent meanwhile are lost).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from daemon.db import ivr_flows
from daemon.db.errors import DB_ERRORS
from daemon.db.ivr_flows import LiveFlow
from daemon.db.types import Conn
from daemon.logs import get_logger

_log = get_logger(__name__)

CHANNEL = "calld_ivr"


class FlowCache:
    def __init__(self) -> None:
        self._flows: dict[int, LiveFlow | None] = {}
        self._generation = 0
        self._pool: asyncpg.Pool | None = None
        self._conn: asyncpg.Connection | None = None
        self._watch: asyncio.Task[None] | None = None
        self._opening: asyncio.Lock | None = None
        self.loads = 0  # round trips made for flows (misses), for the benchmark and tests

    async def get(self, pool: asyncpg.Pool, tenant_id: int) -> LiveFlow | None:
        if self._listening() and tenant_id in self._flows:
            return self._flows[tenant_id]
        await self._listen(pool)
        generation = self._generation
        flow = await ivr_flows.live(pool, tenant_id)
        self.loads += 1
        if self._listening() and generation == self._generation:
            self._flows[tenant_id] = flow
        return flow

    def _notified(self, conn: Conn, pid: int, channel: str, payload: object) -> None:
        self._generation += 1
        if isinstance(payload, str) and payload.isdigit():
            self._flows.pop(int(payload), None)
        else:
            self._flows.clear()

    def _listening(self) -> bool:
        if self._conn is None:
            return False
        return not self._conn.is_closed()

    async def _listen(self, pool: asyncpg.Pool) -> None:
        """Open (or re-open) the listener; never fails the call (it just stays uncached).

        Its own connection, made with the pool's connection parameters, not one
        borrowed from the pool: a borrowed one would hold ``pool.close()`` up at stop.
        """
        if self._listening() and self._pool is pool:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._listening() and self._pool is pool:
                return
            await self.close()
            self._generation += 1
            if pool.is_closing():
                return
            try:
                args, kwargs = getattr(pool, "_connect_args"), getattr(pool, "_connect_kwargs")  # noqa: B009
                conn: asyncpg.Connection = await asyncio.wait_for(asyncpg.connect(*args, **kwargs), 5)
                await conn.add_listener(CHANNEL, self._notified)
            except DB_ERRORS as exc:
                _log.warning("ivr_listener_unavailable", error=repr(exc))
                return
            self._pool, self._conn = pool, conn
            self._watch = asyncio.get_running_loop().create_task(self._close_with(pool))

    async def _close_with(self, pool: asyncpg.Pool) -> None:
        """The daemon closes its pool at stop: close the listener with it."""
        while not pool.is_closing() and self._listening():  # noqa: ASYNC110 (asyncpg: no event for it)
            await asyncio.sleep(0.5)
        if self._pool is pool:
            await self.close()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        self._flows.clear()
        if conn is not None:
            with contextlib.suppress(*DB_ERRORS):
                await conn.close(timeout=2)
