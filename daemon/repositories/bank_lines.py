"""Imported bank statements: the uploads and their incoming lines, each transfer once per account.

``tenant_id`` None is the platform's own account (its lines pay our invoices),
else an operator's (its lines are their callers' deposits).  A line is stored
once by its key whatever the number of imports of it (``ON CONFLICT DO
NOTHING`` on the unique key): :func:`store` says how many were new.  Settling a
line (:func:`settle`) locks it first, so two confirmations of one line cannot
both book it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from daemon.postgres.errors import NotFound
from daemon.rules.bank_statements import Statement

OPEN, BOOKED, IGNORED = "open", "booked", "ignored"


class LineNotFound(NotFound):
    """No such statement line in this account (or another tenant's)."""


@dataclass(frozen=True, slots=True)
class BankLine:
    id: int
    import_id: int
    line_key: str
    account: str
    booked_on: date
    amount_yen: int
    payer: str
    payer_key: str
    reference: str
    status: str
    caller_id: int | None
    ledger_id: int | None
    invoice_number: str | None
    settled_at: datetime | None


@dataclass(frozen=True, slots=True)
class Stored:
    import_id: int
    format: str
    read: int
    new: int


_COLUMNS = (
    "id, import_id, line_key, account, booked_on, amount_yen, payer, payer_key, reference, status,"
    " caller_id, ledger_id, invoice_number, settled_at"
)


def _line(r: asyncpg.Record) -> BankLine:
    return BankLine(*(r[k] for k in _COLUMNS.split(", ")))


async def store(pool: asyncpg.Pool, tenant_id: int | None, statement: Statement, file_name: str) -> Stored:
    """The import and its lines not stored before (by key), in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        import_id: int = await conn.fetchval(
            "INSERT INTO bank_imports (tenant_id, format, account, file_name, lines_read, lines_new)"
            " VALUES ($1, $2, $3, $4, $5, 0) RETURNING id",
            tenant_id,
            statement.format,
            statement.account,
            file_name,
            len(statement.lines),
        )
        ls = statement.lines
        added = await conn.fetch(
            "INSERT INTO bank_lines (tenant_id, import_id, line_key, account, booked_on, amount_yen, payer,"
            " payer_key, reference) SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::date[], $6::bigint[],"
            " $7::text[], $8::text[], $9::text[]) ON CONFLICT (COALESCE(tenant_id, 0), line_key) DO NOTHING"
            " RETURNING id",
            tenant_id,
            import_id,
            [line.key for line in ls],
            [line.account for line in ls],
            [line.booked_on for line in ls],
            [line.amount_yen for line in ls],
            [line.payer for line in ls],
            [line.payer_key for line in ls],
            [line.reference for line in ls],
        )
        new = len(added)
        await conn.execute("UPDATE bank_imports SET lines_new = $2 WHERE id = $1", import_id, new)
    return Stored(import_id, statement.format, len(statement.lines), new)


# The account's owner, parameter $1 (NULL: the platform's own account).
_OWNER = "tenant_id IS NOT DISTINCT FROM $1::bigint"


async def count(pool: asyncpg.Pool, tenant_id: int | None, status: str) -> int:
    found: int = await pool.fetchval(
        f"SELECT count(*) FROM bank_lines WHERE {_OWNER} AND status = $2", tenant_id, status
    )
    return found


async def lines(
    pool: asyncpg.Pool, tenant_id: int | None, status: str | None = None, limit: int = 1000
) -> list[BankLine]:
    """The account's lines, newest transfer first; ``status`` one of open/booked/ignored, or all."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM bank_lines WHERE {_OWNER} AND ($2::text IS NULL OR status = $2)"
        " ORDER BY booked_on DESC, id DESC LIMIT $3",
        tenant_id,
        status,
        limit,
    )
    return [_line(r) for r in rows]


async def lock(pool: asyncpg.Pool, tenant_id: int | None, line_id: int) -> BankLine:
    """The line, locked until the transaction ends (the caller's transaction: hand a one-connection pool)."""
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM bank_lines WHERE id = $2 AND {_OWNER} FOR UPDATE", tenant_id, line_id
    )
    if row is None:
        raise LineNotFound(f"no statement line {line_id}")
    return _line(row)


async def settle(
    pool: asyncpg.Pool,
    line_id: int,
    status: str,
    *,
    caller_id: int | None = None,
    ledger_id: int | None = None,
    invoice_number: str | None = None,
) -> None:
    """Mark a locked line booked (with its deposit or invoice) or ignored, or open again (``status`` open)."""
    await pool.execute(
        "UPDATE bank_lines SET status = $2, caller_id = $3, ledger_id = $4, invoice_number = $5,"
        " settled_at = CASE WHEN $2 = 'open' THEN NULL ELSE now() END WHERE id = $1",
        line_id,
        status,
        caller_id,
        ledger_id,
        invoice_number,
    )


async def same_transfer(
    pool: asyncpg.Pool, tenant_id: int, caller_id: int, amount_yen: int, paid_on: date
) -> list[int]:
    """Ledger ids of deposits to this caller of this amount, paid on this day (the memo says 振込日 YYYY-MM-DD).

    By hand or from a statement, a deposit's memo starts with its 振込日, so a
    transfer booked twice is seen whichever way each booking came.
    """
    rows = await pool.fetch(
        "SELECT id FROM ledger WHERE tenant_id = $1 AND caller_id = $2 AND kind = 'deposit' AND amount_yen = $3"
        " AND (memo = $4 OR memo LIKE $4 || ' %') ORDER BY id",
        tenant_id,
        caller_id,
        amount_yen,
        f"振込日 {paid_on.isoformat()}",
    )
    return [r["id"] for r in rows]
