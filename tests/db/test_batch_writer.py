"""The background writer against the real database: batches, a full queue, a bad row, the flush on stop."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Sequence

import asyncpg
from structlog.testing import capture_logs

from daemon.calls.attempts import ATTEMPTS
from daemon.metrics import Metrics
from daemon.postgres.batch_writer import BatchWriter, Kind
from daemon.postgres.types import Conn
from daemon.repositories import attempts
from daemon.repositories.attempts import Attempt
from tests.factories import shop


def refused(tenant_id: int | None = None, *, caller_id: int | None = None) -> Attempt:
    return Attempt("lines_full", uuid.uuid4(), "0312345678", "09012345678", tenant_id=tenant_id, caller_id=caller_id)


def writer(pool: asyncpg.Pool, metrics: Metrics, **options: int) -> BatchWriter:
    return BatchWriter(lambda: pool, metrics, timeout=5.0, **options)


def counted(metrics: Metrics, name: str, kind: str = "attempt") -> float:
    value: float = getattr(metrics, name).labels(kind)._value.get()
    return value


async def rows(pool: asyncpg.Pool) -> int:
    n: int = await pool.fetchval("SELECT count(*) FROM call_attempts")
    return n


async def test_500_rows_are_one_statement(pool: asyncpg.Pool) -> None:
    statements: list[int] = []

    async def write(conn: Conn, batch: Sequence[Attempt]) -> None:
        statements.append(len(batch))
        await attempts.add_many(conn, batch)

    metrics = Metrics()
    w = writer(pool, metrics)
    counting = Kind("attempt", write)
    for _ in range(500):
        w.put(counting, refused())
    await w.drained()
    assert statements == [500]
    assert await rows(pool) == 500
    assert counted(metrics, "background_rows_written") == 500


async def test_a_full_queue_drops_and_counts_with_one_line_per_burst(pool: asyncpg.Pool) -> None:
    metrics = Metrics()
    w = writer(pool, metrics, capacity=3)
    with capture_logs() as logs:
        for _ in range(5):
            w.put(ATTEMPTS, refused())
        await w.drained()
    assert await rows(pool) == 3
    assert (counted(metrics, "background_rows_written"), counted(metrics, "background_rows_dropped")) == (3, 2)
    assert [(e["event"], e.get("rows")) for e in logs] == [
        ("background_queue_full", None),
        ("background_rows_dropped", {"attempt": 2}),
    ]


async def test_a_bad_row_is_the_only_one_lost(pool: asyncpg.Pool) -> None:
    """A caller deleted before the row is written: its batch is refused, the rows go one by one."""
    s = await shop(pool)
    metrics = Metrics()
    w = writer(pool, metrics)
    for i in range(10):
        w.put(ATTEMPTS, refused(s.tenant_id, caller_id=999_999 if i == 4 else None))
    await w.drained()
    assert await rows(pool) == 9
    assert (counted(metrics, "background_rows_written"), counted(metrics, "background_rows_failed")) == (9, 1)


async def test_stop_flushes_what_is_queued(pool: asyncpg.Pool) -> None:
    metrics = Metrics()
    w = writer(pool, metrics)
    for _ in range(100):
        w.put(ATTEMPTS, refused())
    await w.close(grace=5.0)
    assert await rows(pool) == 100
    w.put(ATTEMPTS, refused())  # a stopped writer takes nothing more, and says so
    assert counted(metrics, "background_rows_dropped") == 1


async def test_stop_gives_up_on_a_hanging_database_in_time(pool: asyncpg.Pool, db_dsn: str) -> None:
    own = await asyncpg.create_pool(db_dsn, min_size=1, max_size=2)
    assert own is not None
    metrics = Metrics()
    w = writer(own, metrics)
    try:
        async with pool.acquire() as locker, locker.transaction():
            await locker.execute("LOCK TABLE call_attempts IN ACCESS EXCLUSIVE MODE")
            for _ in range(10):
                w.put(ATTEMPTS, refused())
            await asyncio.sleep(0.2)  # the round is under way, waiting for the lock
            started = time.monotonic()
            await w.close(grace=0.5)
            assert time.monotonic() - started < 2.0
        assert counted(metrics, "background_rows_failed") == 10
    finally:
        await own.close()
    assert await rows(pool) == 0


async def test_a_round_given_up_keeps_the_next_one_off_a_second_connection(db_dsn: str) -> None:
    """Its server process frozen (SIGSTOP: the cancel at the timeout is not answered either), the round
    given up still holds its connection; the next round waits for it rather than take another."""
    own = await asyncpg.create_pool(db_dsn, min_size=1, max_size=4)
    assert own is not None
    metrics = Metrics()
    w = BatchWriter(lambda: own, metrics, timeout=0.3)
    backend: int = await own.fetchval("SELECT pg_backend_pid()")
    os.kill(backend, signal.SIGSTOP)
    try:
        w.put(ATTEMPTS, refused())
        await asyncio.sleep(0.6)  # timed out, its connection not back
        w.put(ATTEMPTS, refused())
        await asyncio.sleep(0.6)
        assert (own.get_size() - own.get_idle_size(), w.pending) == (1, 1)
        assert counted(metrics, "background_rows_failed") == 1
    finally:
        os.kill(backend, signal.SIGCONT)
    try:
        await asyncio.wait_for(w.drained(), 10)
        assert counted(metrics, "background_rows_written") >= 1  # the second row at least
    finally:
        await w.close(grace=1.0)
        await own.close()


async def test_rows_wait_for_a_busy_pool_rather_than_time_out(db_dsn: str) -> None:
    """The calls hold every connection for longer than the timeout: the rows wait their turn, none is lost."""
    own = await asyncpg.create_pool(db_dsn, min_size=1, max_size=1)
    assert own is not None
    metrics = Metrics()
    w = BatchWriter(lambda: own, metrics, timeout=0.3)
    try:
        async with own.acquire() as busy:
            for _ in range(10):
                w.put(ATTEMPTS, refused())
            await asyncio.sleep(1.0)
            assert w.pending == 10
            n = await busy.fetchval("SELECT count(*) FROM call_attempts")
            assert n == 0
        await w.drained()
        assert (counted(metrics, "background_rows_written"), counted(metrics, "background_rows_failed")) == (10, 0)
    finally:
        await w.close(grace=1.0)
        await own.close()
