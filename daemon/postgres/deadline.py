"""Bound a database operation in time without waiting for it to stop.

``asyncio.wait_for`` cancels the operation at the timeout and then *waits for
the cancelled operation to finish*.  An asyncpg query cancelled while the
server hangs (its processes stopped, a frozen host, a black-holed network)
only gives its connection back to the pool once its cancel request got
through, that is once the server answers again: a 2-s timeout then takes as
long as the hang.  :func:`within` raises ``TimeoutError`` on time and lets the
cancelled operation end in the background (its connection goes back to the
pool, or is dropped, when the server answers or the socket breaks).

Only for operations that are safe to abandon half-way: a transaction that
never got its COMMIT is rolled back by the server; one that did is the
caller's to find out (admission's lines are freed by housekeeping, a
settlement is idempotent and retried from the journal).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from daemon.logs import get_logger

T = TypeVar("T")

_log = get_logger(__name__)


def _wake(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)


def _time_up(woken: asyncio.Future[None], task: asyncio.Future[Any]) -> None:
    """The deadline: wake the caller, or, if a shielded caller has gone, stop the operation."""
    if woken.done():
        task.cancel()
    else:
        woken.set_result(None)


async def _waking(operation: Awaitable[T], woken: asyncio.Future[None]) -> T:
    """``operation``, waking ``within`` the moment it ends (however it ends)."""
    try:
        return await operation
    finally:
        _wake(woken)


def _unheard(task: asyncio.Future[Any]) -> None:
    """A shielded operation that outlived its caller: how it failed has nobody to tell but the log."""
    if task.cancelled():
        _log.error("db_operation_stopped_after_caller_left", reason="cancelled: its deadline, or the daemon stopping")
    elif task.exception() is not None:
        _log.error("db_operation_failed_after_caller_left", error=repr(task.exception()))


def _ended(abandoned: Callable[[], object] | None, task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" noise
    if abandoned is not None:
        abandoned()


async def within(
    seconds: float,
    operation: Awaitable[T],
    *,
    abandoned: Callable[[], object] | None = None,
    shielded: bool = False,
) -> T:
    """``operation``'s result, or ``TimeoutError`` after ``seconds`` (the operation is cancelled, not awaited).

    ``abandoned()`` is called once an abandoned operation has really ended, however
    it ended: the server may have carried it out even though the client saw a
    cancellation (the query sat in the socket of a frozen backend, which ran and
    committed it when it woke, before the cancel request arrived).  The caller's
    chance to undo what it no longer wants (admission gives the line back).

    ``shielded``: a cancelled caller leaves the operation running, still up to its
    deadline (what ``asyncio.shield`` around ``within`` did, without a second task):
    for what must happen even when the call's task is cancelled (giving its line back).
    If it then fails, or is stopped at its deadline, that is logged (error), as the
    caller would have logged it.
    """
    # The operation needs a task of its own: at the time-out it must go on without us
    # (asyncio.timeout or wait_for run or await it in our task, and so wait out its
    # cancellation: the hang).  We wait on one bare future instead, woken by whichever
    # comes first, the operation's end (set from inside its task, which saves the loop
    # turn of a done callback) or a timer.  asyncio.wait did the same with a set, a
    # coroutine of its own, a done callback and its removal: 4 loop turns per call
    # against 3 here, and the operation always starts before we can be woken (its
    # first step is queued before any wake-up of ours), so it is never left unawaited.
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()
    task = loop.create_task(_waking(operation, woken))
    timer = loop.call_later(seconds, _time_up, woken, task)
    try:
        await woken
    except asyncio.CancelledError:
        # Shielded, the operation goes on and the timer stays to cancel it at its deadline;
        # unless the deadline has already passed (it woke us, then the cancel came before we ran).
        if not shielded or not woken.cancelled():
            timer.cancel()
            task.cancel()
        else:  # the operation goes on with nobody waiting for it (a call's line going back)
            task.add_done_callback(_unheard)
        task.add_done_callback(partial(_ended, abandoned))
        raise
    timer.cancel()
    if task.done():
        return task.result()
    task.cancel()
    task.add_done_callback(partial(_ended, abandoned))
    raise TimeoutError(f"no answer from the database within {seconds} s")
