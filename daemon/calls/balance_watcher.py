"""One balance, many calls, many nodes: keep every live cutoff of a caller right.

Every change of a caller's money picture (a call of theirs starts talking or
ends, a deposit or any ledger row) NOTIFYs ``calld_balance`` with the caller id,
from the same transaction.  Each node LISTENs; for a caller with talking calls
on this node it reads the caller's money and *all* their talking calls (on any
node) in one snapshot, computes the joint deadline, records it on its own calls
and re-arms their cutoffs.  Every node computes the same deadline from the same
rows.  The daemon's LISTEN hub (:mod:`daemon.postgres.listen`) hears the channel; when
it listens again after losing its connection every caller with calls here is
recomputed (what was notified meanwhile is lost).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Protocol

import asyncpg

from daemon.logs import get_logger
from daemon.postgres.errors import DB_ERRORS
from daemon.postgres.listen import ListenHub
from daemon.repositories import call_records, money
from daemon.repositories.balance_channel import BALANCE_CHANNEL
from daemon.repositories.callers import CallerNotFound

_log = get_logger(__name__)


class Cutoff(Protocol):
    """What the listener needs of a call's cutoff (daemon.calls.cutoff.Cutoff)."""

    @property
    def deadline_us(self) -> int | None: ...

    def update(self, deadline_us: int | None) -> None: ...


class BalanceWatcher:
    def __init__(self, hub: ListenHub) -> None:
        self.pool: asyncpg.Pool | None = None
        self._by_caller: dict[int, dict[uuid.UUID, Cutoff]] = {}
        self._dirty: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        hub.subscribe(BALANCE_CHANNEL, self._notified, self._resync)

    async def start(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    def _notified(self, payload: str) -> None:
        try:
            caller_id = int(payload)
        except ValueError:
            return
        if caller_id in self._by_caller:
            self._dirty.add(caller_id)
            self._wake.set()

    def _resync(self) -> None:
        """Listening again: every caller with calls here may have missed a change."""
        if self._by_caller:
            _log.warning("balance_resync", callers=len(self._by_caller))
            self._dirty.update(self._by_caller)
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            for caller_id in dirty:
                try:
                    await self.recompute(caller_id)
                except DB_ERRORS as exc:
                    _log.error("recompute_failed", caller_id=caller_id, error=repr(exc))
                    self._dirty.add(caller_id)
                    await asyncio.sleep(0.2)
                    self._wake.set()

    def register(self, caller_id: int, call_uuid: uuid.UUID, cutoff: Cutoff) -> None:
        self._by_caller.setdefault(caller_id, {})[call_uuid] = cutoff

    def unregister(self, caller_id: int, call_uuid: uuid.UUID) -> None:
        calls = self._by_caller.get(caller_id)
        if calls is not None:
            calls.pop(call_uuid, None)
            if not calls:
                del self._by_caller[caller_id]

    async def recompute(self, caller_id: int) -> int | None:
        """Compute the caller's joint deadline and apply it to their calls on this node."""
        pool = self.pool
        local = self._by_caller.get(caller_id)
        if pool is None or not local:
            return None
        try:
            picture = await money.money_picture(pool, caller_id)
        except CallerNotFound:
            return None
        deadline = picture.deadline()
        for call_uuid, cutoff in list(local.items()):
            if call_uuid in picture.talking and cutoff.deadline_us != deadline:
                await call_records.set_deadline(pool, call_uuid, deadline)
                cutoff.update(deadline)
        return deadline
