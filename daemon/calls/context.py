"""One admitted call, as every product flow sees it: built once, right after admission."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from daemon.calls.services import Prompts, Services
from daemon.metrics import Metrics
from daemon.outbound.channel import ChannelInfo
from daemon.outbound.session import Session
from daemon.rules.numbers import national


@dataclass(frozen=True, slots=True)
class CallContext:
    """The call's session and channel, the database it was admitted in, its tenant and product.

    ``calls`` is the call's task group (background work of this call: the bridge,
    the cutoff timer) and ``call_uuid`` FreeSWITCH's Unique-ID of the caller's leg.
    """

    session: Session
    channel: ChannelInfo
    calls: asyncio.TaskGroup
    services: Services
    pool: asyncpg.Pool
    tenant_id: int
    product: str
    call_uuid: uuid.UUID

    @property
    def prompts(self) -> Prompts:
        return self.services.prompts

    @property
    def metrics(self) -> Metrics:
        return self.services.metrics

    @property
    def dialled(self) -> str:
        """The number the caller dialled, national digits ('' if it was not a plain number)."""
        return national(self.channel.destination_number) or ""

    @property
    def caller_number(self) -> str | None:
        """The caller's number, national digits; None when withheld or not a number."""
        return national(self.channel.caller_id_number)


ProductFlow = Callable[[CallContext], Awaitable[None]]
