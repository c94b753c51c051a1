"""A change made in the console: the repository call and its audit row in one transaction.

    async with audited(request) as change:
        await callers.update(change.pool, tenant, caller_id, **values)
        await change.record("caller.update", tenant_id=tenant, target=f"caller {caller_id}",
                            before=old, after=values)

``change.pool`` is the transaction's connection dressed as a pool, so the
repositories' own transactions become savepoints and nothing commits until the
audit row is written too.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from daemon.console.viewer import viewer_of
from daemon.db import audit
from daemon.db.one_connection import one_connection
from daemon.db.types import Conn
from daemon.http.context import pool_of


@dataclass(frozen=True, slots=True)
class Change:
    conn: Conn
    pool: asyncpg.Pool
    actor: audit.Actor

    async def record(
        self, action: str, *, tenant_id: int | None, target: str = "", before: Any = None, after: Any = None
    ) -> None:
        await audit.record(
            self.conn, self.actor, action, tenant_id=tenant_id, target=target, before=before, after=after
        )


@contextlib.asynccontextmanager
async def audited(request: web.Request) -> AsyncIterator[Change]:
    async with pool_of(request).acquire() as conn, conn.transaction():
        yield Change(conn, one_connection(conn), viewer_of(request).actor)
