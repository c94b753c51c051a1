"""One row per answered IVR call (``ivr_call_log``): where it ended and the menu keys chosen."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.postgres.batch_writer import columns
from daemon.postgres.types import Queryable


@dataclass(frozen=True, slots=True)
class IvrCallEnd:
    call_uuid: uuid.UUID
    tenant_id: int
    flow_version: int | None
    dialled: str
    caller_number: str
    started_at: datetime
    last_node: str
    last_kind: str
    caller_hung_up: bool
    choices: list[tuple[str, str]]  # (menu node, keys), in the order chosen
    ended_at: datetime | None = None  # None: when the row is written


async def add(pool: Queryable, end: IvrCallEnd) -> None:
    """Written once; a second write of the same call (a retry) changes nothing."""
    await add_many(pool, [end])


async def add_many(db: Queryable, batch: Sequence[IvrCallEnd]) -> None:
    """The calls' rows in one statement (the background writer's batch); those on record already are skipped."""
    await db.execute(
        "INSERT INTO ivr_call_log (call_uuid, tenant_id, flow_version, dialled, caller_number, started_at, ended_at,"
        " last_node, last_kind, caller_hung_up, choices)"
        " SELECT u, t, v, d, n, s, coalesce(e, now()), node, kind, h, c::jsonb FROM unnest("
        "$1::uuid[], $2::bigint[], $3::integer[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],"
        " $8::text[], $9::text[], $10::boolean[], $11::text[]"
        ") AS l(u, t, v, d, n, s, e, node, kind, h, c) ON CONFLICT (call_uuid) DO NOTHING",
        *columns(batch, "call_uuid", "tenant_id", "flow_version", "dialled", "caller_number", "started_at", "ended_at"),
        *columns(batch, "last_node", "last_kind", "caller_hung_up"),
        [json.dumps([{"node": node, "keys": keys} for node, keys in e.choices]) for e in batch],
    )
