"""A caller's money picture and the joint deadline of their talking calls, in one place.

The caller's money and *all* their talking calls (on any node) are read in one
snapshot (REPEATABLE READ, read-only), so every node computes the same deadline
from the same rows.  The announcement before the hunt, the backstop armed
before ringing and the balance listener all ask here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from daemon.postgres.types import Queryable
from daemon.repositories.callers import Caller, CallerNotFound, caller
from daemon.rules.billing.charges import Tariff
from daemon.rules.billing.deadline import TalkingCall, joint_deadline


@dataclass(frozen=True, slots=True)
class MoneyPicture:
    caller: Caller
    talking: Mapping[uuid.UUID, TalkingCall]  # every talking call of the caller, on any node

    def deadline(self, extra: TalkingCall | None = None) -> int | None:
        """The joint deadline of the talking calls (plus a hypothetical ``extra`` call), µs.

        None: no call needs a cutoff (the caller's money is unlimited, or the
        calls cost nothing).  It may lie in the past: the calls must end now.
        """
        if not self.caller.limited:
            return None
        calls = [*self.talking.values(), *([extra] if extra is not None else [])]
        return joint_deadline(self.caller.available_yen, calls)


async def talking_calls(conn: Queryable, caller_id: int) -> dict[uuid.UUID, TalkingCall]:
    """Every talking call of this caller, on any node."""
    rows = await conn.fetch(
        "SELECT call_uuid, answer_us, rate_yen_per_min, free_seconds, minimum_charge_yen FROM call_records"
        " WHERE caller_id = $1 AND state = 'talking'",
        caller_id,
    )
    return {
        r["call_uuid"]: TalkingCall(
            r["answer_us"], Tariff(r["rate_yen_per_min"], r["free_seconds"], r["minimum_charge_yen"])
        )
        for r in rows
    }


async def money_picture(pool: asyncpg.Pool, caller_id: int) -> MoneyPicture:
    """The caller's money and talking calls, read in one snapshot (CallerNotFound if deleted)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        who = await caller(conn, caller_id)
        calls = await talking_calls(conn, caller_id)
    if who is None:
        raise CallerNotFound(f"caller {caller_id} is gone")
    return MoneyPicture(who, calls)


async def joint_deadline_of(pool: asyncpg.Pool, caller_id: int, extra: TalkingCall | None = None) -> int | None:
    """The caller's joint deadline now, with an optional hypothetical ``extra`` call (see :class:`MoneyPicture`)."""
    return (await money_picture(pool, caller_id)).deadline(extra)
