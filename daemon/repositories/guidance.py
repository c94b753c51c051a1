"""Customer guidance rows (``guidance``, sql/006 + sql/010), always scoped to one tenant."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from daemon.repositories.tenants import Conflict, NotFound


@dataclass(frozen=True, slots=True)
class Made:
    """What the stage produced, ready to be recorded."""

    kind: str  # upload | speech
    path: str
    wideband_path: str
    digest: str
    stage_version: str
    report: dict[str, Any]
    original_path: str | None = None
    original_sha256: str | None = None
    original_name: str | None = None
    speech_text: str | None = None
    speech_speed: float | None = None
    speech_pitch: float | None = None


@dataclass(frozen=True, slots=True)
class Guidance:
    id: int
    tenant_id: int
    name: str
    kind: str
    path: str
    wideband_path: str | None
    digest: str | None
    original_name: str | None
    speech_text: str | None
    speech_speed: float | None
    speech_pitch: float | None
    report: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


_COLUMNS = (
    "id, tenant_id, name, kind, path, wideband_path, digest, original_name, speech_text,"
    " speech_speed, speech_pitch, report, created_at, updated_at"
)
_MADE = (
    "kind, path, wideband_path, digest, stage_version, report, original_path, original_sha256,"
    " original_name, speech_text, speech_speed, speech_pitch"
)


def _row(record: asyncpg.Record) -> Guidance:
    values = dict(record)
    report = values["report"]
    values["report"] = json.loads(report) if isinstance(report, str) else report
    return Guidance(**values)


def _made_values(made: Made) -> list[Any]:
    return [
        made.kind,
        made.path,
        made.wideband_path,
        made.digest,
        made.stage_version,
        json.dumps(made.report),
        made.original_path,
        made.original_sha256,
        made.original_name,
        made.speech_text,
        made.speech_speed,
        made.speech_pitch,
    ]


async def create(pool: asyncpg.Pool, tenant_id: int, name: str, made: Made) -> Guidance:
    try:
        record = await pool.fetchrow(
            f"INSERT INTO guidance (tenant_id, name, {_MADE})"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13, $14)"
            f" RETURNING {_COLUMNS}",
            tenant_id,
            name,
            *_made_values(made),
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a guidance named {name!r} exists already; replace it with PUT") from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(f"no tenant with id {tenant_id}") from None
    assert record is not None  # INSERT … RETURNING
    return _row(record)


async def replace(pool: asyncpg.Pool, tenant_id: int, guidance_id: int, made: Made, name: str | None) -> Guidance:
    """New sound for an existing guidance (the next call plays it); optionally a new name."""
    try:
        record = await pool.fetchrow(
            "UPDATE guidance SET (kind, path, wideband_path, digest, stage_version, report, original_path,"
            " original_sha256, original_name, speech_text, speech_speed, speech_pitch, name, updated_at)"
            " = ($3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13, $14, coalesce($15, name), now())"
            f" WHERE tenant_id = $1 AND id = $2 RETURNING {_COLUMNS}",
            tenant_id,
            guidance_id,
            *_made_values(made),
            name,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a guidance named {name!r} exists already") from None
    if record is None:
        raise NotFound(f"no guidance {guidance_id}")
    return _row(record)


async def get(pool: asyncpg.Pool, tenant_id: int, guidance_id: int) -> Guidance:
    record = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM guidance WHERE tenant_id = $1 AND id = $2", tenant_id, guidance_id
    )
    if record is None:
        raise NotFound(f"no guidance {guidance_id}")
    return _row(record)


async def all_of(pool: asyncpg.Pool, tenant_id: int) -> list[Guidance]:
    records = await pool.fetch(f"SELECT {_COLUMNS} FROM guidance WHERE tenant_id = $1 ORDER BY name", tenant_id)
    return [_row(r) for r in records]


async def name_taken(pool: asyncpg.Pool, tenant_id: int, name: str, but: int | None = None) -> bool:
    taken: bool = await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM guidance WHERE tenant_id = $1 AND name = $2 AND id IS DISTINCT FROM $3)",
        tenant_id,
        name,
        but,
    )
    return taken


class InUse(Conflict):
    """A published flow still plays this guidance."""


async def delete(pool: asyncpg.Pool, tenant_id: int, guidance_id: int) -> None:
    try:
        status = await pool.execute("DELETE FROM guidance WHERE tenant_id = $1 AND id = $2", tenant_id, guidance_id)
    except (asyncpg.RestrictViolationError, asyncpg.ForeignKeyViolationError):
        # ON DELETE RESTRICT raises restrict_violation (23001); NO ACTION, foreign_key_violation (23503)
        raise InUse(
            f"guidance {guidance_id} is still played by a published call flow;"
            " change or unpublish the flows that use it first"
        ) from None
    if status != "DELETE 1":
        raise NotFound(f"no guidance {guidance_id}")


async def used_by(pool: asyncpg.Pool, tenant_id: int, guidance_id: int) -> list[int]:
    """The published flow versions that play this guidance (what holds it against deletion)."""
    rows = await pool.fetch(
        "SELECT v.version FROM ivr_flow_guidance fg JOIN ivr_flow_versions v ON v.id = fg.version_id"
        " WHERE v.tenant_id = $1 AND fg.guidance_id = $2 ORDER BY v.version",
        tenant_id,
        guidance_id,
    )
    return [r["version"] for r in rows]


@dataclass(frozen=True, slots=True)
class Original:
    """The file a customer uploaded, kept as it came (speech guidance has none)."""

    path: str
    name: str | None


async def original(pool: asyncpg.Pool, tenant_id: int, guidance_id: int) -> Original:
    row = await pool.fetchrow(
        "SELECT original_path, original_name FROM guidance WHERE tenant_id = $1 AND id = $2", tenant_id, guidance_id
    )
    if row is None or row["original_path"] is None:
        raise NotFound(f"guidance {guidance_id} has no uploaded original")
    return Original(row["original_path"], row["original_name"])
