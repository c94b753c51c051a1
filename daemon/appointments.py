"""The moments the event loop has promised to be free: the prepaid cuts armed now.

A prepaid cut is a timer (:mod:`daemon.calls.cutoff`); anything that stops the
loop when one is due makes it late by as much.  The one such thing the daemon
can move is garbage collection (:class:`daemon.gc_tuning.Pacer`), which asks
:meth:`Appointments.first` for the next cut before it runs.

Times are the loop's (``loop.time()``), as the timers' own.  An appointment is
kept from the moment its timer is armed until its callback ran or it was
cancelled; one that is overdue (its callback not yet run) is still the first.
"""

from __future__ import annotations

import heapq
import itertools


class Appointments:
    """A heap of times, each with a token to cancel it by; cancelled ones are dropped lazily."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._open: dict[int, float] = {}  # token → time, of those not yet done
        self._tokens = itertools.count()

    def __len__(self) -> int:
        return len(self._open)

    def add(self, when: float) -> int:
        """Keep ``when``; the token given back ends it (:meth:`done`)."""
        token = next(self._tokens)
        self._open[token] = when
        heapq.heappush(self._heap, (when, token))
        if len(self._heap) > 2 * len(self._open) + 64:  # moved and ended deadlines far ahead: compact
            self._heap = [(w, t) for t, w in self._open.items()]
            heapq.heapify(self._heap)
        return token

    def done(self, token: int) -> None:
        """The appointment was kept (its timer ran) or called off; a second call does nothing."""
        self._open.pop(token, None)

    def first(self) -> float | None:
        """The earliest open appointment (perhaps already past), or None."""
        heap, open_ = self._heap, self._open
        while heap and heap[0][1] not in open_:
            heapq.heappop(heap)
        return heap[0][0] if heap else None


#: The prepaid cuts of this process (one event loop per daemon process).
CUTS = Appointments()
