"""Voicemail operations: list and hear a tenant's messages, mark them heard or not, delete one when dealt with."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncpg

from daemon.repositories import voicemail
from daemon.repositories.voicemail import Voicemail
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import NotFound


async def listing(pool: asyncpg.Pool, actor: Actor, tenant_id: int, *, limit: int, offset: int = 0) -> list[Voicemail]:
    """Newest first."""
    return await voicemail.listing(pool, actor.scope(tenant_id), limit=limit, offset=offset)


async def recording(pool: asyncpg.Pool, actor: Actor, tenant_id: int, voicemail_id: int) -> tuple[Voicemail, Path]:
    """The message and its WAV on this node (not found when the file is missing here)."""
    found = await voicemail.get(pool, actor.scope(tenant_id), voicemail_id)
    path = Path(found.path)
    if not await asyncio.to_thread(path.is_file):
        raise NotFound(f"the recording of voicemail {found.id} is missing on this node")
    return found, path


async def unheard(pool: asyncpg.Pool, actor: Actor, tenant_id: int) -> int:
    return await voicemail.unheard(pool, actor.scope(tenant_id))


async def mark(pool: asyncpg.Pool, actor: Actor, tenant_id: int, voicemail_id: int, *, heard: bool) -> Voicemail:
    """Heard (kept from the first time) or back to not heard; audited only when the state changes."""
    tenant_id = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        old = await voicemail.get(c.pool, tenant_id, voicemail_id)
        new = await voicemail.mark(c.pool, tenant_id, voicemail_id, heard=heard)
        if (old.heard_at is None) == (new.heard_at is None):
            c.unchanged()
        else:
            action = "ivr.voicemail.heard" if heard else "ivr.voicemail.unheard"
            await c.record(action, tenant_id=tenant_id, target=f"voicemail {new.id}")
    return new


async def delete(pool: asyncpg.Pool, actor: Actor, tenant_id: int, voicemail_id: int) -> Voicemail:
    """Remove the message; its recording goes once the row is gone for good (committed)."""
    tenant_id = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        gone = await voicemail.delete(c.pool, tenant_id, voicemail_id)
        await c.record(
            "ivr.voicemail.delete",
            tenant_id=tenant_id,
            target=f"voicemail {gone.id}",
            before={
                "caller_number": gone.caller_number,
                "created_at": gone.created_at,
                "duration_ms": gone.duration_ms,
            },
        )
    with contextlib.suppress(FileNotFoundError):
        await asyncio.to_thread(Path(gone.path).unlink)
    return gone
