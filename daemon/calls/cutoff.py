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
which re-arms the backstop (``sched_del`` + ``sched_hangup``) before sleeping again.
"""

from __future__ import annotations

import asyncio
import time

from daemon.calls.services import Prompts
from daemon.logs import get_logger
from daemon.metrics import Metrics
from daemon.outbound.session import Session
from daemon.prompts.catalog import warning_prompt

_log = get_logger(__name__)

#: The backstop never fires before deadline + this: the daemon's own cut comes first
#: unless its event loop is that late.
BACKSTOP_GUARD_US = 200_000
#: An absolute time closer than this to now might reach FreeSWITCH after it passed, and
#: switch_scheduler_add_task schedules a past runtime decades ahead: use ``+1`` instead.
_ABSOLUTE_MIN_AHEAD_US = 1_000_000


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
        reply = await self.session.api(f"sched_hangup {when} {self.session.uuid} ALLOTTED_TIMEOUT")
        if reply.startswith("+OK"):
            self.armed_for_us, self.runtime = deadline_us, when
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
        self.warned = False
        self.cut = False
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
        """Make FreeSWITCH's own schedule match the current deadline."""
        self._changed.clear()
        await self.backstop.arm(self.deadline_us)

    async def run(self) -> None:
        """Until the call is cut (returns) or cancelled when the talk ends otherwise."""
        while True:
            if self._changed.is_set():
                await self.arm_backstop()
            deadline = self.deadline_us
            if deadline is None:
                await self._changed.wait()
                continue
            now = wall_us()
            warn_at = deadline - self.warning_seconds * 1_000_000
            if not self.warned and self.warning_seconds > 0 and now < warn_at:
                if await self._sleep_until(warn_at):
                    await self._warn()
                continue
            if not self.warned and self.warning_seconds > 0 and now < deadline:
                await self._warn()  # the deadline came closer than the warning period
                continue
            if now < deadline:
                if await self._sleep_until(deadline):
                    await self._cut(deadline)
                    return
                continue
            await self._cut(deadline)
            return

    async def _sleep_until(self, at_us: int) -> bool:
        """True if the time came, False if the deadline changed first."""
        try:
            await asyncio.wait_for(self._changed.wait(), max(0.0, (at_us - wall_us()) / 1e6))
        except TimeoutError:
            return True
        return False

    async def _warn(self) -> None:
        self.warned = True
        left_s = ((self.deadline_us or 0) - wall_us()) / 1e6
        name = warning_prompt(left_s)
        reply = await self.session.api(f"uuid_broadcast {self.session.uuid} {self.prompts.path(name)} aleg")
        _log.info("cutoff_warning", prompt=name, left_s=round(left_s, 3), reply=reply.strip())

    async def _cut(self, deadline_us: int) -> None:
        self.cut = True
        await self.session.api(f"uuid_kill {self.leg} ALLOTTED_TIMEOUT")
        self.cut_lag_s = (wall_us() - deadline_us) / 1e6
        self.metrics.cutoffs.inc()
        self.metrics.cutoff_lag.observe(max(0.0, self.cut_lag_s))
        _log.info("cutoff", lag_ms=round(self.cut_lag_s * 1000, 3))
