"""The pool's reserve: lines are taken and given back while the rest of the daemon holds the pool.

Under load (the soak, ``benchmarks.cutoff_load``) every connection was checked out by the call
flows and hundreds of tasks queued behind them; the line admissions and releases queued there too
and timed out.  Here ordinary work holds every connection it may, more of it waits, and a
release or an admission must still get through at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from daemon.postgres.deadline import within
from daemon.postgres.pool import create_pool, reserve_of, urgent
from daemon.repositories import admission
from daemon.repositories.admission import Outcome
from tests.db.test_admission import make_tenant

SIZE = 4  # ordinary work's share; the reserve (reserve_of) comes on top


@contextlib.asynccontextmanager
async def ordinary_work(pool: asyncpg.Pool, tasks: int) -> AsyncIterator[list[asyncpg.pool.PoolConnectionProxy]]:
    """``tasks`` tasks that each take a connection and keep it; yields the connections they got so far."""
    held: list[asyncpg.pool.PoolConnectionProxy] = []
    done = asyncio.Event()

    async def hold() -> None:
        async with pool.acquire() as conn:
            held.append(conn)
            await done.wait()

    holders = [asyncio.create_task(hold()) for _ in range(tasks)]
    await asyncio.sleep(0.2)
    try:
        yield held
    finally:
        done.set()
        await asyncio.gather(*holders)


@pytest.fixture
async def small_pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(db_dsn, size=SIZE)
    try:
        yield pool
    finally:
        await pool.close()


async def test_a_line_is_given_back_while_ordinary_work_holds_the_pool(small_pool: asyncpg.Pool) -> None:
    await make_tenant(small_pool, 1)
    call = uuid.uuid4()
    assert (await admission.admit(small_pool, call, "0312345678", "n1")).outcome is Outcome.ADMITTED
    async with ordinary_work(small_pool, SIZE + 5) as held:
        assert len(held) == SIZE  # the rest of the ordinary tasks wait
        assert await within(2.0, admission.BatchReleaser().release(small_pool, call))
        assert len(held) == SIZE
    assert await small_pool.fetchval("SELECT count(*) FROM active_calls") == 0


async def test_a_call_is_admitted_while_ordinary_work_holds_the_pool(small_pool: asyncpg.Pool) -> None:
    await make_tenant(small_pool, 2)
    admitter = admission.BatchAdmitter(asyncio.Semaphore(1))
    async with ordinary_work(small_pool, SIZE + 5):
        first, second = await within(
            2.0,
            asyncio.gather(
                admitter.admit(small_pool, uuid.uuid4(), "0312345678", "n1"),
                admitter.admit(small_pool, uuid.uuid4(), "0312345678", "n1"),
            ),
        )
    assert (first.outcome, second.outcome) == (Outcome.ADMITTED, Outcome.ADMITTED)
    assert second.in_use == 2


async def test_ordinary_work_that_gave_up_or_failed_leaves_its_share(small_pool: asyncpg.Pool) -> None:
    """A timed-out or cancelled acquisition, a failed query: ordinary work gets its whole share back."""
    async with ordinary_work(small_pool, SIZE):
        with pytest.raises(TimeoutError):
            await small_pool.acquire(timeout=0.1)
        waiting = asyncio.create_task(small_pool.fetchval("SELECT 1"))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    for _ in range(SIZE):
        with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
            await small_pool.fetchval("SELECT 1/0")
    async with ordinary_work(small_pool, SIZE) as held:
        assert len(held) == SIZE
    assert await within(1.0, small_pool.fetchval("SELECT 1")) == 1


async def test_a_connection_handed_to_a_waiting_ordinary_task_keeps_the_count(small_pool: asyncpg.Pool) -> None:
    """Urgent work holds all but two connections, ordinary work the other two, so a third ordinary task
    with its share in hand waits in the pool's queue: it gets the very connection given back next, which
    must count as its own, not as the giver's (a share lost for good each time otherwise)."""
    async with contextlib.AsyncExitStack() as taken:
        with urgent():
            for _ in range(SIZE + reserve_of(SIZE) - 2):
                await taken.enter_async_context(small_pool.acquire())
        await taken.enter_async_context(small_pool.acquire())
        giver = await taken.enter_async_context(small_pool.acquire())
        async with ordinary_work(small_pool, 1) as held:
            assert held == []
            await small_pool.release(giver)  # taken's release of it later does nothing
            await asyncio.sleep(0.1)
            assert len(held) == 1
    async with ordinary_work(small_pool, SIZE) as held:
        assert len(held) == SIZE


@pytest.mark.parametrize("size", [1, 2, 3])
async def test_a_small_pool_keeps_its_whole_size_for_ordinary_work_and_a_reserve_on_top(db_dsn: str, size: int) -> None:
    pool = await create_pool(db_dsn, size=size)
    try:
        async with ordinary_work(pool, size + 3) as held:
            assert len(held) == size
            with urgent():
                got = [await within(1.0, pool.acquire()) for _ in range(reserve_of(size))]
            for conn in got:
                await pool.release(conn)
    finally:
        await pool.close()
