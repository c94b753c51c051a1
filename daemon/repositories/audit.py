"""The audit log: every money or configuration change, who made it (and through which door), before → after.

``record`` takes the connection of the change's own transaction, so the change
and its audit row commit together or not at all (the service layer's
``daemon.services.change`` does that for every operation).  The author is any
object with the four attributes of :class:`Author` (the service layer's
``Actor``), so this module knows nothing of the layers above it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from daemon.postgres.types import Conn


class Author(Protocol):
    """Who is acting, as the audit log remembers them."""

    @property
    def kind(self) -> str: ...
    @property
    def user_id(self) -> int | None: ...
    @property
    def login(self) -> str: ...
    @property
    def remote(self) -> str: ...


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
    actor_kind: str = "console"


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


async def record(
    conn: Conn,
    actor: Author,
    action: str,
    *,
    tenant_id: int | None,
    target: str = "",
    before: Any = None,
    after: Any = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (user_id, login, tenant_id, action, target, before, after, remote, actor_kind)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9)",
        actor.user_id,
        actor.login,
        tenant_id,
        action,
        target[:200],
        _json(before),
        _json(after),
        actor.remote[:100],
        str(actor.kind),
    )


@dataclass(frozen=True, slots=True)
class Filter:
    """Which rows to read: all of them by default; every field narrows."""

    tenant_id: int | None = None  # None: every tenant's (the platform's view)
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    login: str | None = None  # the actor as recorded ("op-alpha", "admin-api", "cli:root")
    actor_kind: str | None = None
    target: str | None = None  # the object, e.g. "caller 12"; a trailing "*" matches a prefix ("caller *")
    action: str | None = None  # e.g. "caller.update"; a trailing "*" matches a prefix ("ledger.*")
    before_id: int | None = None  # paging: rows older than this id


def _like(value: str | None) -> str | None:
    if value is None:
        return None
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped[:-1] + "%" if escaped.endswith("*") else escaped


async def recent(pool: asyncpg.Pool, tenant_id: int | None = None, limit: int = 200) -> list[Record]:
    """Newest first: every tenant's (``tenant_id`` None, the platform admin's view) or one tenant's."""
    return await search(pool, Filter(tenant_id=tenant_id), limit)


async def search(pool: asyncpg.Pool, where: Filter, limit: int = 200) -> list[Record]:
    """Newest first, narrowed by ``where``."""
    rows = await pool.fetch(
        "SELECT id, at, login, tenant_id, action, target, before::text, after::text, remote, actor_kind"
        " FROM audit_log"
        " WHERE ($1::bigint IS NULL OR tenant_id = $1)"
        " AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at < $3)"
        " AND ($4::text IS NULL OR login = $4) AND ($5::text IS NULL OR actor_kind = $5)"
        " AND ($6::text IS NULL OR target LIKE $6) AND ($7::text IS NULL OR action LIKE $7)"
        " AND ($8::bigint IS NULL OR id < $8)"
        " ORDER BY id DESC LIMIT $9",
        where.tenant_id,
        where.since,
        where.until,
        where.login,
        where.actor_kind,
        _like(where.target),
        _like(where.action),
        where.before_id,
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
            r["actor_kind"],
        )
        for r in rows
    ]
