"""Callers of a Coaching Dial tenant: register, change settings, reset the PIN, remove.

The audit log remembers a caller's settings (name, フリガナ, numbers, billing,
payment, credit limit) before and after, and of the PIN only whether there is one.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from daemon.repositories import callers
from daemon.repositories.callers import CallerRow
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import coded
from daemon.services.inputs import CallerIn

TAKEN = "caller_number_or_pin_taken"


def settings(row: CallerRow) -> dict[str, Any]:
    """What the audit log remembers of a caller (never the PIN)."""
    return {
        "name": row.name,
        "numbers": list(row.numbers),
        "billing": row.billing,
        "payment_method": row.payment_method,
        "credit_limit_yen": row.credit_limit_yen,
        "furigana": row.furigana,
    }


def _target(caller_id: int) -> str:
    return f"caller {caller_id}"


async def create_caller(pool: asyncpg.Pool, actor: Actor, tenant_id: int, body: CallerIn) -> int:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        with coded(TAKEN):
            caller_id = await callers.create(c.pool, tenant, **body.model_dump())
        made = await callers.get(c.pool, tenant, caller_id)
        await c.record(
            "caller.create", tenant_id=tenant, target=_target(caller_id), after={**settings(made), "pin": made.has_pin}
        )
    return caller_id


async def update_caller(
    pool: asyncpg.Pool, actor: Actor, tenant_id: int, caller_id: int, body: CallerIn, *, keep_pin: bool = False
) -> None:
    """Replace a caller's settings; the PIN too unless ``keep_pin`` (the console resets it apart)."""
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        old = await callers.get(c.pool, tenant, caller_id)
        with coded(TAKEN):
            await callers.update(c.pool, tenant, caller_id, **body.model_dump(), keep_pin=keep_pin)
        new = await callers.get(c.pool, tenant, caller_id)
        before, after = settings(old), settings(new)
        if not keep_pin:
            before["pin"], after["pin"] = old.has_pin, new.has_pin
        await c.record("caller.update", tenant_id=tenant, target=_target(caller_id), before=before, after=after)


async def reset_pin(pool: asyncpg.Pool, actor: Actor, tenant_id: int, caller_id: int, pin: str | None) -> None:
    """A new PIN (None: none); the rule is :class:`CallerIn`'s, checked against the caller's settings."""
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        who = await callers.get(c.pool, tenant, caller_id)
        CallerIn.model_validate({**settings(who), "pin": pin})
        with coded(TAKEN):
            await callers.set_pin(c.pool, tenant, who.id, pin)
        await c.record(
            "caller.pin_reset",
            tenant_id=tenant,
            target=_target(who.id),
            before={"pin": who.has_pin},
            after={"pin": bool(pin)},
        )


async def delete_caller(pool: asyncpg.Pool, actor: Actor, tenant_id: int, caller_id: int) -> None:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        old = await callers.get(c.pool, tenant, caller_id)
        with coded("caller_has_history"):
            await callers.delete(c.pool, tenant, caller_id)
        await c.record("caller.delete", tenant_id=tenant, target=_target(caller_id), before=settings(old))
