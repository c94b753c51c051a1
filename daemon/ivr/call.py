"""State of one IVR call, shared by the node functions: the admitted call and the flow it runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from daemon.calls.context import CallContext
from daemon.ivr.media import GuidancePrompts
from daemon.outbound.session import Session
from daemon.repositories.ivr_flows import LiveFlow


@dataclass
class IvrCall:
    call: CallContext
    live: LiveFlow  # the version this call started with, whatever is published meanwhile
    prompts: GuidancePrompts
    clock: Callable[[], dt.datetime]
    recordings: Path
    node: str = ""  # the node running now
    lead_in: list[str] = field(default_factory=list)  # guidance held back for the next question
    choices: list[tuple[str, str]] = field(default_factory=list)  # (menu node, keys) chosen, for the statistics

    @property
    def session(self) -> Session:
        return self.call.session

    @property
    def calls(self) -> asyncio.TaskGroup:
        return self.call.calls

    @property
    def pool(self) -> asyncpg.Pool:
        return self.call.pool

    @property
    def tenant_id(self) -> int:
        return self.call.tenant_id

    @property
    def call_uuid(self) -> uuid.UUID:
        return self.call.call_uuid

    @property
    def dialled(self) -> str:
        return self.call.dialled

    @property
    def caller_number(self) -> str:
        """National digits, or "" when withheld / not a number."""
        return self.call.caller_number or ""
