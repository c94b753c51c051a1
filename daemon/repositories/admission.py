"""Line admission: take a line for a call, give it back when the call ends."""

from __future__ import annotations

import asyncio
import enum
import uuid
from dataclasses import dataclass

import asyncpg

from daemon.postgres.pool import urgent


class Outcome(enum.StrEnum):
    ADMITTED = "admitted"
    BUSY = "busy"
    NOT_IN_SERVICE = "not_in_service"
    BLOCKED = "blocked"  # on the tenant's block list: no line taken


@dataclass(frozen=True, slots=True)
class Admission:
    outcome: Outcome
    tenant_id: int | None
    product: str | None
    lines: int
    in_use: int


async def admit(
    pool: asyncpg.Pool, call_uuid: uuid.UUID, number: str, node_id: str, caller: str | None = None
) -> Admission:
    """Atomically take one of the number's tenant's lines, if one is free and ``caller`` is not blocked.

    ``caller``: national digits, None when withheld (blocked as ``anonymous``).
    """
    row = await pool.fetchrow("SELECT * FROM admit_caller($1, $2, $3, $4)", call_uuid, number, node_id, caller)
    assert row is not None
    return _admission(row)


def _admission(row: asyncpg.Record) -> Admission:
    return Admission(Outcome(row["outcome"]), row["tenant_id"], row["product"], row["lines"], row["in_use"])


# One statement for a batch of calls to one number: admit_caller once per call, in
# arrival order.  admit_caller is volatile, so each call sees the lines the calls
# before it in the batch took (one transaction, one snapshot per statement inside).
_ADMIT_MANY = """
SELECT c.i, r.outcome, r.tenant_id, r.product, r.lines, r.in_use
  FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS c(call_uuid, caller, i),
       LATERAL admit_caller(c.call_uuid, $3, $4, c.caller) AS r
"""


_Waiter = tuple[uuid.UUID, str | None, asyncio.Future[Admission]]  # call, caller, its answer


class BatchAdmitter:
    """Admits the calls to one number that arrive together with one round trip.

    Under load many calls set up in the same event-loop turn; each ``admit``
    joins the batch of its number (and node) of this turn, sent once the turn is
    over.  Batches do not wait for each other: one that hangs (a broken
    connection) holds up its own calls only, as a call's own statement did.
    Batches are per number so that a batch locks one tenant's contract: two
    nodes batching calls of two tenants in opposite orders could otherwise
    deadlock.  A failed batch fails each of its calls.  A waiter cancelled
    meanwhile (``within`` gave up on a hung database) still ends only after its
    batch did: the caller's undo (give the line back) must come after the line
    was taken, if it was.

    ``limit`` bounds the batches on the database at once (each holds a pool
    connection, queued for its tenant's lines behind the row lock): a batch
    waiting for its turn keeps taking the calls that arrive meanwhile.
    """

    def __init__(self, limit: asyncio.Semaphore | None = None) -> None:
        self._limit = limit
        self._pending: dict[tuple[str, str], list[_Waiter]] = {}
        self._flushing: set[asyncio.Task[None]] = set()
        self.statements = 0  # round trips made, for the benchmark and tests

    async def admit(
        self, pool: asyncpg.Pool, call_uuid: uuid.UUID, number: str, node_id: str, caller: str | None = None
    ) -> Admission:
        """What :func:`admit` answers, from this call's row of its batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Admission] = loop.create_future()
        key = (number, node_id)
        batch = self._pending.get(key)
        if batch is None:
            batch = self._pending[key] = []
            task = loop.create_task(self._flush(pool, key))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)
        batch.append((call_uuid, caller, future))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait([future])
            raise

    async def _flush(self, pool: asyncpg.Pool, key: tuple[str, str]) -> None:
        batch: list[_Waiter] = []
        turn = False
        try:
            try:
                await asyncio.sleep(0)  # let the other calls set up in this turn join
                if self._limit is not None:
                    turn = await self._limit.acquire()  # and those arriving while it waits
            finally:
                batch = self._pending.pop(key, [])
            self.statements += 1
            with urgent():  # the pool's reserve: never queued behind the call flows' work
                rows = await pool.fetch(_ADMIT_MANY, [c for c, _, _ in batch], [c for _, c, _ in batch], *key)
            found = {r["i"]: r for r in rows}
            for i, (_, _, future) in enumerate(batch, 1):
                row = found.get(i)
                if row is not None and not future.done():
                    future.set_result(_admission(row))
            _fail(batch, RuntimeError("admit_caller returned no row"))
        except BaseException as exc:  # every waiter gets the failure (stopped: the daemon ends)
            _fail(batch, exc if isinstance(exc, Exception) else OSError("admission stopped"))
            if not isinstance(exc, Exception):
                raise
        finally:
            if turn and self._limit is not None:
                self._limit.release()


def _fail(batch: list[_Waiter], exc: BaseException) -> None:
    for _, _, future in batch:
        if not future.done():
            future.set_exception(exc)
            future.exception()  # retrieved: a waiter that gave up leaves no "never retrieved" noise


async def release(pool: asyncpg.Pool, call_uuid: uuid.UUID) -> bool:
    """Give the call's line back; False if it held none (already released or reaped)."""
    released: bool = await pool.fetchval("SELECT release_call($1)", call_uuid)
    return released


