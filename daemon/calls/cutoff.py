"""The prepaid cutoff of one talking call: a warning, then the end, on time.

Two mechanisms, one deadline:

* the daemon's own timer (:class:`Cutoff`): plays a warning that says how much time
  is really left (``balance_warning_*``) to the caller inside the bridge
  ``warning_seconds`` before the deadline (``uuid_broadcast … aleg``; the bridge runs
  without event-lock so the broadcast is heard), and at the deadline hangs up the
  counsellor's leg, which ends the talk to the millisecond; the flow then tells the
  caller the balance is used up and hangs up;
* the backstop inside FreeSWITCH (:class:`Backstop`, ``sched_hangup``), for when the
  daemon dies during the bridge.  FreeSWITCH's scheduler keeps whole epoch seconds
  and polls every 0.5 s (switch_scheduler.c: fires when ``now >= runtime``), and
  ``sched_hangup`` takes an absolute epoch second when the time has no ``+``
  (mod_commands).  So the backstop is armed for the first whole second at least
  :data:`BACKSTOP_GUARD_US` after the deadline: never before the daemon's own cut,
  at most ``guard + 1 s + one poll`` (1.7 s) after the deadline, 0.95 s on average.

The deadline moves when the caller's money picture changes (another call of
theirs starts or ends, a deposit lands): :meth:`Cutoff.update` wakes the timer,
which sleeps again towards the new deadline at once.

The cut waits for nothing but its timer, whose callback writes the ``uuid_kill``
itself (not the cutoff's task once woken, which queues behind every task other
calls' events woke in that turn of the loop).  Everything else a cutoff sends
(re-arming the backstop, the warning) runs beside it in tasks of its own, so a
slow answer from FreeSWITCH to a ``sched_hangup`` or a ``uuid_broadcast`` never
holds the ``uuid_kill`` back; and the caller of :class:`Cutoff` starts it with a
deadline it computed itself, before any database work of the talk's start (a
soak under load had 20 of 6,790 cuts ended by the backstop, the timer started
only after ``mark_talking`` and the deadline's recomputation had queued for the
pool).  The backstop still follows every deadline, a moment behind the timer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from daemon.calls.services import Prompts
from daemon.esl.api_answer import seen
from daemon.logs import get_logger
from daemon.metrics import Metrics
from daemon.outbound.session import CallEnded, Session
from daemon.prompts.catalog import warning_prompt

_log = get_logger(__name__)

#: The backstop never fires before deadline + this: the daemon's own cut comes first
#: unless its event loop is that late.
BACKSTOP_GUARD_US = 200_000
#: An absolute time closer than this to now might reach FreeSWITCH after it passed, and
#: switch_scheduler_add_task schedules a past runtime decades ahead: use ``+1`` instead.
_ABSOLUTE_MIN_AHEAD_US = 1_000_000
#: mod_commands' answer to ``sched_hangup`` for a channel that no longer exists.
CHANNEL_GONE = "-ERR No such channel!"


def wall_us() -> int:
    return time.time_ns() // 1000


def backstop_time(deadline_us: int, now_us: int) -> str:
    """The time argument of ``sched_hangup``: the first whole epoch second >= deadline + guard.

    Usually that second itself (absolute).  When it is less than a second away,
    ``+1`` (``int(now) + 1`` inside FreeSWITCH, which is that second or, if the
    command crosses a second boundary, the next).  mod_commands hangs up at once when
    ``atol(time + 1)`` is 0 (an epoch like 2000000000): then one second later.
    """
    target = -(-(deadline_us + BACKSTOP_GUARD_US) // 1_000_000)
    if target * 1_000_000 - now_us < _ABSOLUTE_MIN_AHEAD_US:
        return "+1"
    text = str(target)
    if int(text[1:] or "0") == 0:
        text = str(target + 1)
    return text


class Backstop:
    """FreeSWITCH's own hangup of one channel (``sched_hangup``), kept at a deadline."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.armed_for_us: int | None = None  # the deadline the armed task stands for
        self.runtime: str | None = None  # what was sent (for logs and tests)

    async def arm(self, deadline_us: int | None) -> None:
        """Replace the armed task by one for ``deadline_us`` (None: none at all)."""
        if deadline_us is not None and deadline_us == self.armed_for_us:
            return
        await self.disarm()
        if deadline_us is None:
            return
        when = backstop_time(deadline_us, wall_us())
        # Counted as armed from the moment it is written: a disarm that overtakes the
        # answer still deletes it (FreeSWITCH runs one socket's commands in order).
        self.armed_for_us, self.runtime = deadline_us, when
        reply = await self.session.api(f"sched_hangup {when} {self.session.uuid} ALLOTTED_TIMEOUT")
        if not reply.startswith("+OK") and self.armed_for_us == deadline_us:
            self.armed_for_us = self.runtime = None
            # The channel hung up while the arm was on its way: a benign race (nothing left to
            # cut), not a cutoff without its backstop.  Any other refusal is.
            if reply.strip() == CHANNEL_GONE:
                _log.info("backstop_not_armed", reply=reply.strip())
            else:
                _log.error("backstop_not_armed", reply=reply.strip())

    async def disarm(self) -> None:
        if self.armed_for_us is not None:
            self.armed_for_us = None
            await self.session.api(f"sched_del {self.session.uuid}")


