"""Our invoices paid: one payment per issued invoice, from a line of our bank statement or marked by hand.

Invoices are never changed (011_invoices.sql); whether one is paid is this
table's.  An invoice paid twice is refused by the database (one row per
invoice number), and a statement line pays at most one invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from daemon.postgres.errors import Conflict, NotFound
from daemon.postgres.types import Queryable


class AlreadyPaid(Conflict):
    """The invoice has its payment already."""


@dataclass(frozen=True, slots=True)
class Due:
    """An issued invoice without its payment."""

    number: str
    tenant_id: int
    tenant_name: str
    period: date
    issued_on: date
    due_on: date
    total_yen: int


@dataclass(frozen=True, slots=True)
class Payment:
    number: str
    tenant_id: int
    tenant_name: str
    total_yen: int
    paid_on: date
    amount_yen: int
    bank_line_id: int | None
    memo: str
    recorded_at: datetime


async def unpaid(pool: Queryable, number: str | None = None) -> list[Due]:
    """Issued invoices without a payment, oldest due first (``number``: that one only)."""
    rows = await pool.fetch(
        "SELECT i.number, i.tenant_id, t.name AS tenant_name, i.period, i.issued_on, i.due_on, i.total_yen"
        " FROM invoices i JOIN tenants t ON t.id = i.tenant_id"
        " WHERE NOT EXISTS (SELECT 1 FROM invoice_payments p WHERE p.invoice_number = i.number)"
        " AND ($1::text IS NULL OR i.number = $1) ORDER BY i.due_on, i.number",
        number,
    )
    return [Due(*(r[k] for k in Due.__slots__)) for r in rows]


async def payments(pool: asyncpg.Pool, limit: int = 100) -> list[Payment]:
    rows = await pool.fetch(
        "SELECT p.invoice_number AS number, p.tenant_id, t.name AS tenant_name, i.total_yen, p.paid_on,"
        " p.amount_yen, p.bank_line_id, p.memo, p.recorded_at FROM invoice_payments p"
        " JOIN invoices i ON i.number = p.invoice_number JOIN tenants t ON t.id = p.tenant_id"
        " ORDER BY p.id DESC LIMIT $1",
        limit,
    )
    return [Payment(*(r[k] for k in Payment.__slots__)) for r in rows]


async def record(
    pool: asyncpg.Pool, number: str, paid_on: date, amount_yen: int, *, bank_line_id: int | None = None, memo: str = ""
) -> Due:
    """The invoice's payment; :class:`AlreadyPaid` if it has one, :class:`NotFound` if no such invoice is issued."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"invoice-paid:{number}")
        found = await unpaid(conn, number)
        if not found:
            if await conn.fetchval("SELECT 1 FROM invoices WHERE number = $1", number):
                raise AlreadyPaid(f"invoice {number} is paid already")
            raise NotFound(f"no issued invoice {number}")
        due = found[0]
        await conn.execute(
            "INSERT INTO invoice_payments (invoice_number, tenant_id, paid_on, amount_yen, bank_line_id, memo)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            number,
            due.tenant_id,
            paid_on,
            amount_yen,
            bank_line_id,
            memo,
        )
    return due
