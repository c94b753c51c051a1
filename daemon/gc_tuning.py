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
"""

from __future__ import annotations

import gc

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