class Cutoff:
    """Watches one talking call's deadline (µs since the epoch, FreeSWITCH's clock)."""

    def __init__(
        self,
        session: Session,
        leg: str,
        backstop: Backstop,
        *,
        warning_seconds: int,
        prompts: Prompts,
        metrics: Metrics,
        just_announced: bool = False,
    ) -> None:
        """``leg``: the far end's leg to hang up at the deadline.  ``just_announced``: the
        caller was told the time left a moment ago, so a deadline already inside the
        warning period when the talk starts is not warned about again."""
        self.session = session
        self.leg = leg
        self.backstop = backstop
        self.warning_seconds = warning_seconds
        self.prompts = prompts
        self.metrics = metrics
        self.deadline_us: int | None = None
        self._quiet_start = just_announced
        self._changed = asyncio.Event()
        self._aside: set[asyncio.Task[None]] = set()  # backstop re-arm, warning: never awaited by the cut
        self._following = False  # a task keeps the backstop on the current deadline
        self._stopped = False
        self.warned = False
        self.cut = False
        self._kill: asyncio.Future[str] | None = None  # the uuid_kill's answer, once sent
        self.cut_lag_s: float | None = None

    def update(self, deadline_us: int | None) -> None:
        """A new deadline (None: no limit any more)."""
        if deadline_us == self.deadline_us:
            return
        later = deadline_us is not None and deadline_us - self.warning_seconds * 1_000_000 > wall_us()
        if self.warned and later:
            self.warned = False  # money landed after the warning: warn again before the new end
        if self._quiet_start and deadline_us is not None:
            self._quiet_start = False
            self.warned = self.warned or not later
        self.deadline_us = deadline_us
        self._changed.set()

    async def arm_backstop(self) -> None:
        """Make FreeSWITCH's own schedule match the current deadline (until it stops moving)."""
        armed: object = ...
        while armed != self.deadline_us:
            armed = self.deadline_us
            await self.backstop.arm(self.deadline_us)

    def stop(self) -> None:
        """The talk is over: nothing more is sent for this cutoff (the caller disarms the backstop).

        Cancelling a task stops it before its next write, so a re-arm cannot land
        after the caller's ``sched_del``.
        """
        self._stopped = True
        for task in list(self._aside):
            task.cancel()

    def _beside(self, work: Coroutine[Any, Any, None]) -> None:
        if self._stopped:  # a wake-up that raced the stop: send nothing more
            work.close()
            return
        task = asyncio.get_running_loop().create_task(work)
        self._aside.add(task)
        task.add_done_callback(self._aside_done)

    def _aside_done(self, task: asyncio.Task[None]) -> None:
        self._aside.discard(task)
        if not task.cancelled() and task.exception() is not None and not isinstance(task.exception(), CallEnded):
            _log.error("cutoff_side_task_failed", error=repr(task.exception()))

    def _follow_backstop(self) -> None:
        """Re-arm the backstop in a task of its own (one at a time; it catches up with later moves)."""
        if self._following:
            return
        self._following = True

        async def follow() -> None:
            try:
                await self.arm_backstop()
            finally:
                self._following = False

        self._beside(follow())

    async def run(self) -> None:
        """Until the call is cut (returns) or cancelled when the talk ends otherwise."""
        try:
            await self._run()
        except asyncio.CancelledError:
            self.stop()
            raise

    async def _run(self) -> None:
        while not self._stopped:
            if self._changed.is_set():
                self._changed.clear()
                self._follow_backstop()
            deadline = self.deadline_us
            if deadline is None:
                await self._changed.wait()
                continue
            now = wall_us()
            warn_at = deadline - self.warning_seconds * 1_000_000
            if not self.warned and self.warning_seconds > 0 and now < warn_at:
                if await self._sleep_until(warn_at):
                    self._warn()
                continue
            if not self.warned and self.warning_seconds > 0 and now < deadline:
                self._warn()  # the deadline came closer than the warning period
                continue
            if now >= deadline:
                self._send_cut(deadline)
            elif not await self._cut_at(deadline):
                continue  # the deadline moved first
            await self._cut_answered(deadline)
            return

    async def _sleep_until(self, at_us: int) -> bool:
        """True if the time came, False if the deadline changed first."""
        try:
            async with asyncio.timeout(max(0.0, (at_us - wall_us()) / 1e6)):
                await self._changed.wait()
        except TimeoutError:
            return True
        return False

    async def _cut_at(self, deadline_us: int) -> bool:
        """Sleep until the cut was sent at ``deadline_us`` (True) or the deadline changed (False).

        The cut is sent by a plain timer callback (:meth:`_send_cut`), not by this task
        after it wakes: the loop runs a due timer's callback at the start of its next
        turn, while a woken task's step joins the end of the queue, behind every task
        that other calls' events woke meanwhile (a burst of bridge ends, settlements and
        goodbyes).  The loop-lag samples (``calld_event_loop_lag_seconds``) are timer
        callbacks too: the cut is as late as they say, not a whole turn more.
        """
        loop = asyncio.get_running_loop()
        delay = max(0.0, (deadline_us - wall_us()) / 1e6)
        timer = loop.call_at(loop.time() + delay, self._send_cut, deadline_us)
        try:
            await self._changed.wait()
        finally:
            timer.cancel()
        return self._kill is not None

    def _send_cut(self, deadline_us: int) -> None:
        """Hang the far end's leg up now (``uuid_kill`` written before this returns)."""
        if self._stopped or self.cut or self.deadline_us != deadline_us:
            return  # a timer that raced a stop or a new deadline
        self.cut = True
        self.metrics.cutoff_sent_lag.observe(max(0.0, (wall_us() - deadline_us) / 1e6))
        try:
            self._kill = self.session.api_sent(f"uuid_kill {self.leg} ALLOTTED_TIMEOUT")
        except CallEnded as exc:
            self._kill = asyncio.get_running_loop().create_future()
            self._kill.set_exception(exc)
        self._kill.add_done_callback(seen)  # the talk may end (and this task be cancelled) before the answer
        self._changed.set()

    async def _cut_answered(self, deadline_us: int) -> None:
        assert self._kill is not None
        await self._kill
        self.cut_lag_s = (wall_us() - deadline_us) / 1e6
        self.metrics.cutoffs.inc()
        self.metrics.cutoff_lag.observe(max(0.0, self.cut_lag_s))
        _log.info("cutoff", lag_ms=round(self.cut_lag_s * 1000, 3))

    def _warn(self) -> None:
        self.warned = True
        left_s = ((self.deadline_us or 0) - wall_us()) / 1e6
        name = warning_prompt(left_s)
        command = f"uuid_broadcast {self.session.uuid} {self.prompts.path(name)} aleg"

        async def broadcast() -> None:
            reply = await self.session.api(command)
            _log.info("cutoff_warning", prompt=name, left_s=round(left_s, 3), reply=reply.strip())

        self._beside(broadcast())
