"""Line admission: take a line for a call, give it back when the call ends."""

from __future__ import annotations

import asyncio
import enum
import uuid
from dataclasses import dataclass

import asyncpg


class Outcome(enum.StrEnum):
    ADMITTED = "admitted"
    BUSY = "busy"
    NOT_IN_SERVICE = "not_in_service"
    BLOCKED = "blocked"  # on the tenant's block list: no line taken


@dataclass(frozen=True, slots=True)
class Admission:
    outcome: Outcome
    tenant_id: int | None
    product: str | None
    lines: int
    in_use: int


async def admit(
    pool: asyncpg.Pool, call_uuid: uuid.UUID, number: str, node_id: str, caller: str | None = None
) -> Admission:
    """Atomically take one of the number's tenant's lines, if one is free and ``caller`` is not blocked.

    ``caller``: national digits, None when withheld (blocked as ``anonymous``).
    """
    row = await pool.fetchrow("SELECT * FROM admit_caller($1, $2, $3, $4)", call_uuid, number, node_id, caller)
    assert row is not None
    return Admission(Outcome(row["outcome"]), row["tenant_id"], row["product"], row["lines"], row["in_use"])


async def release(pool: asyncpg.Pool, call_uuid: uuid.UUID) -> bool:
    """Give the call's line back; False if it held none (already released or reaped)."""
    released: bool = await pool.fetchval("SELECT release_call($1)", call_uuid)
    return released


class BatchReleaser:
    """Gives lines back in batches: one round trip for all the calls that end together.

    Under load many calls end in the same event-loop turn; each ``release``
    waits for the batch it joined.  A failed batch fails each of its calls (the
    node's housekeeping frees those lines later).
    """

    def __init__(self) -> None:
        self._pending: dict[uuid.UUID, asyncio.Future[bool]] = {}
        self._flushing: asyncio.Task[None] | None = None

    async def release(self, pool: asyncpg.Pool, call_uuid: uuid.UUID) -> bool:
        future = self._pending.get(call_uuid)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._pending[call_uuid] = future
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush(pool))
        return await asyncio.shield(future)

    async def _flush(self, pool: asyncpg.Pool) -> None:
        await asyncio.sleep(0)  # let the other calls ending in this turn join
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                rows = await pool.fetch("SELECT release_calls($1::uuid[]) AS call_uuid", list(batch))
            except Exception as exc:  # every waiter gets the failure
                for future in batch.values():
                    if not future.done():
                        future.set_exception(exc)
                        future.exception()
                continue
            released = {r["call_uuid"] for r in rows}
            for call, future in batch.items():
                if not future.done():
                    future.set_result(call in released)
