"""IVR flow operations: save a version, publish one, roll back by publishing an earlier one.

A saved version is not live; publishing checks the graph against the tenant
(:mod:`daemon.rules.ivr.validate`, in the repository's transaction) and moves the
live pointer for the next call.  "Save and publish" is one change: refused, not
even the new version is kept.  Publishing a version older than the live one is
recorded as a roll-back.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from daemon.repositories import ivr_flows
from daemon.repositories.ivr_flows import PublishRefused, Version
from daemon.rules.ivr import validate
from daemon.rules.ivr.models import Flow
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import Invalid, Problem


class FlowRefused(Invalid):
    """The flow cannot go live for this tenant; each problem is at ``("flow", node)``."""

    code = "flow_refused"

    def __init__(self, found: list[validate.Problem]) -> None:
        super().__init__([Problem(("flow", p.node), p.message, "flow_refused") for p in found])
        self.refused = found


async def versions(pool: asyncpg.Pool, actor: Actor, tenant_id: int) -> list[Version]:
    return await ivr_flows.versions(pool, actor.scope(tenant_id))


async def version(pool: asyncpg.Pool, actor: Actor, tenant_id: int, number: int) -> Version:
    return await ivr_flows.version(pool, actor.scope(tenant_id), number)


async def _publish(pool: asyncpg.Pool, tenant_id: int, number: int) -> Version:
    try:
        return await ivr_flows.publish(pool, tenant_id, number)
    except PublishRefused as exc:
        raise FlowRefused(exc.problems) from None


def _live(found: ivr_flows.LiveFlow | None) -> dict[str, Any] | None:
    return None if found is None else {"live_version": found.version}


def _saved(v: Version) -> dict[str, Any]:
    """The version's number names its definition: a saved version never changes (the API shows it)."""
    return {"version": v.version, "live": v.live}


async def save(pool: asyncpg.Pool, actor: Actor, tenant_id: int, flow: Flow, *, publish: bool = False) -> Version:
    """Keep ``flow`` as the tenant's next version; with ``publish``, make it live in the same change."""
    tenant_id = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        before = await ivr_flows.live(c.pool, tenant_id)
        saved = await ivr_flows.save(c.pool, tenant_id, flow)
        if publish:  # refused: the exception rolls the new version back too
            saved = await _publish(c.pool, tenant_id, saved.version)
        await c.record(
            "ivr.flow.publish" if publish else "ivr.flow.save",
            tenant_id=tenant_id,
            target=f"flow version {saved.version}",
            before=_live(before),
            after=_saved(saved),
        )
    return saved


async def publish(pool: asyncpg.Pool, actor: Actor, tenant_id: int, number: int) -> Version:
    """Make version ``number`` live for the next call; an earlier one than the live one is a roll-back."""
    tenant_id = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        before = await ivr_flows.live(c.pool, tenant_id)
        done = await _publish(c.pool, tenant_id, number)
        back = before is not None and number < before.version
        await c.record(
            "ivr.flow.rollback" if back else "ivr.flow.publish",
            tenant_id=tenant_id,
            target=f"flow version {number}",
            before=_live(before),
            after={"live_version": done.version},
        )
    return done
