"""The prepaid cutoff of one talking call: a warning, then the end, on time.

Two mechanisms, one deadline:

* the daemon's own timer (``run``): plays the warning to the caller inside the
  bridge ``warning_seconds`` before the deadline (``uuid_broadcast … aleg``; the
  bridge runs without event-lock so the broadcast is heard), and at the deadline
  hangs up the counsellor's leg, which ends the talk to the millisecond; the
  flow then tells the caller the balance is used up and hangs up;
* the backstop inside FreeSWITCH (``sched_hangup``), for when the daemon dies
  during the bridge.  FreeSWITCH's scheduler works in whole epoch seconds and
  fires at ``int(now) + N``, up to a second before ``now + N``, so it is armed
  for at least :data:`BACKSTOP_MARGIN_S` after the deadline, never at or before it.

The deadline moves when the caller's money picture changes (another call of
theirs starts or ends, a deposit lands): :meth:`update` wakes the timer, which
re-arms the backstop (``sched_del`` + ``sched_hangup``) before sleeping again.
"""

from __future__ import annotations

import asyncio
import math
import time

from daemon.calls.services import Prompts
from daemon.logs import get_logger
from daemon.metrics import Metrics
from daemon.outbound.session import Session

_log = get_logger(__name__)

BACKSTOP_MARGIN_S = 1.0


def wall_us() -> int:
    return time.time_ns() // 1000


def backstop_seconds(deadline_us: int, now_us: int, margin_s: float = BACKSTOP_MARGIN_S) -> int:
    """The N of ``sched_hangup +N`` so that FreeSWITCH fires no earlier than deadline + margin.

    FreeSWITCH fires at ``int(now_s) + N`` (whole seconds), so N counts from the
    start of the current second.
    """
    whole_now = now_us // 1_000_000
    return max(1, math.ceil(deadline_us / 1_000_000 + margin_s - whole_now))


class Cutoff:
    """Watches one talking call's deadline (µs since the epoch, FreeSWITCH's clock)."""

    def __init__(
        self,
        session: Session,
        counsellor_leg: str,
        *,
        warning_seconds: int,
        prompts: Prompts,
        metrics: Metrics,
    ) -> None:
        self.session = session
        self.counsellor_leg = counsellor_leg
        self.warning_seconds = warning_seconds
        self.prompts = prompts
        self.metrics = metrics
        self.deadline_us: int | None = None
        self._armed_us: int | None = None
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
        self.deadline_us = deadline_us
        self._changed.set()

    async def arm_backstop(self) -> None:
        """Make FreeSWITCH's own schedule match the current deadline."""
        self._changed.clear()
        uuid = self.session.uuid
        if self._armed_us is not None:
            await self.session.api(f"sched_del {uuid}")
            self._armed_us = None
        if self.deadline_us is None:
            return
        seconds = backstop_seconds(self.deadline_us, wall_us())
        reply = await self.session.api(f"sched_hangup +{seconds} {uuid} ALLOTTED_TIMEOUT")
        if reply.startswith("+OK"):
            self._armed_us = self.deadline_us
        else:
            _log.error("backstop_not_armed", reply=reply.strip())

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
        reply = await self.session.api(
            f"uuid_broadcast {self.session.uuid} {self.prompts.path('balance_warning')} aleg"
        )
        _log.info("cutoff_warning", reply=reply.strip())

    async def _cut(self, deadline_us: int) -> None:
        self.cut = True
        await self.session.api(f"uuid_kill {self.counsellor_leg} ALLOTTED_TIMEOUT")
        self.cut_lag_s = (wall_us() - deadline_us) / 1e6
        self.metrics.cutoffs.inc()
        self.metrics.cutoff_lag.observe(max(0.0, self.cut_lag_s))
        _log.info("cutoff", lag_ms=round(self.cut_lag_s * 1000, 3))
