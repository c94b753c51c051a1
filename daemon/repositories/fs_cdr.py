"""FreeSWITCH's own CDRs (``fs_cdr``, written by mod_cdr_pg_csv): the rows we put back from its spool."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import asyncpg

# The table's columns and how a spooled value becomes one (sql/003_fs_cdr.sql).
COLUMNS: Mapping[str, type] = {
    "uuid": uuid.UUID,
    "bleg_uuid": uuid.UUID,
    "caller_id_number": str,
    "destination_number": str,
    "start_uepoch": int,
    "answer_uepoch": int,
    "bridge_uepoch": int,
    "end_uepoch": int,
    "billsec": int,
    "hangup_cause": str,
}


class UnknownColumns(ValueError):
    pass


def typed(values: Mapping[str, str | int | None]) -> dict[str, object]:
    """Values as the columns' types; ValueError naming what does not fit (an unknown column, a bad uuid)."""
    unknown = sorted(set(values) - set(COLUMNS))
    if unknown:
        raise UnknownColumns(f"fs_cdr has no column {', '.join(unknown)}")
    if values.get("uuid") is None:
        raise ValueError("uuid is missing")
    out: dict[str, object] = {}
    for column, value in values.items():
        kind = COLUMNS[column]
        if value is None:
            out[column] = None
        elif kind is uuid.UUID:
            out[column] = uuid.UUID(str(value))
        elif kind is int:
            if not isinstance(value, int):
                raise ValueError(f"{column} is not a whole number")
            out[column] = value
        else:
            out[column] = str(value)
    return out


async def insert_missing(pool: asyncpg.Pool, rows: Sequence[Mapping[str, object]]) -> int:
    """Insert the rows whose uuid is not there yet, in one transaction; how many were new."""
    added = 0
    async with pool.acquire() as conn, conn.transaction():
        for row in rows:
            columns = list(row)  # checked against COLUMNS by typed()
            placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
            status = await conn.execute(
                f"INSERT INTO fs_cdr ({', '.join(columns)}) VALUES ({placeholders}) ON CONFLICT (uuid) DO NOTHING",
                *row.values(),
            )
            added += status == "INSERT 0 1"
    return added