class BatchReleaser:
    """Gives lines back in batches: one round trip for all the calls that end together.

    A batch is taken once its connection is in hand, so every call that ended
    while the pool kept it waiting goes in it; each ``release`` waits for the
    batch it joined.  A call ending while a batch is on its round trip starts the
    next batch's wait for a connection at once: behind the round trip, under
    load, a release waited for two turns of the pool and ran past the database
    timeout (the soak at 1,000 calls in flight).  At most two batches at a time
    (one on its round trip, one waiting for a connection), so a database that
    stops answering holds two connections of the releaser's, never more.  A
    failed batch fails each of its calls (the node's housekeeping frees those
    lines later).
    """

    BATCHES = 2

    def __init__(self) -> None:
        self._pending: dict[uuid.UUID, asyncio.Future[bool]] = {}
        self._waiting = False  # a batch waits for its connection: calls ending now join it
        self._flushing: set[asyncio.Task[None]] = set()

    async def release(self, pool: asyncpg.Pool, call_uuid: uuid.UUID) -> bool:
        future = self._pending.get(call_uuid)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._pending[call_uuid] = future
        self._start(pool)
        return await asyncio.shield(future)

    def _start(self, pool: asyncpg.Pool) -> None:
        """A batch to wait for a connection, unless one does already or two are under way."""
        if self._waiting or len(self._flushing) >= self.BATCHES or not self._pending:
            return
        self._waiting = True
        task = asyncio.get_running_loop().create_task(self._flush(pool))
        self._flushing.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self._flushing.discard(task)
            self._start(pool)  # calls that ended while two batches were under way

        task.add_done_callback(done)

    def _take(self) -> dict[uuid.UUID, asyncio.Future[bool]]:
        batch, self._pending, self._waiting = self._pending, {}, False
        return batch

    async def _flush(self, pool: asyncpg.Pool) -> None:
        batch: dict[uuid.UUID, asyncio.Future[bool]] | None = None
        try:
            # The pool's reserve: a line given back late is a line refused to the next caller.
            with urgent():
                async with pool.acquire() as conn:
                    batch = self._take()
                    rows = await conn.fetch("SELECT release_calls($1::uuid[]) AS call_uuid", list(batch))
        except Exception as exc:  # every waiter gets the failure
            for future in (batch if batch is not None else self._take()).values():
                if not future.done():
                    future.set_exception(exc)
                    future.exception()
            return
        released = {r["call_uuid"] for r in rows}
        for call, future in batch.items():
            if not future.done():
                future.set_result(call in released)
