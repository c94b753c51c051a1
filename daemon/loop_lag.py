"""How late the event loop runs a timer: the lag every call's timing shares.

A prepaid cutoff, a keypad timeout and a reply to FreeSWITCH all wait for the
loop to come round; when one turn of it takes long (a burst of set-ups, a big
garbage collection, a slow callback) every one of them is late by as much.  A
timer re-armed every :data:`INTERVAL` seconds measures it: the time it fires
minus the time it was due goes into ``calld_event_loop_lag_seconds``.  One
``call_later`` handle per interval and no task: it costs nothing the loop would
notice, and it keeps measuring while tasks are starved.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import Histogram

#: Seconds between two samples: short enough to catch a lag worth a cutoff's aim (50 ms).
INTERVAL = 0.025


class LoopLagMonitor:
    """Samples the running loop's lag into ``histogram`` until :meth:`stop`."""

    def __init__(self, histogram: Histogram, interval: float = INTERVAL) -> None:
        self.histogram = histogram
        self.interval = interval
        self.worst = 0.0  # the largest lag seen (seconds), for logs and tests
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self) -> None:
        self._arm(asyncio.get_running_loop())

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        self._due = time.monotonic() + self.interval
        self._handle = loop.call_at(loop.time() + self.interval, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        lag = max(0.0, time.monotonic() - self._due)
        self.worst = max(self.worst, lag)
        self.histogram.observe(lag)
        self._arm(loop)
