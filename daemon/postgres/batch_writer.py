"""Rows that are no money, written in the background: in batches, on one pool connection at most.

A refused attempt's row or an IVR call's log row costs a statistic when it is
lost, never a call.  Written by a task and a pool connection each, at 1,000
calls in flight they queued for the pool in front of the money path
(admission, line release, settlement) and pushed it past its timeout
(RELIABILITY.md, section 6).  Here they wait in one bounded queue instead, and
one task writes everything queued, one statement per kind of row, on a single
connection, within the database timeout.  The rows wait their turn for that
connection like any query (they take nothing from the calls but the one
connection), and are given up only if the database does not answer.

The next round starts only once the previous one's connection is back (a
statement given up at the timeout holds its connection until the server
answers the cancel), so the writer never holds two.  When the queue is full a
new row is dropped and counted (``calld_background_rows_dropped_total``, by
kind), with a log line when the burst starts and one with its total when it
ends; a batch that fails is counted and logged.  A statement error (a row whose
caller was deleted meanwhile) spoils its whole batch, so that batch is tried
again row by row and only the bad row is lost.  On stop, what is queued gets
one last flush, bounded in time.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg

from daemon.logs import get_logger
from daemon.metrics import Metrics
from daemon.postgres.errors import DB_ERRORS
from daemon.postgres.types import Conn

_log = get_logger(__name__)

T = TypeVar("T")

CAPACITY = 10_000
"""Rows queued at most (all kinds together): minutes of refusals at the soak's rate, a few MB."""

BATCH = 1_000
"""Rows of one kind per statement: a round stays well inside the database timeout."""


@dataclass(frozen=True, slots=True)
class Kind(Generic[T]):
    """One kind of row (its name labels the metrics) and the one statement that writes a batch of them."""

    name: str
    write: Callable[[Conn, Sequence[T]], Awaitable[object]]


def columns(batch: Sequence[object], *names: str) -> list[list[Any]]:
    """The batch's rows turned into one list per attribute: the arrays of ``INSERT … SELECT FROM unnest(…)``."""
    return [[getattr(row, name) for row in batch] for name in names]


