"""One row per answered IVR call (``ivr_call_log``): where it ended and the menu keys chosen."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

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


async def add(pool: Queryable, end: IvrCallEnd) -> None:
    """Written once; a second write of the same call (a retry) changes nothing."""
    choices = json.dumps([{"node": node, "keys": keys} for node, keys in end.choices])
    await pool.execute(
        "INSERT INTO ivr_call_log (call_uuid, tenant_id, flow_version, dialled, caller_number, started_at,"
        " last_node, last_kind, caller_hung_up, choices)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb) ON CONFLICT (call_uuid) DO NOTHING",
        end.call_uuid,
        end.tenant_id,
        end.flow_version,
        end.dialled,
        end.caller_number,
        end.started_at,
        end.last_node,
        end.last_kind,
        end.caller_hung_up,
        choices,
    )
