"""Line admission: take a line for a call, give it back when the call ends."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

import asyncpg


class Outcome(enum.StrEnum):
    ADMITTED = "admitted"
    BUSY = "busy"
    NOT_IN_SERVICE = "not_in_service"


@dataclass(frozen=True, slots=True)
class Admission:
    outcome: Outcome
    tenant_id: int | None
    product: str | None
    lines: int
    in_use: int


async def admit(pool: asyncpg.Pool, call_uuid: uuid.UUID, number: str, node_id: str) -> Admission:
    """Atomically take one of the number's tenant's lines, if one is free."""
    row = await pool.fetchrow("SELECT * FROM admit_call($1, $2, $3)", call_uuid, number, node_id)
    assert row is not None
    return Admission(Outcome(row["outcome"]), row["tenant_id"], row["product"], row["lines"], row["in_use"])


async def release(pool: asyncpg.Pool, call_uuid: uuid.UUID) -> bool:
    """Give the call's line back; False if it held none (already released or reaped)."""
    released: bool = await pool.fetchval("SELECT release_call($1)", call_uuid)
    return released
