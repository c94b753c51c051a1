"""The audit log: every money or configuration change made in the console, who made it, before → after.

``record`` takes the connection of the change's own transaction, so the change
and its audit row commit together or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from daemon.db.types import Conn


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, as the audit log remembers them."""

    user_id: int | None
    login: str
    remote: str = ""


@dataclass(frozen=True, slots=True)
class Record:
    id: int
    at: datetime
    login: str
    tenant_id: int | None
    action: str
    target: str
    before: Any
    after: Any
    remote: str


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


async def record(
    conn: Conn,
    actor: Actor,
    action: str,
    *,
    tenant_id: int | None,
    target: str = "",
    before: Any = None,
    after: Any = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (user_id, login, tenant_id, action, target, before, after, remote)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)",
        actor.user_id,
        actor.login,
        tenant_id,
        action,
        target[:200],
        _json(before),
        _json(after),
        actor.remote[:100],
    )


async def recent(pool: asyncpg.Pool, tenant_id: int | None = None, limit: int = 200) -> list[Record]:
    """Newest first: every tenant's (``tenant_id`` None, the platform admin's view) or one tenant's."""
    rows = await pool.fetch(
        "SELECT id, at, login, tenant_id, action, target, before::text, after::text, remote FROM audit_log"
        " WHERE $1::bigint IS NULL OR tenant_id = $1 ORDER BY id DESC LIMIT $2",
        tenant_id,
        limit,
    )
    return [
        Record(
            r["id"],
            r["at"],
            r["login"],
            r["tenant_id"],
            r["action"],
            r["target"],
            None if r["before"] is None else json.loads(r["before"]),
            None if r["after"] is None else json.loads(r["after"]),
            r["remote"],
        )
        for r in rows
    ]
