"""Counsellors of a Coaching Dial tenant: register, change, duty on/off, remove; the admin's dial string.

A counsellor in a call cannot be removed (the repository refuses:
:class:`Conflict`).  The raw dial-string override is the platform's only.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from daemon.repositories import counsellors
from daemon.repositories.counsellors import CounsellorRow
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import coded
from daemon.services.inputs import CounsellorIn

TAKEN = "counsellor_name_taken"


def settings(row: CounsellorRow) -> dict[str, Any]:
    """What the audit log remembers of a counsellor (the keys of :class:`CounsellorIn`)."""
    return {
        "name": row.name,
        "phone_number": row.phone_number,
        "rate_yen_per_min": row.rate_yen_per_min,
        "on_duty": row.on_duty,
    }


def _target(counsellor_id: int) -> str:
    return f"counsellor {counsellor_id}"


async def create_counsellor(pool: asyncpg.Pool, actor: Actor, tenant_id: int, body: CounsellorIn) -> int:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        with coded(TAKEN):
            new_id = await counsellors.create(c.pool, tenant, **body.model_dump())
        await c.record("counsellor.create", tenant_id=tenant, target=_target(new_id), after=body.model_dump())
    return new_id


async def update_counsellor(
    pool: asyncpg.Pool, actor: Actor, tenant_id: int, counsellor_id: int, body: CounsellorIn, *, keep_duty: bool = False
) -> None:
    """Replace a counsellor's settings; their duty too unless ``keep_duty`` (the console has a button for it)."""
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        before = await counsellors.get(c.pool, tenant, counsellor_id)
        if keep_duty:
            body = body.model_copy(update={"on_duty": before.on_duty})
        with coded(TAKEN):
            await counsellors.update(c.pool, tenant, counsellor_id, **body.model_dump())
        await c.record(
            "counsellor.update",
            tenant_id=tenant,
            target=_target(counsellor_id),
            before=settings(before),
            after=body.model_dump(),
        )


async def set_duty(pool: asyncpg.Pool, actor: Actor, tenant_id: int, counsellor_id: int, on_duty: bool) -> None:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        before = await counsellors.get(c.pool, tenant, counsellor_id)
        await counsellors.set_duty(c.pool, tenant, counsellor_id, on_duty)
        await c.record(
            "counsellor.duty",
            tenant_id=tenant,
            target=_target(counsellor_id),
            before={"on_duty": before.on_duty},
            after={"on_duty": on_duty},
        )


async def set_dial_override(
    pool: asyncpg.Pool, actor: Actor, tenant_id: int, counsellor_id: int, dial_string: str | None
) -> None:
    """Ring the counsellor with a raw FreeSWITCH dial string (None: their phone number again)."""
    actor.require_platform()
    async with change(pool, actor) as c:
        before = await counsellors.get(c.pool, tenant_id, counsellor_id)
        await counsellors.set_dial_override(c.pool, tenant_id, counsellor_id, dial_string)
        await c.record(
            "counsellor.dial_string",
            tenant_id=tenant_id,
            target=_target(counsellor_id),
            before={"dial_string": before.dial_override},
            after={"dial_string": dial_string},
        )


async def delete_counsellor(pool: asyncpg.Pool, actor: Actor, tenant_id: int, counsellor_id: int) -> None:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        before = await counsellors.get(c.pool, tenant, counsellor_id)
        with coded("counsellor_in_call"):
            await counsellors.delete(c.pool, tenant, counsellor_id)
        await c.record("counsellor.delete", tenant_id=tenant, target=_target(counsellor_id), before=settings(before))
