"""The CHANNEL_HANGUP_COMPLETE events heard on the inbound socket, by leg: the recovery's one wait.

The reconciliations subscribe to CHANNEL_HANGUP_COMPLETE, then ask
``uuid_exists`` about each leg.  A leg can hang up between its ``true`` and the
moment we look at the queue, so a hangup that was heard is never dropped: every
event taken off the queue is kept here, and :meth:`Hangups.each` first yields
the wanted legs already heard, then waits for the others until a time limit.
Legs that are not wanted themselves (a counsellor's leg, whose end may come
first and end the talk) stay readable in :attr:`Hangups.heard`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable

from daemon.esl import Event

HANGUP_COMPLETE = "CHANNEL_HANGUP_COMPLETE"


def positive_us(value: str | int | None) -> int | None:
    """A µs timestamp from an event or a CDR; 0, empty or garbage is None."""
    number = int(value) if isinstance(value, int) or (value and value.isdigit()) else 0
    return number if number > 0 else None


def end_us(event: Event) -> int | None:
    return positive_us(event.get("variable_end_uepoch"))


class Hangups:
    """Every hangup taken off ``queue`` so far, by leg uuid (the last one heard wins)."""

    def __init__(self, queue: asyncio.Queue[Event]) -> None:
        self.queue = queue
        self.heard: dict[uuid.UUID, Event] = {}

    def take_queued(self) -> dict[uuid.UUID, Event]:
        """Keep what is queued now, without waiting; the hangups heard so far."""
        while not self.queue.empty():
            self._keep(self.queue.get_nowait())
        return self.heard

    def _keep(self, event: Event) -> None:
        if event.name != HANGUP_COMPLETE:
            return
        try:
            self.heard[uuid.UUID(event.unique_id)] = event
        except ValueError:
            return

    async def each(self, legs: Iterable[uuid.UUID], limit_seconds: float) -> AsyncIterator[tuple[uuid.UUID, Event]]:
        """Each of ``legs`` with its hangup: those already heard at once, the rest as they come.

        Stops when every leg was yielded or ``limit_seconds`` have passed.
        """
        waiting = set(legs)
        self.take_queued()
        loop = asyncio.get_running_loop()
        until = loop.time() + limit_seconds
        while waiting:
            for leg in [leg for leg in waiting if leg in self.heard]:
                waiting.discard(leg)
                yield leg, self.heard[leg]
            left = until - loop.time()
            if not waiting or left <= 0:
                return
            try:
                event = await asyncio.wait_for(self.queue.get(), left)
            except TimeoutError:
                return
            self._keep(event)
