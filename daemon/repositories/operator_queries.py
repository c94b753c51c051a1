"""Reading the call records of one tenant, for the operator.

Counsellors, groups and callers have their repositories
(:mod:`daemon.repositories.counsellors`, :mod:`daemon.repositories.groups`, :mod:`daemon.repositories.callers`).
Every statement carries the tenant id, so an id of another tenant is simply
"not found".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime

import asyncpg

CALL_COLUMNS = (
    "call_uuid, created_at, caller_id, caller_number, group_id, counsellor_id, state, answer_us, end_us,"
    " billed_seconds, charge_yen, hangup_cause, ended_by"
)


# -- call records ----------------------------------------------------------------


async def calls(
    pool: asyncpg.Pool,
    tenant_id: int,
    *,
    since: datetime | None,
    until: datetime | None,
    filters: Mapping[str, object],
    limit: int,
    offset: int,
) -> AsyncIterator[asyncpg.Record]:
    """Call records of the tenant, newest first, streamed from a cursor."""
    where = ["tenant_id = $1"]
    args: list[object] = [tenant_id]
    for column, value in [
        ("created_at >=", since),
        ("created_at <", until),
        *((f"{k} =", v) for k, v in filters.items()),
    ]:
        if value is not None:
            args.append(value)
            where.append(f"{column} ${len(args)}")
    args += [limit, offset]
    sql = (
        f"SELECT {CALL_COLUMNS} FROM call_records WHERE {' AND '.join(where)}"
        f" ORDER BY created_at DESC, call_uuid LIMIT ${len(args) - 1} OFFSET ${len(args)}"
    )
    async for row in streamed(pool, sql, args):
        yield row


async def streamed(pool: asyncpg.Pool, sql: str, args: Sequence[object]) -> AsyncIterator[asyncpg.Record]:
    """The rows of a read-only query as they come from a cursor: a large export never sits in memory."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        async for row in conn.cursor(sql, *args):
            yield row
