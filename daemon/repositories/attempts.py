"""Refused call attempts (``call_attempts``), and the call history that shows them beside the calls.

A refused attempt never reached a call record: the number was unknown, the
lines full, the caller blocked, or Coaching Dial could not identify, serve or
charge them.  One row per attempt (the call's UUID is unique); a second write
of the same attempt is a no-op.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from daemon.postgres.batch_writer import columns
from daemon.postgres.types import Queryable
from daemon.repositories.operator_queries import streamed


@dataclass(frozen=True, slots=True)
class Attempt:
    reason: str  # daemon.rules.attempt_reasons.REASONS
    call_uuid: uuid.UUID | None
    dialled: str
    caller_number: str  # national digits, '' when withheld
    tenant_id: int | None = None  # None: the number is no tenant's
    product: str | None = None
    caller_id: int | None = None
    group_id: int | None = None


async def add(pool: Queryable, attempt: Attempt) -> bool:
    """Store the attempt; False if it was on record already."""
    return await add_many(pool, [attempt]) == 1


async def add_many(db: Queryable, batch: Sequence[Attempt]) -> int:
    """Store the attempts in one statement (the background writer's batch); how many were new."""
    done = await db.execute(
        "INSERT INTO call_attempts (call_uuid, tenant_id, product, dialled, caller_number, caller_id, group_id, reason)"
        " SELECT u, t, p, left(d, 32), left(n, 32), c, g, r FROM unnest("
        "$1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[]"
        ") AS a(u, t, p, d, n, c, g, r) ON CONFLICT (call_uuid) DO NOTHING",
        *columns(batch, "call_uuid", "tenant_id", "product", "dialled", "caller_number"),
        *columns(batch, "caller_id", "group_id", "reason"),
    )
    return int(str(done).rsplit(" ", 1)[-1])


# The columns both halves of the history give, in this order.
HISTORY_COLUMNS = (
    "kind, call_uuid, created_at, caller_id, caller_number, group_id, counsellor_id, state, answer_us, end_us,"
    " billed_seconds, charge_yen, hangup_cause, ended_by, reason"
)
_CALLS = (
    "SELECT 'call' AS kind, call_uuid, created_at, caller_id, caller_number, group_id, counsellor_id, state,"
    " answer_us, end_us, billed_seconds, charge_yen, hangup_cause, ended_by, NULL::text AS reason"
    " FROM call_records"
)
_REFUSED = (
    "SELECT 'refused' AS kind, call_uuid, created_at, caller_id, caller_number, group_id,"
    " NULL::bigint AS counsellor_id, 'refused' AS state, NULL::bigint AS answer_us, NULL::bigint AS end_us,"
    " NULL::integer AS billed_seconds, NULL::bigint AS charge_yen, NULL::text AS hangup_cause,"
    " NULL::text AS ended_by, reason"
    " FROM call_attempts"
)


def history(
    pool: asyncpg.Pool, tenant_id: int, filters: Mapping[str, object], *, limit: int, offset: int
) -> AsyncIterator[asyncpg.Record]:
    """The tenant's calls and refused attempts, newest first, streamed from a cursor.

    ``filters`` (None: no filter): ``since`` and ``until`` (created at or after, before),
    ``caller_id`` and ``group_id`` narrow both; ``counsellor_id`` and a call ``state``
    (hunting, talking, ended) leave only calls; ``state`` ``refused`` or a ``reason`` only
    refused attempts.
    """
    args: list[object] = [tenant_id]

    def where(extra: list[tuple[str, object]]) -> str:
        parts = ["tenant_id = $1"]
        for column, value in [("created_at >=", filters.get("since")), ("created_at <", filters.get("until")), *extra]:
            if value is not None:
                args.append(value)
                parts.append(f"{column} ${len(args)}")
        return " WHERE " + " AND ".join(parts)

    state, reason = filters.get("state"), filters.get("reason")
    shared = [(f"{k} =", filters.get(k)) for k in ("caller_id", "group_id")]
    halves = []
    if reason is None and state != "refused":
        halves.append(_CALLS + where([*shared, ("counsellor_id =", filters.get("counsellor_id")), ("state =", state)]))
    if filters.get("counsellor_id") is None and state in (None, "refused"):
        halves.append(_REFUSED + where([*shared, ("reason =", reason)]))
    if not halves:
        halves.append(_REFUSED + " WHERE false")
    args += [limit, offset]
    sql = (
        f"SELECT {HISTORY_COLUMNS} FROM ({' UNION ALL '.join(halves)}) AS h"
        f" ORDER BY created_at DESC, call_uuid LIMIT ${len(args) - 1} OFFSET ${len(args)}"
    )
    return streamed(pool, sql, args)
