"""Everything a call flow needs from the rest of the daemon, in one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import asyncpg

from daemon.calls.waiting.line import WaitingLine
from daemon.config import Settings
from daemon.metrics import Metrics
from daemon.postgres.batch_writer import BatchWriter
from daemon.settlement.settler import Settler


class Prompts(Protocol):
    def path(self, name: str) -> str: ...


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    prompts: Prompts
    pool: asyncpg.Pool | None  # None while the database is unreachable
    node_id: str
    live_calls: dict[str, int] = field(default_factory=dict)  # call uuid -> tenant id, on this node
    settler: Settler | None = None  # books call ends, or journals them while the database is away
    waiting: WaitingLine | None = None  # the groups' waiting lines, this node's side
    writer: BatchWriter = field(init=False)  # rows that are no money (attempts, IVR call log), in batches

    def __post_init__(self) -> None:
        self.writer = BatchWriter(lambda: self.pool, self.metrics, timeout=self.settings.db_timeout_seconds)
