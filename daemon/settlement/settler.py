"""Book a call's end and charge now, or as soon as the database is back: exactly once either way.

A call ends while PostgreSQL is down, restarting or hanging.  The talk itself
was cut on time (the deadline was already known), but its charge and its record
would be lost until this node restarted, and then only estimated.  Instead:

* :meth:`Settler.finish` tries ``call_records.finish`` (bounded by a timeout);
* if the database fails, the call's end, with FreeSWITCH's own timestamp, goes
  into the local :class:`~daemon.settlement.journal.Journal` (fsync'd) and
  :meth:`Settler.run` retries it every few seconds until the database takes it;
* a restarted node replays the journal (:meth:`Settler.settle_pending`) before
  crash recovery, so the exact end wins over an estimate.

``call_records.finish`` is idempotent by call uuid (one charge per call at
most, enforced by a unique index), so a retry after an answer that was lost on
the way back books nothing twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import asyncpg

from daemon.db import call_records
from daemon.db.call_records import Finished
from daemon.db.deadline import within
from daemon.db.errors import DB_ERRORS
from daemon.logs import get_logger
from daemon.settlement.journal import CallEnd, Journal

_log = get_logger(__name__)

PoolGetter = Callable[[], asyncpg.Pool | None]


class Settler:
    def __init__(self, pool: PoolGetter, journal: Journal, *, timeout: float = 2.0, retry_seconds: float = 2.0) -> None:
        self._pool = pool
        self.journal = journal
        self.timeout = timeout
        self.retry_seconds = retry_seconds

    @property
    def pending(self) -> int:
        return len(self.journal.pending)

    async def _book(self, end: CallEnd) -> Finished:
        pool = self._pool()
        if pool is None:
            raise ConnectionError("no database pool")
        return await within(
            self.timeout,
            call_records.finish(
                pool, end.call_uuid, end_us=end.end_us, hangup_cause=end.hangup_cause, ended_by=end.ended_by
            ),
        )

    async def finish(
        self, call_uuid: uuid.UUID, *, end_us: int | None, hangup_cause: str, ended_by: str
    ) -> Finished | None:
        """The booked result, or None when it was journalled for later (the database failed)."""
        end = CallEnd(call_uuid, end_us, hangup_cause, ended_by)
        try:
            return await self._book(end)
        except (*DB_ERRORS, ConnectionError) as exc:
            self.journal.add(end)
            _log.error("settlement_deferred", call_uuid=str(call_uuid), error=repr(exc), pending=self.pending)
            return None

    async def settle_pending(self) -> int:
        """Book what the journal holds; returns how many landed now (the rest stays for the next try)."""
        landed = 0
        for end in list(self.journal.pending.values()):
            try:
                done = await self._book(end)
            except LookupError:  # no such record (another database?): nothing to book, ever
                _log.error("settlement_record_missing", call_uuid=str(end.call_uuid))
                self.journal.done(end.call_uuid)
                continue
            except (*DB_ERRORS, ConnectionError):
                break  # still down: keep the rest in order
            self.journal.done(end.call_uuid)
            landed += 1
            _log.warning(
                "settlement_booked_late",
                call_uuid=str(end.call_uuid),
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
