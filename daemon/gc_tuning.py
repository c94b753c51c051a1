"""Keep Python's garbage collector from stopping the event loop for long.

A full (oldest-generation) collection walks every tracked object, and while it
runs the loop runs nothing: no cutoff timer, no reply to FreeSWITCH.  Most of
those objects are the daemon's own code and libraries (aiohttp, pydantic,
jinja2, asyncpg …: about 77,000 objects after start), which never become
garbage; walking them took 30-270 ms a time on the project's 2-core machine
depending on its load, i.e. a late prepaid cut and a burst of loop lag
(``calld_event_loop_lag_seconds``) every few seconds under load.

:func:`settle` (once the daemon is up) moves everything alive into the
permanent generation (``gc.freeze``), so collections only walk what was made
since: the calls' objects.  :func:`tune` (before the loop starts) makes the
youngest generation collect ten times less often: a call makes hundreds of
short-lived objects that reference counting frees anyway, and each young
collection is a pause with nothing to find.

It also makes full collections rare.  With 1,000 calls in flight a full
collection walks about 100,000 live call objects for some 400 of garbage, and
stops the loop 150-230 ms each time: in the 10-minute soak CPython's default
(one every 10 middle collections) made 10 of them, every one over the cutoff's
50 ms aim; one every 200 middle collections made one.  Middle collections come
twice as often (every 5 young ones), so each walks half as much.  Figures:
BENCHMARKS.md, "Garbage collection at 1,000 calls in flight".

And it moves collections out of the way of the prepaid cuts (:class:`Pacer`).
Even so, with 1,000 calls in flight a young collection stopped the loop for
14 ms on average and a middle one for 34 ms (up to 85 and 135 ms), about 20 s
of a 10-minute soak: a cut due meanwhile waited for it.  CPython collects
whenever an allocation crosses a threshold, wherever the loop is; the pacer
turns that off (``gc.disable``) and runs the same collections from a timer,
at a moment when no cut is due before the collection could be over.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque

from daemon.appointments import Appointments
from daemon.logs import get_logger

_log = get_logger(__name__)

#: Allocations (minus deallocations) between two young collections (CPython's default: 700).
YOUNG_THRESHOLD = 7_000


#: Young collections between two middle-generation ones (CPython's default: 10).
MIDDLE_THRESHOLD = 5
#: Middle collections between two full ones, at the most often (CPython's default: 10).
OLD_THRESHOLD = 200


def tune() -> None:
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)


def settle() -> None:
    """Collect what start-up left behind, then stop walking what is alive now."""
    gc.collect()
    gc.freeze()


#: Seconds between two looks whether a collection is due.
LOOK = 0.01
#: The longest (s) a due collection is put off for the cuts: garbage must not pile up behind a run of them.
LONGEST_WAIT = 1.0
#: Room (s) kept between a collection's expected end and the next cut: the loop's own lateness.
ROOM = 0.005
#: What a collection of a generation is expected to take before one was timed (s).
FIRST_GUESS = 0.05
#: Collections of a generation whose longest sets the next one's expected time.
REMEMBERED = 8


class Pacer:
    """Runs the collections CPython's thresholds call for, between the loop's appointments.

    Every :data:`LOOK` seconds it asks which generation is due, as CPython would
    (the oldest whose count passed its threshold; CPython's extra condition for
    a full collection, a quarter of the old heap new since the last one, is not
    visible from Python and not kept).  The collection runs when the next cut is
    further away than the longest of that generation's last collections plus
    :data:`ROOM`; else it is put off to a later look, for :data:`LONGEST_WAIT` at
    most, then run whatever is due.
    """

    def __init__(self, cuts: Appointments, *, look: float = LOOK, longest_wait: float = LONGEST_WAIT) -> None:
        self.cuts = cuts
        self.look = look
        self.longest_wait = longest_wait
        self.collections = [0, 0, 0]  # per generation
        self.put_off = 0  # looks that found a collection due and a cut too close
        self.forced = 0  # collections run after LONGEST_WAIT with a cut close
        self._took: list[deque[float]] = [deque([FIRST_GUESS], maxlen=REMEMBERED) for _ in range(3)]
        self._due_since: float | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._was_enabled = True

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._arm(asyncio.get_running_loop())

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._was_enabled:
            gc.enable()
        _log.info("gc_paced", collections=self.collections, put_off=self.put_off, forced=self.forced)

    def expected(self, generation: int) -> float:
        return max(self._took[generation])

    @staticmethod
    def due() -> int | None:
        """The generation CPython would collect now (None: none)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if thresholds[generation] and counts[generation] > thresholds[generation]:
                return generation
        return None

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        self._handle = loop.call_at(loop.time() + self.look, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._arm(loop)
        generation = self.due()
        if generation is None:
            return
        now = loop.time()
        if self._due_since is None:
            self._due_since = now
        cut = self.cuts.first()
        clear = cut is None or cut > now + self.expected(generation) + ROOM
        if not clear and now - self._due_since < self.longest_wait:
            self.put_off += 1
            return
        self.forced += not clear
        self._due_since = None
        started = time.perf_counter()
        gc.collect(generation)
        self._took[generation].append(time.perf_counter() - started)
        self.collections[generation] += 1
