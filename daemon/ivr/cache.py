"""The live flow of each tenant, cached in this process and dropped on NOTIFY.

A hit is a dict lookup: no database round trip.  Publishing (or a guidance
path changing) NOTIFYs ``calld_ivr`` with the tenant id from the same
transaction (triggers in sql/009_ivr.sql); the daemon's LISTEN hub
(:mod:`daemon.postgres.listen`) hands it here and that tenant's entry is dropped.
A load that raced a notification is not kept (generation counter), and while
the hub does not listen nothing is served from the cache nor kept, so a stale
flow is never served.  When it listens again every entry is dropped
(notifications sent meanwhile are lost).
"""

from __future__ import annotations

import asyncpg

from daemon.postgres.listen import ListenHub
from daemon.repositories import ivr_flows
from daemon.repositories.ivr_flows import LiveFlow

CHANNEL = "calld_ivr"


class FlowCache:
    def __init__(self, hub: ListenHub) -> None:
        self._hub = hub
        self._flows: dict[int, LiveFlow | None] = {}
        self._generation = 0
        self.loads = 0  # round trips made for flows (misses), for the benchmark and tests
        hub.subscribe(CHANNEL, self._notified, self._resync)

    async def get(self, pool: asyncpg.Pool, tenant_id: int) -> LiveFlow | None:
        if self._hub.listening and tenant_id in self._flows:
            return self._flows[tenant_id]
        generation = self._generation
        flow = await ivr_flows.live(pool, tenant_id)
        self.loads += 1
        if self._hub.listening and generation == self._generation:
            self._flows[tenant_id] = flow
        return flow

    def _notified(self, payload: str) -> None:
        self._generation += 1
        if payload.isdigit():
            self._flows.pop(int(payload), None)
        else:
            self._flows.clear()

    def _resync(self) -> None:
        self._generation += 1
        self._flows.clear()
