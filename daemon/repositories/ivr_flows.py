"""IVR flow versions: save, publish (or roll back to) a version, read the live one.

Publishing is one transaction: the version's definition is checked against the
tenant's guidance (rows locked ``FOR KEY SHARE`` so none can be deleted under
us), its forwarding add-on and its numbers; the guidance it plays is recorded
(``ivr_flow_guidance``, ``ON DELETE RESTRICT``); the live pointer moves, and a
trigger NOTIFYs every node.  Refused, nothing changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.repositories.tenants import NotFound
from daemon.rules.ivr.models import STORED, Flow, guidance_ids
from daemon.rules.ivr.validate import Problem, problems


class PublishRefused(ValueError):
    def __init__(self, found: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.node}: {p.message}" for p in found))
        self.problems = found


@dataclass(frozen=True, slots=True)
class Version:
    id: int
    version: int
    definition: Flow
    created_at: datetime
    published_at: datetime | None
    live: bool


@dataclass(frozen=True, slots=True)
class LiveFlow:
    """What a call runs: the version it started with and where its guidance lives."""

    version_id: int
    version: int
    flow: Flow
    paths: dict[int, str]  # guidance id → processed WAV


def _version(row: asyncpg.Record) -> Version:
    return Version(
        row["id"],
        row["version"],
        Flow.model_validate_json(row["definition"], context=STORED),
        row["created_at"],
        row["published_at"],
        row["live"],
    )


_SELECT = (
    "SELECT v.id, v.version, v.definition::text AS definition, v.created_at, v.published_at,"
    " l.version_id IS NOT NULL AS live FROM ivr_flow_versions v"
    " LEFT JOIN ivr_live_flows l ON l.version_id = v.id"
)


async def save(pool: asyncpg.Pool, tenant_id: int, flow: Flow) -> Version:
    """Store a new version (not live until published)."""
    async with pool.acquire() as conn, conn.transaction():
        # one version number at a time per tenant
        await conn.execute("SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE", tenant_id)
        row = await conn.fetchrow(
            "INSERT INTO ivr_flow_versions (tenant_id, version, definition)"
            " SELECT $1, coalesce(max(version), 0) + 1, $2::jsonb FROM ivr_flow_versions WHERE tenant_id = $1"
            " RETURNING id, version, definition::text AS definition, created_at, published_at, false AS live",
            tenant_id,
            flow.model_dump_json(exclude_defaults=False),
        )
    assert row is not None
    return _version(row)


async def versions(pool: asyncpg.Pool, tenant_id: int) -> list[Version]:
    rows = await pool.fetch(_SELECT + " WHERE v.tenant_id = $1 ORDER BY v.version", tenant_id)
    return [_version(r) for r in rows]


async def version(pool: asyncpg.Pool, tenant_id: int, number: int) -> Version:
    row = await pool.fetchrow(_SELECT + " WHERE v.tenant_id = $1 AND v.version = $2", tenant_id, number)
    if row is None:
        raise NotFound(f"no flow version {number}")
    return _version(row)


async def publish(pool: asyncpg.Pool, tenant_id: int, number: int) -> Version:
    """Make version ``number`` live for the next call (also how a roll-back is done)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, definition::text AS definition FROM ivr_flow_versions WHERE tenant_id = $1 AND version = $2",
            tenant_id,
            number,
        )
        if row is None:
            raise NotFound(f"no flow version {number}")
        flow = Flow.model_validate_json(row["definition"], context=STORED)
        guidance = {
            r["id"] for r in await conn.fetch("SELECT id FROM guidance WHERE tenant_id = $1 FOR KEY SHARE", tenant_id)
        }
        contract = await conn.fetchrow(
            "SELECT forwarding, international FROM line_contracts WHERE tenant_id = $1 FOR SHARE", tenant_id
        )
        forwarding, international = (contract["forwarding"], contract["international"]) if contract else (False, False)
        numbers = {r["number"] for r in await conn.fetch("SELECT number FROM numbers WHERE tenant_id = $1", tenant_id)}
        found = problems(
            flow, guidance=guidance, forwarding=forwarding, own_numbers=numbers, international=international
        )
        if found:
            raise PublishRefused(found)
        used = sorted({g for node in flow.nodes.values() for g in guidance_ids(node)})
        await conn.execute(
            "INSERT INTO ivr_flow_guidance (version_id, guidance_id) SELECT $1, unnest($2::bigint[])"
            " ON CONFLICT DO NOTHING",
            row["id"],
            used,
        )
        await conn.execute(
            "UPDATE ivr_flow_versions SET published_at = coalesce(published_at, now()) WHERE id = $1", row["id"]
        )
        await conn.execute(
            "INSERT INTO ivr_live_flows (tenant_id, version_id) VALUES ($1, $2) ON CONFLICT (tenant_id)"
            " DO UPDATE SET version_id = EXCLUDED.version_id, published_at = now()",
            tenant_id,
            row["id"],
        )
    return await version(pool, tenant_id, number)


async def live(pool: asyncpg.Pool, tenant_id: int) -> LiveFlow | None:
    """The live version and its guidance paths, in one round trip (None: nothing published)."""
    row = await pool.fetchrow(
        "SELECT v.id, v.version, v.definition::text AS definition,"
        " (SELECT coalesce(json_object_agg(g.id, g.path), '{}')::text FROM ivr_flow_guidance fg"
        "   JOIN guidance g ON g.id = fg.guidance_id WHERE fg.version_id = v.id) AS paths"
        " FROM ivr_live_flows l JOIN ivr_flow_versions v ON v.id = l.version_id WHERE l.tenant_id = $1",
        tenant_id,
    )
    if row is None:
        return None
    paths = {int(k): v for k, v in json.loads(row["paths"]).items()}
    return LiveFlow(row["id"], row["version"], Flow.model_validate_json(row["definition"], context=STORED), paths)
