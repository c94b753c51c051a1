"""Book a call's end and charge now, or as soon as the database is back: exactly once either way.

A call ends while PostgreSQL is down, restarting or hanging.  The talk itself
was cut on time (the deadline was already known), but its charge and its record
would be lost until this node restarted, and then only estimated.  Instead:

* :meth:`Settler.finish` tries ``call_records.finish`` (bounded by a timeout);
* if the database fails, the call's end, with FreeSWITCH's own timestamp, goes
  into the local :class:`~daemon.settlement.journal.Journal` (fsync'd) and
  :meth:`Settler.run` retries it every few seconds until the database takes it;
* the journal's writes (an append and an fsync each) run in a thread, one at a
  time and in order: an fsync waits for the disk, 3-10 ms on a quiet machine and
  far more when PostgreSQL's own fsyncs share the disk, and it comes exactly
  when the database is slow and every ending call is deferred; on the event
  loop that wait held every other call's cutoff timer (issue 16 item 5);
* a restarted node replays the journal (:meth:`Settler.settle_pending`) before
  crash recovery, so the exact end wins over an estimate.

A forwarded IVR leg's end goes the same way (:meth:`Settler.finish_leg`,
``forwarding.finish``), its answer time with it: a leg whose answer mark failed
too is still billed from FreeSWITCH's answer, not closed as failed.

``call_records.finish`` is idempotent by call uuid (one charge per call at
most, enforced by a unique index) and ``forwarding.finish`` by leg uuid (a row
already ``ended`` is left alone), so a retry after an answer that was lost on
the way back, or a replay after a crash between booking and the journal's
``done``, books nothing twice.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from daemon.logs import get_logger
from daemon.postgres.deadline import within
from daemon.postgres.errors import DB_ERRORS
from daemon.repositories import call_records, forwarding
from daemon.settlement.journal import CallEnd, Entry, Journal, LegEnd

_log = get_logger(__name__)

PoolGetter = Callable[[], asyncpg.Pool | None]
T = TypeVar("T")
Booking = Callable[[asyncpg.Pool], Awaitable[T]]
Booked = call_records.Finished | forwarding.Finished


def _call(end: CallEnd) -> Booking[call_records.Finished]:
    return lambda pool: call_records.finish(
        pool, end.call_uuid, end_us=end.end_us, hangup_cause=end.hangup_cause, ended_by=end.ended_by
    )


def _leg(end: LegEnd) -> Booking[forwarding.Finished]:
    return lambda pool: forwarding.finish(
        pool, end.leg_uuid, outcome=end.outcome, answer_us=end.answer_us, end_us=end.end_us
    )


def _booking(end: Entry) -> Booking[Booked]:
    return _leg(end) if isinstance(end, LegEnd) else _call(end)


class Settler:
    def __init__(self, pool: PoolGetter, journal: Journal, *, timeout: float = 2.0, retry_seconds: float = 2.0) -> None:
        self._pool = pool
        self.journal = journal
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self._writing = asyncio.Lock()  # the journal's lines in the order they were asked for

    @property
    def pending(self) -> int:
        return len(self.journal.pending)

    async def _journal(self, write: Callable[[], None]) -> None:
        """One journal write, off the event loop (module docstring)."""
        async with self._writing:
            await asyncio.to_thread(write)

    async def _book(self, booking: Booking[T]) -> T:
        pool = self._pool()
        if pool is None:
            raise ConnectionError("no database pool")
        return await within(self.timeout, booking(pool))

    async def _now_or_later(self, end: Entry, booking: Booking[T]) -> T | None:
        """The booked result, or None when ``end`` was journalled for later (the database failed)."""
        try:
            return await self._book(booking)
        except (*DB_ERRORS, ConnectionError) as exc:
            await self._journal(functools.partial(self.journal.add, end))
            _log.error("settlement_deferred", uuid=str(end.key), error=repr(exc), pending=self.pending)
            return None

    async def finish(
        self, call_uuid: uuid.UUID, *, end_us: int | None, hangup_cause: str, ended_by: str
    ) -> call_records.Finished | None:
        """A coaching call's end: booked, or None when journalled for later."""
        end = CallEnd(call_uuid, end_us, hangup_cause, ended_by)
        return await self._now_or_later(end, _call(end))

    async def finish_leg(
        self, leg_uuid: uuid.UUID, *, outcome: str, answer_us: int | None, end_us: int | None
    ) -> forwarding.Finished | None:
        """A forwarded leg's end (its answer, if it had one): booked, or None when journalled for later."""
        end = LegEnd(leg_uuid, outcome, answer_us, end_us)
        return await self._now_or_later(end, _leg(end))

    async def settle_pending(self) -> int:
        """Book what the journal holds; returns how many landed now (the rest stays for the next try)."""
        landed = 0
        for end in list(self.journal.pending.values()):
            try:
                done = await self._book(_booking(end))
            except LookupError:  # no such record: nothing to book, ever
                if isinstance(end, LegEnd) and end.answer_us is None:
                    # A leg closed after its abandoned write, which had rolled back (forwarding's
                    # late close cannot tell): never written, never rung, no money in it.
                    _log.info("settlement_leg_never_written", uuid=str(end.key))
                else:  # a charge with nothing to book it on (another database?)
                    _log.error("settlement_record_missing", uuid=str(end.key))
                await self._journal(functools.partial(self.journal.done, end.key))
                continue
            except (*DB_ERRORS, ConnectionError):
                break  # still down: keep the rest in order
            await self._journal(functools.partial(self.journal.done, end.key))
            landed += 1
            _log.warning(
                "settlement_booked_late",
                uuid=str(end.key),
                kind=type(end).__name__,
                charge_yen=done.charge_yen,
                already=done.already,
            )
        return landed

    async def run(self) -> None:
        """Retry the journal until it is empty, forever (a background task)."""
        while True:
            await asyncio.sleep(self.retry_seconds)
            if self.journal.pending:
                await self.settle_pending()
