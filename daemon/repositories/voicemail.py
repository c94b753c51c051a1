"""Voicemail messages: the recording FreeSWITCH wrote and a row saying whose it is."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from daemon.postgres.types import Queryable
from daemon.repositories.tenants import NotFound


@dataclass(frozen=True, slots=True)
class Voicemail:
    id: int
    call_uuid: uuid.UUID
    flow_node: str
    caller_number: str
    dialled: str
    path: str
    duration_ms: int
    created_at: datetime
    heard_at: datetime | None = None  # None: not yet heard (sql/023)


_COLUMNS = "id, call_uuid, flow_node, caller_number, dialled, path, duration_ms, created_at, heard_at"


async def add(
    pool: Queryable,
    *,
    tenant_id: int,
    call_uuid: uuid.UUID,
    flow_node: str,
    caller_number: str,
    dialled: str,
    path: str,
    duration_ms: int,
) -> int:
    value: int = await pool.fetchval(
        "INSERT INTO voicemails (tenant_id, call_uuid, flow_node, caller_number, dialled, path, duration_ms)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        tenant_id,
        call_uuid,
        flow_node,
        caller_number,
        dialled,
        path,
        duration_ms,
    )
    return value


async def listing(pool: Queryable, tenant_id: int, *, limit: int = 100, offset: int = 0) -> list[Voicemail]:
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM voicemails WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        tenant_id,
        limit,
        offset,
    )
    return [Voicemail(**dict(r)) for r in rows]


async def get(pool: Queryable, tenant_id: int, voicemail_id: int) -> Voicemail:
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM voicemails WHERE tenant_id = $1 AND id = $2", tenant_id, voicemail_id
    )
    if row is None:
        raise NotFound(f"no voicemail {voicemail_id}")
    return Voicemail(**dict(row))


async def mark(pool: Queryable, tenant_id: int, voicemail_id: int, *, heard: bool) -> Voicemail:
    """Heard (now, or when it was first heard) or not heard yet."""
    row = await pool.fetchrow(
        "UPDATE voicemails SET heard_at = CASE WHEN $3 THEN coalesce(heard_at, now()) END"
        f" WHERE tenant_id = $1 AND id = $2 RETURNING {_COLUMNS}",
        tenant_id,
        voicemail_id,
        heard,
    )
    if row is None:
        raise NotFound(f"no voicemail {voicemail_id}")
    return Voicemail(**dict(row))


async def unheard(pool: Queryable, tenant_id: int) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM voicemails WHERE tenant_id = $1 AND heard_at IS NULL", tenant_id
    )
    return count


async def delete(pool: Queryable, tenant_id: int, voicemail_id: int) -> Voicemail:
    """Remove the row (the caller of this removes the file)."""
    row = await pool.fetchrow(
        f"DELETE FROM voicemails WHERE tenant_id = $1 AND id = $2 RETURNING {_COLUMNS}", tenant_id, voicemail_id
    )
    if row is None:
        raise NotFound(f"no voicemail {voicemail_id}")
    return Voicemail(**dict(row))
