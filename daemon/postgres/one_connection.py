"""A pool stand-in over one connection in a transaction.

The repository functions take a pool and open their own transactions; handed
this, they run on the caller's connection and their transactions become
savepoints of the caller's one transaction.  The demo shop is built this way in
one transaction, and the console commits a change and its audit row together.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import asyncpg

from daemon.postgres.types import Conn


class _OneConnection:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Conn]:
        yield self._conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def one_connection(conn: Conn) -> asyncpg.Pool:
    """``conn`` typed as the pool the repository functions expect."""
    return cast(asyncpg.Pool, _OneConnection(conn))
