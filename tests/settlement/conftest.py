"""The settler's own pool, for tests that take the database away from it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest


@pytest.fixture
async def own_pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """The settler's pool, as the daemon's: it meets the outage."""
    p = await asyncpg.create_pool(db_dsn, min_size=1, max_size=2)
    assert p is not None
    yield p
    await p.close()
