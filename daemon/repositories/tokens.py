"""Operator tokens scoped to one tenant: created by the admin, shown once, stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.postgres.errors import NotFound


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


async def create(pool: asyncpg.Pool, tenant_id: int, label: str) -> tuple[int, str]:
    token = "ctk_" + secrets.token_urlsafe(32)
    try:
        token_id: int = await pool.fetchval(
            "INSERT INTO tenant_tokens (tenant_id, token_sha256, label) VALUES ($1, $2, $3) RETURNING id",
            tenant_id,
            digest(token),
            label,
        )
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(f"no tenant with id {tenant_id}") from None
    return token_id, token


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What is known of a token: never the token itself (only its hash is stored)."""

    token_id: int
    label: str
    created_at: datetime
    revoked_at: datetime | None


async def list_tokens(pool: asyncpg.Pool, tenant_id: int) -> list[TokenInfo]:
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)", tenant_id):
            raise NotFound(f"no tenant with id {tenant_id}")
        rows = await conn.fetch(
            "SELECT id, label, created_at, revoked_at FROM tenant_tokens WHERE tenant_id = $1 ORDER BY id", tenant_id
        )
    return [TokenInfo(r["id"], r["label"], r["created_at"], r["revoked_at"]) for r in rows]


async def revoke(pool: asyncpg.Pool, tenant_id: int, token_id: int) -> None:
    status = await pool.execute(
        "UPDATE tenant_tokens SET revoked_at = now() WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL",
        token_id,
        tenant_id,
    )
    if status != "UPDATE 1":
        raise NotFound(f"no active token {token_id} for tenant {tenant_id}")


async def tenant_of(pool: asyncpg.Pool, token: str) -> int | None:
    """The tenant a live token belongs to (None: unknown or revoked)."""
    tenant_id: int | None = await pool.fetchval(
        "SELECT tenant_id FROM tenant_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL", digest(token)
    )
    return tenant_id
