"""The tenant's caller block list: list, add and remove entries, each change audited.

Numbers are taken as people type them (hyphens, spaces, full-width digits) and
stored in national form; ``anonymous`` stands for every caller who withholds
their number.  A blocked caller is refused at admission, unanswered, and the
attempt is on record with the reason ``blocked``.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from daemon.repositories import block_list
from daemon.repositories.block_list import ANONYMOUS, Blocked
from daemon.rules.numbers import normalise_number, typed_number
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import coded
from daemon.services.values import Label, PhoneNumber

TAKEN = "blocked_caller_taken"


def _caller(value: str) -> str:
    return value if value == ANONYMOUS else normalise_number(value)


class BlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    caller: Annotated[str, Field(strict=True), BeforeValidator(typed_number), AfterValidator(_caller)]
    number: PhoneNumber | None = None  # one of the tenant's; None: all
    note: Label = ""


def _shown(entry: Blocked) -> dict[str, object]:
    return {"caller": entry.caller, "number": entry.number, "note": entry.note}


async def listing(pool: asyncpg.Pool, actor: Actor, tenant_id: int) -> list[Blocked]:
    return await block_list.listing(pool, actor.scope(tenant_id))


async def numbers(pool: asyncpg.Pool, actor: Actor, tenant_id: int) -> list[str]:
    return await block_list.numbers(pool, actor.scope(tenant_id))


async def add(pool: asyncpg.Pool, actor: Actor, tenant_id: int, body: BlockIn) -> Blocked:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        with coded(TAKEN):
            entry = await block_list.add(c.pool, tenant, caller=body.caller, number=body.number, note=body.note)
        await c.record("block_list.add", tenant_id=tenant, target=f"blocked {entry.id}", after=_shown(entry))
    return entry


async def remove(pool: asyncpg.Pool, actor: Actor, tenant_id: int, entry_id: int) -> Blocked:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        gone = await block_list.remove(c.pool, tenant, entry_id)
        await c.record("block_list.remove", tenant_id=tenant, target=f"blocked {gone.id}", before=_shown(gone))
    return gone
