"""daemon.postgres.deadline.within: on time even when the cancelled operation takes long to stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import pytest
from structlog.testing import capture_logs

from daemon.postgres.deadline import within


async def stubborn(result: int, stop_seconds: float, events: list[str]) -> int:
    """Like an asyncpg query cancelled while the server hangs: stopping takes ``stop_seconds``."""
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        events.append("cancelled")
        await asyncio.sleep(stop_seconds)
        events.append("finished late")
        return result  # the query had reached the server after all
    return result


async def test_an_answer_in_time_is_returned() -> None:
    async def quick() -> int:
        await asyncio.sleep(0.01)
        return 7

    assert await within(1.0, quick()) == 7


async def test_the_timeout_does_not_wait_for_the_cancelled_operation() -> None:
    events: list[str] = []
    ended: list[float] = []
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await within(0.1, stubborn(5, 1.0, events), abandoned=lambda: ended.append(time.monotonic()))
    assert time.monotonic() - started < 0.5  # asyncio.wait_for would take 1.1 s here
    await asyncio.sleep(0)
    assert events == ["cancelled"]
    assert ended == []
    await asyncio.sleep(1.2)
    assert events == ["cancelled", "finished late"]
    assert len(ended) == 1 and ended[0] - started >= 1.0  # told once the operation has really ended


async def test_an_abandoned_operation_that_fails_is_reported_ended_too() -> None:
    """A cancellation seen by the client does not prove the server did nothing."""

    async def fails() -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.1)
            raise
        return 1

    ended: list[str] = []
    with pytest.raises(TimeoutError):
        await within(0.05, fails(), abandoned=lambda: ended.append("ended"))
    assert ended == []
    await asyncio.sleep(0.2)
    assert ended == ["ended"]


async def test_errors_in_time_are_raised() -> None:
    async def refused() -> int:
        raise ConnectionRefusedError

    with pytest.raises(ConnectionRefusedError):
        await within(1.0, refused())


async def test_a_cancelled_caller_cancels_the_operation_and_is_told_when_it_ended() -> None:
    events: list[str] = []
    ended: list[str] = []
    caller = asyncio.ensure_future(within(5.0, stubborn(5, 0.1, events), abandoned=lambda: ended.append("ended")))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller  # at once, not after the operation's 0.1 s of stopping
    assert events == ["cancelled"]
    assert ended == []
    await asyncio.sleep(0.2)
    assert events == ["cancelled", "finished late"]
    assert ended == ["ended"]


async def test_a_shielded_operation_goes_on_after_the_timeout() -> None:
    async def slow() -> int:
        await asyncio.sleep(0.1)
        return 3

    inner = asyncio.ensure_future(slow())
    with pytest.raises(TimeoutError):
        await within(0.01, asyncio.shield(inner))
    assert await inner == 3


async def test_a_shielded_operation_outlives_its_cancelled_caller() -> None:
    """What ``asyncio.shield`` around ``within`` did: the call's task cancelled, its line still goes back."""
    ran: list[str] = []
    ended: list[str] = []

    async def release() -> int:
        ran.append("started")
        await asyncio.sleep(0.05)
        ran.append("done")
        return 1

    caller = asyncio.ensure_future(within(1.0, release(), abandoned=lambda: ended.append("ended"), shielded=True))
    await asyncio.sleep(0)  # the caller waits inside within
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller  # at once
    assert ran in ([], ["started"]) and ended == []
    await asyncio.sleep(0.1)
    assert ran == ["started", "done"]  # not cancelled half-way
    assert ended == ["ended"]


async def test_a_shielded_operation_still_has_its_deadline_after_its_caller_left() -> None:
    events: list[str] = []
    caller = asyncio.ensure_future(within(0.1, stubborn(5, 0.0, events), shielded=True))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert events == []  # not cancelled with its caller
    await asyncio.sleep(0.15)
    assert events == ["cancelled", "finished late"]  # cancelled at its deadline, not after stubborn's 10 s


async def test_a_shielded_operation_times_out_like_any_other() -> None:
    events: list[str] = []
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await within(0.05, stubborn(5, 1.0, events), shielded=True)
    assert time.monotonic() - started < 0.5
    await asyncio.sleep(0)
    assert events == ["cancelled"]


async def test_a_shielded_operation_whose_caller_is_cancelled_as_the_deadline_passes_is_stopped() -> None:
    """The deadline wakes the caller, which is cancelled before it runs: the operation still stops at its deadline."""
    events: list[str] = []
    caller = asyncio.ensure_future(within(0.05, stubborn(5, 0.0, events), shielded=True))
    await asyncio.sleep(0)  # the caller waits inside within, its deadline armed
    asyncio.get_running_loop().call_later(0.07, caller.cancel)
    time.sleep(0.1)  # noqa: ASYNC251  the loop held on purpose: the deadline and the cancel fall due in one turn, the deadline first
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.sleep(0.05)
    assert events == ["cancelled", "finished late"]  # not left running for stubborn's 10 s


async def leave(operation: Awaitable[int], seconds: float, wait: float) -> None:
    """Start ``operation`` shielded, cancel its caller after ``wait`` s, and see the caller end at once."""
    caller = asyncio.ensure_future(within(seconds, operation, shielded=True))
    await asyncio.sleep(wait)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller


async def test_a_shielded_operation_that_fails_after_its_caller_left_is_logged() -> None:
    """Nobody awaits it any more: its failure (the line not given back) goes to the log, as the caller's would have."""

    async def broken_release() -> int:
        await asyncio.sleep(0.02)
        raise ConnectionResetError("the database went away")

    with capture_logs() as logs:
        await leave(broken_release(), 1.0, 0)
        assert logs == []  # not yet: it is still running
        await asyncio.sleep(0.05)
    assert [(e["event"], e["log_level"], e["error"]) for e in logs] == [
        ("db_operation_failed_after_caller_left", "error", "ConnectionResetError('the database went away')")
    ]


async def test_a_shielded_operation_stopped_at_its_deadline_after_its_caller_left_is_logged() -> None:
    with capture_logs() as logs:
        await leave(asyncio.sleep(10, 0), 0.05, 0.01)  # a server that never answers
        assert logs == []
        await asyncio.sleep(0.1)
    assert [e["event"] for e in logs] == ["db_operation_stopped_after_caller_left"]


async def test_a_shielded_operation_that_succeeds_after_its_caller_left_logs_nothing() -> None:
    async def release() -> int:
        await asyncio.sleep(0.02)
        return 1

    with capture_logs() as logs:
        await leave(release(), 1.0, 0)
        await asyncio.sleep(0.05)
    assert logs == []
