"""After a restart: the daemon's own cut of a consultation that outlived the crash, on time.

The bridge goes on inside FreeSWITCH without us, bounded only by the backstop
``sched_hangup`` armed before the crash, which fires on whole seconds (0.2 to
1.7 s after the deadline; 1.06 s and 1.54 s of free talk on a real switch).  The
restarted daemon knows the deadline, so it cuts as a normal cutoff does
(:mod:`daemon.calls.cutoff`), over the inbound event socket instead of the dead
call's own socket:

* the caller's leg gets ``hangup_after_bridge=true`` first: no daemon holds it
  any more, so when the talk ends the caller's leg ends with it instead of
  falling through to the dialplan's "temporarily unavailable" guidance;
* the balance warning (``uuid_broadcast … aleg``, heard inside the bridge) if
  the group warns and its time is still ahead (a warning already due was most
  likely played before the crash);
* one second before the deadline the joint deadline is read again (another call
  of the caller ended, a deposit landed): a later one moves the cut, the record
  and the backstop (``sched_del`` + ``sched_hangup``);
* at the deadline ``uuid_setvar <caller> park_after_bridge true`` and
  ``uuid_kill <counsellor leg> ALLOTTED_TIMEOUT``, written back to back: the talk
  ends to the millisecond, and the caller's leg is parked instead of hung up
  (``switch_ivr_multi_threaded_bridge`` looks at ``park_after_bridge`` before
  ``hangup_after_bridge``; set only now, so a counsellor who hangs up earlier still
  takes the caller's leg down with the bridge);
* then, as in a normal cutoff, the caller hears the balance guidance and is hung
  up: ``uuid_broadcast <caller> playback!NORMAL_CLEARING::<balance_exhausted> aleg``
  (``switch_ivr_broadcast`` queues the playback, then ``hangup NORMAL_CLEARING``,
  both run by the park).  Only once FreeSWITCH took it is the backstop moved past
  the guidance (``sched_del`` + ``sched_hangup +N``); a refused broadcast gets
  ``uuid_kill <caller>``, and if the socket is gone the backstop armed for the
  deadline hangs the parked caller up.  The guidance is not billed: the talk ended
  with the counsellor's leg (daemon.recovery.reconcile takes the first leg's end,
  and the charge is clamped at the deadline).

The backstop stays armed as the last line.  The task is cancelled when the
call's hangup is heard first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

import asyncpg

from daemon.calls import guidance
from daemon.calls.cutoff import backstop_time, wall_us
from daemon.calls.services import Prompts
from daemon.esl.api_answer import seen
from daemon.inbound.client import InboundClient
from daemon.ivr.media import recorded_ms
from daemon.logs import get_logger
from daemon.postgres.deadline import within
from daemon.postgres.errors import DB_ERRORS
from daemon.prompts.catalog import warning_prompt
from daemon.repositories import call_records, money
from daemon.repositories.callers import CallerNotFound

_log = get_logger(__name__)
_T = TypeVar("_T")

#: The joint deadline is read again this long before it (the last change it can take).
REREAD_BEFORE_US = 1_000_000
REREAD_TIMEOUT_S = 0.5
#: The guidance the caller hears after the cut, as in a normal cutoff (daemon.calls.coaching).
GOODBYE = "balance_exhausted"
#: The backstop after the cut: the guidance's length + this (the broadcast starts ~0.2 s late,
#: the scheduler keeps whole seconds), or :data:`GOODBYE_UNKNOWN_S` if its file cannot be read here.
GOODBYE_GUARD_S = 2
GOODBYE_UNKNOWN_S = 30


def start(pool: asyncpg.Pool, client: InboundClient, record: asyncpg.Record, prompts: Prompts) -> asyncio.Task[None]:
    """The cut of ``record``'s call as a task; a failure (FreeSWITCH's socket gone) is logged, the backstop stays."""
    task = asyncio.get_running_loop().create_task(RestartCut(pool, client, record, prompts).run())
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        _log.error("restart_cutoff_failed", error=repr(exc))


async def _sleep_until(at_us: int) -> None:
    await asyncio.sleep(max(0.0, (at_us - wall_us()) / 1e6))


class RestartCut:
    """The cut of one talking call left by the previous life of this node."""

    def __init__(self, pool: asyncpg.Pool, client: InboundClient, record: asyncpg.Record, prompts: Prompts) -> None:
        self.pool = pool
        self.client = client
        self.record = record
        self.prompts = prompts
        self.call = str(record["call_uuid"])
        self.deadline_us: int | None = record["deadline_us"]
        self.cut = False

    async def run(self) -> None:
        leg = self.record["counsellor_leg"]
        if leg is None or self.record["caller_id"] is None:
            return
        await self.client.api(f"uuid_setvar {self.call} hangup_after_bridge true")
        warning_seconds = 0  # the database away: no warning, the cut still comes
        with contextlib.suppress(*DB_ERRORS):
            query = "SELECT warning_seconds FROM counsellor_groups WHERE id = $1"
            warning_seconds = await within(REREAD_TIMEOUT_S, self.pool.fetchval(query, self.record["group_id"])) or 0
        await self._reread()
        warned = self.deadline_us is not None and wall_us() >= self.deadline_us - warning_seconds * 1_000_000
        while self.deadline_us is not None:
            deadline = self.deadline_us
            warn_at = deadline - warning_seconds * 1_000_000
            if not warned and warning_seconds and wall_us() < warn_at:
                await _sleep_until(warn_at)
                await self._warn()
                warned = True
            await _sleep_until(deadline - REREAD_BEFORE_US)
            await self._reread()
            if self.deadline_us != deadline:
                warned = warned and (self.deadline_us or 0) - warning_seconds * 1_000_000 <= wall_us()
                continue
            park, kill = await self._at(deadline, lambda: self._send_cut(leg))
            await park
            reply = await kill
            lag_ms = (wall_us() - deadline) / 1000
            _log.info("restart_cutoff", call_uuid=self.call, lag_ms=round(lag_ms, 3), reply=reply.strip())
            await self._goodbye()
            return

    def _send_cut(self, leg: str) -> tuple[asyncio.Future[str], asyncio.Future[str]]:
        """Park the caller's leg and kill the counsellor's: both written now, in this order."""
        self.cut = True
        sent = (
            self.client.api_sent(f"uuid_setvar {self.call} park_after_bridge true"),
            self.client.api_sent(f"uuid_kill {leg} ALLOTTED_TIMEOUT"),
        )
        for answer in sent:  # the hangup may be heard (and this task cancelled) before the answers
            answer.add_done_callback(seen)
        return sent

    @staticmethod
    async def _at(at_us: int, send: Callable[[], _T]) -> _T:
        """What ``send`` returns, called by a plain timer callback at ``at_us``.

        Not by this task once woken: a woken task's step joins the end of the loop's
        queue, behind everything other calls' events woke in that turn (after a crash
        the restarted daemon cuts every surviving call, often many in the same second).
        """
        loop = asyncio.get_running_loop()
        sent: asyncio.Future[_T] = loop.create_future()

        def fire() -> None:
            try:
                sent.set_result(send())
            except Exception as exc:  # the socket gone: the task raises it, the backstop stays
                sent.set_exception(exc)

        timer = loop.call_at(loop.time() + max(0.0, (at_us - wall_us()) / 1e6), fire)
        try:
            return await sent
        finally:
            timer.cancel()

    async def _goodbye(self) -> None:
        """The parked caller: the balance guidance, then the hang-up; the backstop moved past it.

        Sent whatever the kill answered: a counsellor who hung up in the same instant
        may have left the caller parked too (or already gone: then nothing happens).
        """
        try:
            path = guidance.source(self.prompts, GOODBYE)
        except ValueError as exc:  # a path FreeSWITCH would cut in two: hang up as a bare cut
            path, reply = "", f"-ERR {exc}"
        else:
            reply = await self.client.api(f"uuid_broadcast {self.call} playback!NORMAL_CLEARING::{path} aleg")
        if not reply.startswith("+OK"):
            _log.error("restart_cutoff_guidance_refused", call_uuid=self.call, reply=reply.strip())
            await self.client.api(f"uuid_kill {self.call} ALLOTTED_TIMEOUT")
            return
        length_ms = recorded_ms(path)
        seconds = -(-length_ms // 1000) + GOODBYE_GUARD_S if length_ms else GOODBYE_UNKNOWN_S
        await self.client.api(f"sched_del {self.call}")
        await self.client.api(f"sched_hangup +{seconds} {self.call} ALLOTTED_TIMEOUT")
        _log.info("restart_cutoff_guidance", call_uuid=self.call, backstop_s=seconds)

    async def _reread(self) -> None:
        """The caller's joint deadline now; a new one moves the record's and the backstop.

        Kept as it was when the database does not answer in time, or says there is no
        limit any more (the backstop armed before the crash stands for the old one).
        """
        try:
            fresh = await within(REREAD_TIMEOUT_S, money.joint_deadline_of(self.pool, self.record["caller_id"]))
        except (*DB_ERRORS, CallerNotFound) as exc:
            _log.error("restart_cutoff_reread_failed", call_uuid=self.call, error=repr(exc))
            return
        if fresh == self.deadline_us or fresh is None:
            return
        self.deadline_us = fresh
        with contextlib.suppress(*DB_ERRORS):  # the charge is clamped at the deadline: try to record the new one
            await within(REREAD_TIMEOUT_S, call_records.set_deadline(self.pool, self.record["call_uuid"], fresh))
        await self.client.api(f"sched_del {self.call}")
        await self.client.api(f"sched_hangup {backstop_time(fresh, wall_us())} {self.call} ALLOTTED_TIMEOUT")
        _log.info("restart_cutoff_moved", call_uuid=self.call, deadline_us=fresh)

    async def _warn(self) -> None:
        left_s = ((self.deadline_us or 0) - wall_us()) / 1e6
        name = warning_prompt(left_s)
        reply = await self.client.api(f"uuid_broadcast {self.call} {self.prompts.path(name)} aleg")
        _log.info("restart_cutoff_warning", call_uuid=self.call, prompt=name, reply=reply.strip())
