"""The settler's own pool, for tests that take the database away from it, and waiting on its journal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from daemon.settlement.settler import Settler


@pytest.fixture
async def own_pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """The settler's pool, as the daemon's: it meets the outage."""
    p = await asyncpg.create_pool(db_dsn, min_size=1, max_size=2)
    assert p is not None
    yield p
    await p.close()


async def until_pending(settler: Settler, wanted: int, *, tries: int = 200, pause: float = 0.05) -> None:
    """Wait (at most ``tries`` × ``pause``) until the settler holds ``wanted`` journalled ends."""
    for _ in range(tries):
        if settler.pending == wanted:
            return
        await asyncio.sleep(pause)
