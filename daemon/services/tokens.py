"""Operator tokens: the platform creates one for a tenant (shown once) and revokes it.

The audit row names the token by its id and label, never by the token itself.
"""

from __future__ import annotations

import asyncpg

from daemon.repositories import tokens
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.inputs import TokenCreate


async def create_token(pool: asyncpg.Pool, actor: Actor, tenant_id: int, body: TokenCreate) -> tuple[int, str]:
    """(token id, the token): the token is shown to the caller of this function once and never again."""
    actor.require_platform()
    async with change(pool, actor) as c:
        token_id, token = await tokens.create(c.pool, tenant_id, body.label)
        await c.record("token.create", tenant_id=tenant_id, target=f"token {token_id}", after={"label": body.label})
    return token_id, token


async def revoke_token(pool: asyncpg.Pool, actor: Actor, tenant_id: int, token_id: int) -> None:
    actor.require_platform()
    async with change(pool, actor) as c:
        await tokens.revoke(c.pool, tenant_id, token_id)
        await c.record(
            "token.revoke",
            tenant_id=tenant_id,
            target=f"token {token_id}",
            before={"revoked": False},
            after={"revoked": True},
        )
