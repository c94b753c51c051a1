"""Issued invoices we have e-mailed: to whom and when (one row per sending)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from daemon.postgres.types import Conn, Queryable


@dataclass(frozen=True, slots=True)
class Mailing:
    period: date
    sent_to: str
    sent_at: datetime


async def record(conn: Conn, tenant_id: int, period: date, sent_to: str) -> datetime:
    sent_at: datetime = await conn.fetchval(
        "INSERT INTO invoice_mailings (tenant_id, period, sent_to) VALUES ($1, $2, $3) RETURNING sent_at",
        tenant_id,
        period,
        sent_to,
    )
    return sent_at


async def last_sent(pool: Queryable, period: date) -> dict[int, Mailing]:
    """The latest sending of each tenant's invoice of ``period``, by tenant."""
    rows = await pool.fetch(
        "SELECT DISTINCT ON (tenant_id) tenant_id, period, sent_to, sent_at FROM invoice_mailings"
        " WHERE period = $1 ORDER BY tenant_id, sent_at DESC",
        period,
    )
    return {r["tenant_id"]: Mailing(r["period"], r["sent_to"], r["sent_at"]) for r in rows}
