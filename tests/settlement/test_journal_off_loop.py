"""The settlement journal's fsync waits for the disk in a thread, not on the event loop (issue 16 item 5).

A call that ends while the database is slow is journalled (append + fsync).
That happens exactly when the daemon is loaded, and an fsync behind
PostgreSQL's own takes tens of milliseconds: on the loop it held every other
call's cutoff timer as long.  Here the disk is made slow (fsync sleeps
``DISK_S`` first) and the loop must keep its timers meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from daemon.loop_lag import LoopLagMonitor
from daemon.metrics import Metrics
from daemon.settlement.journal import CallEnd, Journal
from daemon.settlement.settler import Settler
from tests.settlement.test_settler import charges, talking_call

DISK_S = 0.3  # one fsync on a disk that is busy with PostgreSQL's
END_US = 1_700_000_000_000_000


@pytest.fixture
def slow_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.fsync

    def fsync(fd: int) -> None:
        time.sleep(DISK_S)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)  # the journal's (daemon.settlement.journal calls os.fsync)


async def held_loop(during: Awaitable[Any]) -> float:
    """The loop's worst lag (seconds) while ``during`` runs."""
    monitor = LoopLagMonitor(Metrics().loop_lag, interval=0.01)
    monitor.start()
    try:
        await during
        await asyncio.sleep(0.05)  # a timer held until ``during`` ended still fires, late, before we look
    finally:
        monitor.stop()
    return monitor.worst


async def test_a_deferred_end_is_journalled_without_holding_the_loop(tmp_path: Path, slow_disk: None) -> None:
    path = tmp_path / "settle.jsonl"
    settler = Settler(lambda: None, await asyncio.to_thread(Journal, path))  # no database: every end is deferred
    calls = [uuid.uuid4() for _ in range(3)]
    ends = asyncio.gather(
        *(settler.finish(c, end_us=END_US, hangup_cause="NORMAL_CLEARING", ended_by="cutoff") for c in calls)
    )
    assert await held_loop(ends) < DISK_S / 3
    assert await ends == [None, None, None]
    assert set(Journal(path).pending) == set(calls)  # durable, in the file, each of them


async def test_a_late_booking_marks_its_line_done_without_holding_the_loop(
    pool: asyncpg.Pool, tmp_path: Path, slow_disk: None
) -> None:
    call, _caller, end_us = await talking_call(pool, seconds=7)
    path = tmp_path / "settle.jsonl"
    journal = await asyncio.to_thread(Journal, path)
    await asyncio.to_thread(journal.add, CallEnd(call, end_us, "NORMAL_CLEARING", "caller"))
    settler = Settler(lambda: pool, journal)
    landed = asyncio.ensure_future(settler.settle_pending())
    assert await held_loop(landed) < DISK_S / 3
    assert await landed == 1
    assert await charges(pool, call) == [-70]
    assert Journal(path).pending == {}  # the done line is on disk too
