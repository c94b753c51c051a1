"""The connection pool.

Connections carry no session state of ours (no SET, no prepared names we rely
on, listeners are removed explicitly), so a connection returned to the pool is
not reset: asyncpg's default reset costs a round trip on every release, i.e.
on every query made through ``pool.fetch…``.
"""

from __future__ import annotations

import asyncpg

from daemon.db.deadline import within
from daemon.db.errors import DB_ERRORS
from daemon.db.types import Conn


async def _keep(conn: Conn) -> None:
    """No reset between uses (see the module docstring)."""


async def create_pool(dsn: str, *, size: int) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min(2, size),
        max_size=size,
        server_settings={"application_name": "calld"},
        command_timeout=10,
        reset=_keep,
    )
    assert pool is not None
    return pool


REACHABLE_TIMEOUT = 1.0


async def reachable(pool: asyncpg.Pool) -> bool:
    """Does the database answer a trivial query within ``REACHABLE_TIMEOUT`` seconds?"""
    try:
        await within(REACHABLE_TIMEOUT, pool.fetchval("SELECT 1"))
    except DB_ERRORS:
        return False
    return True
