"""This node's side of the waiting lines: hearing that a member may be free, and handing them out.

A member freed anywhere (a call released, back on duty, a wrap-up restarted)
NOTIFYs ``calld_waiting`` with the group id, from the database trigger of
migration 017.  For a group with waiters on this node, :func:`waiting.match`
pairs the whole line's head with the free members and claims this node's
pairs; the waiting call's future gets the member's id.  A wrap-up ending makes
no notification, so the match says when to look again; and every few seconds
each group with waiters here is looked at anyway (a notification sent while
the LISTEN connection was away is lost).
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from daemon.logs import get_logger
from daemon.postgres.errors import DB_ERRORS
from daemon.postgres.listen import ListenHub
from daemon.repositories import waiting

_log = get_logger(__name__)

WAITING_CHANNEL = "calld_waiting"
#: Seconds between looks at each group with waiters here, notification or not.
POLL_SECONDS = 2.0


class WaitingLine:
    def __init__(self, hub: ListenHub, node_id: str, live_seconds: float) -> None:
        self.node_id = node_id
        self.live_seconds = live_seconds  # a waiter of a node silent this long has left the line
        self.pool: asyncpg.Pool | None = None
        self._waiters: dict[int, dict[uuid.UUID, asyncio.Future[int]]] = {}  # group -> call -> member id
        self._dirty: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        hub.subscribe(WAITING_CHANNEL, self._notified, self._resync)

    async def start(self, pool: asyncpg.Pool) -> None:
        """From now on hand members out; waiters a previous life of this node left behind go first."""
        await waiting.purge_node(pool, self.node_id)
        self.pool = pool
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="waiting-line")
            self._task.add_done_callback(_report)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    def expect(self, group_id: int, call_uuid: uuid.UUID) -> asyncio.Future[int]:
        """The call waits in the group's line: its future gets the member claimed for it."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(group_id, {})[call_uuid] = future
        self.look(group_id)  # a member may have become free while the caller chose to wait
        return future

    def forget(self, group_id: int, call_uuid: uuid.UUID) -> None:
        calls = self._waiters.get(group_id)
        if calls is not None:
            calls.pop(call_uuid, None)
            if not calls:
                del self._waiters[group_id]

    def look(self, group_id: int) -> None:
        if group_id in self._waiters:
            self._dirty.add(group_id)
            self._wake.set()

    def _notified(self, payload: str) -> None:
        if payload.isdigit():
            self.look(int(payload))

    def _resync(self) -> None:
        for group_id in list(self._waiters):
            self.look(group_id)

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            except TimeoutError:
                self._resync()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            for group_id in dirty:
                try:
                    await self._match(group_id)
                except DB_ERRORS as exc:
                    _log.error("waiting_match_failed", group_id=group_id, error=repr(exc))

    async def _match(self, group_id: int) -> None:
        pool = self.pool
        if pool is None or group_id not in self._waiters:
            return
        found = await waiting.match(pool, group_id, self.node_id, self.live_seconds)
        calls = self._waiters.get(group_id, {})
        for call_uuid, member_id in found.claimed:
            future = calls.get(call_uuid)
            if future is not None and not future.done():
                future.set_result(member_id)
            # else the call is leaving the line: its waiting.leave() returns the member, who is freed there
        if found.next_look_s is not None:
            asyncio.get_running_loop().call_later(max(found.next_look_s, 0.0) + 0.05, self.look, group_id)


def _report(task: asyncio.Task[None]) -> None:
    """The matcher only ends by cancellation; anything else is a bug, said loudly (waiters then time out)."""
    if not task.cancelled() and task.exception() is not None:
        _log.error("waiting_line_failed", error=repr(task.exception()), exc_info=task.exception())