class BatchWriter:
    """One per daemon: :meth:`put` returns at once, the rows reach the database a moment later."""

    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool | None],
        metrics: Metrics,
        *,
        timeout: float,
        capacity: int = CAPACITY,
        batch: int = BATCH,
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self.timeout = timeout
        self.capacity = capacity
        self.batch = batch
        self._queue: dict[Kind[Any], list[Any]] = {}
        self._queued = 0
        self._writing = 0  # rows of the round under way
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._dropped: collections.Counter[str] = collections.Counter()  # in the burst under way
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Rows not written yet: queued, or in the round under way."""
        return self._queued + self._writing

    def put(self, kind: Kind[T], row: T) -> None:
        """Queue ``row`` for writing; a full queue (or a stopped writer) drops it and counts it."""
        if self._closed or self._queued >= self.capacity:
            self._drop(kind.name)
            return
        self._queue.setdefault(kind, []).append(row)
        self._queued += 1
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            # a context of its own: the first caller's log fields (its call UUID) are not the writer's
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="batch-writer", context=contextvars.Context()
            )

    async def drained(self) -> None:
        """Wait until every row put so far is written or given up (tests; the flush on stop)."""
        await self._idle.wait()

    async def close(self, grace: float) -> None:
        """Take no more rows, write what is queued within ``grace`` seconds, stop."""
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            _log.error("background_rows_abandoned", rows=self.pending, after_seconds=grace)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        self._given_up(self._take_all(), "stopped")
        self._end_burst()

    # The writing task.

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queued:
                await self._round()
            self._idle.set()

    async def _round(self) -> None:
        batches = self._take()
        self._end_burst()
        self._writing = sum(len(rows) for rows in batches.values())
        try:
            pool = self._pool()
            if pool is None:
                self._given_up(batches, "no database")
                return
            # The rows wait for a connection as long as the calls keep the pool busy (the queue is
            # bounded); the statements have the database timeout, and their connection goes back
            # only once they have ended, so the next round cannot take a second one.
            async with pool.acquire() as conn:
                writing = asyncio.get_running_loop().create_task(self._write(conn, batches))
                try:
                    done, _ = await asyncio.wait({writing}, timeout=self.timeout)
                    if writing in done:
                        error = writing.exception()
                    else:
                        writing.cancel()
                        error = TimeoutError(f"no answer from the database within {self.timeout} s")
                    if error is not None:  # anything else is a bug, but the writer goes on for the next rows
                        self._given_up(batches, repr(error), exc_info=None if isinstance(error, DB_ERRORS) else error)
                    self._writing = 0  # written or given up: what is still pending is the queue
                    await asyncio.wait({writing})
                    if not writing.cancelled():
                        writing.exception()  # retrieved: given up above, no "never retrieved" noise
                except asyncio.CancelledError:
                    writing.cancel()
                    raise
        except asyncio.CancelledError:
            self._given_up(batches, "stopped")
            raise
        except DB_ERRORS as exc:  # no connection to be had (the pool closed, the server gone)
            self._given_up(batches, repr(exc))
        finally:
            self._writing = 0

    async def _write(self, conn: Conn, batches: dict[Kind[Any], list[Any]]) -> None:
        """Each kind in one statement; a kind is taken out of ``batches`` once written."""
        for kind in list(batches):
            rows = batches[kind]
            try:
                await kind.write(conn, rows)
                written = len(rows)
            except asyncpg.PostgresError as exc:  # the statement, not the connection
                _log.warning("background_batch_refused", kind=kind.name, rows=len(rows), error=repr(exc))
                written = await self._one_by_one(conn, kind, rows)
            del batches[kind]
            self._metrics.background_rows_written.labels(kind.name).inc(written)

    async def _one_by_one(self, conn: Conn, kind: Kind[Any], rows: list[Any]) -> int:
        written = 0
        for row in rows:
            try:
                await kind.write(conn, [row])
            except asyncpg.PostgresError as exc:
                self._metrics.background_rows_failed.labels(kind.name).inc()
                _log.error("background_row_unwritten", kind=kind.name, error=repr(exc))
            else:
                written += 1
        return written

    # The queue.

    def _take(self) -> dict[Kind[Any], list[Any]]:
        """At most ``batch`` rows of each kind, oldest first."""
        taken: dict[Kind[Any], list[Any]] = {}
        for kind, rows in list(self._queue.items()):
            taken[kind], rest = rows[: self.batch], rows[self.batch :]
            if rest:
                self._queue[kind] = rest
            else:
                del self._queue[kind]
            self._queued -= len(taken[kind])
        return taken

    def _take_all(self) -> dict[Kind[Any], list[Any]]:
        taken, self._queue, self._queued = self._queue, {}, 0
        return taken

    def _given_up(
        self, batches: dict[Kind[Any], list[Any]], error: str, *, exc_info: BaseException | None = None
    ) -> None:
        for kind, rows in batches.items():
            if rows:
                self._metrics.background_rows_failed.labels(kind.name).inc(len(rows))
                _log.error("background_rows_unwritten", kind=kind.name, rows=len(rows), error=error, exc_info=exc_info)
        batches.clear()

    def _drop(self, kind: str) -> None:
        self._metrics.background_rows_dropped.labels(kind).inc()
        if not self._dropped:
            _log.error("background_queue_full", kind=kind, capacity=self.capacity, closed=self._closed)
        self._dropped[kind] += 1

    def _end_burst(self) -> None:
        """The queue has room again: the burst of drops is over, in one line."""
        if self._dropped:
            _log.error("background_rows_dropped", rows=dict(self._dropped))
            self._dropped.clear()
