"""The callers a tenant refuses (``blocked_callers``): a number, or ``anonymous`` for withheld numbers.

An entry applies to all the tenant's numbers (``number`` None) or to one of
them.  Admission reads the list in its own round trip (``admit_caller``,
sql/021_attempts.sql); this module is the console's side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.postgres.errors import Conflict, NotFound
from daemon.postgres.types import Queryable

ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Blocked:
    id: int
    caller: str  # national digits, or ANONYMOUS
    number: str | None  # the tenant's number it applies to; None: all of them
    note: str
    created_at: datetime


_COLUMNS = "id, caller, number, note, created_at"


async def listing(pool: Queryable, tenant_id: int) -> list[Blocked]:
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM blocked_callers WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC", tenant_id
    )
    return [Blocked(**dict(r)) for r in rows]


async def numbers(pool: Queryable, tenant_id: int) -> list[str]:
    """The tenant's own numbers (an entry may name one of them)."""
    rows = await pool.fetch("SELECT number FROM numbers WHERE tenant_id = $1 ORDER BY number", tenant_id)
    return [r["number"] for r in rows]


async def add(pool: Queryable, tenant_id: int, *, caller: str, number: str | None, note: str) -> Blocked:
    """A new entry; :class:`NotFound` when ``number`` is not the tenant's, :class:`Conflict` when listed already."""
    try:
        row = await pool.fetchrow(
            "INSERT INTO blocked_callers (tenant_id, caller, number, note)"
            " SELECT $1, $2, $3, $4 WHERE $3::text IS NULL"
            "  OR EXISTS (SELECT 1 FROM numbers WHERE number = $3 AND tenant_id = $1)"
            f" RETURNING {_COLUMNS}",
            tenant_id,
            caller,
            number,
            note,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"{caller} is on the block list already (blocked_callers_taken)") from None
    if row is None:
        raise NotFound(f"no number {number} of this tenant")
    return Blocked(**dict(row))


async def remove(pool: Queryable, tenant_id: int, entry_id: int) -> Blocked:
    row = await pool.fetchrow(
        f"DELETE FROM blocked_callers WHERE tenant_id = $1 AND id = $2 RETURNING {_COLUMNS}", tenant_id, entry_id
    )
    if row is None:
        raise NotFound(f"no block list entry {entry_id}")
    return Blocked(**dict(row))
