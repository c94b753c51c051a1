"""State of one IVR call, shared by the node functions."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from daemon.calls.services import Services
from daemon.db.ivr_flows import LiveFlow
from daemon.ivr.media import GuidancePrompts
from daemon.outbound.session import Session


@dataclass
class IvrCall:
    session: Session
    calls: asyncio.TaskGroup
    svc: Services
    pool: asyncpg.Pool
    tenant_id: int
    call_uuid: uuid.UUID
    live: LiveFlow  # the version this call started with, whatever is published meanwhile
    prompts: GuidancePrompts
    dialled: str
    caller_number: str  # national digits, or "" when withheld / not a number
    clock: Callable[[], dt.datetime]
    recordings: Path
    node: str = ""  # the node running now
