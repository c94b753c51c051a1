"""Counsellors' pay rates and their history: one row per counsellor and starting date.

Setting a rate for a date that already has one replaces it (a correction of the
same day); any other date adds a row, and the older rates keep applying to the
calls before it.  One tenant at a time.
"""

from __future__ import annotations

from datetime import date

import asyncpg

from daemon.postgres.errors import NotFound
from daemon.rules.billing.pay import PayRate


def _rate(r: asyncpg.Record) -> PayRate:
    return PayRate(r["kind"], r["value"], r["effective_from"])


async def history(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int) -> list[PayRate]:
    """Every rate of the counsellor, the oldest first."""
    rows = await pool.fetch(
        "SELECT kind, value, effective_from FROM counsellor_pay_rates"
        " WHERE tenant_id = $1 AND counsellor_id = $2 ORDER BY effective_from",
        tenant_id,
        counsellor_id,
    )
    return [_rate(r) for r in rows]


async def of_tenant(pool: asyncpg.Pool, tenant_id: int) -> dict[int, list[PayRate]]:
    """Every counsellor's history (counsellor id → rates, the oldest first)."""
    rows = await pool.fetch(
        "SELECT counsellor_id, kind, value, effective_from FROM counsellor_pay_rates"
        " WHERE tenant_id = $1 ORDER BY counsellor_id, effective_from",
        tenant_id,
    )
    found: dict[int, list[PayRate]] = {}
    for r in rows:
        found.setdefault(r["counsellor_id"], []).append(_rate(r))
    return found


async def put(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int, rate: PayRate) -> PayRate | None:
    """Set the rate from ``rate.effective_from`` on; returns the one it replaced on that same date, if any."""
    async with pool.acquire() as conn, conn.transaction():
        exists = await conn.fetchval(
            "SELECT true FROM counsellors WHERE tenant_id = $1 AND id = $2 FOR KEY SHARE", tenant_id, counsellor_id
        )
        if not exists:
            raise NotFound(f"no counsellor {counsellor_id}")
        before = await conn.fetchrow(
            "SELECT kind, value, effective_from FROM counsellor_pay_rates"
            " WHERE counsellor_id = $1 AND effective_from = $2",
            counsellor_id,
            rate.effective_from,
        )
        await conn.execute(
            "INSERT INTO counsellor_pay_rates (tenant_id, counsellor_id, effective_from, kind, value)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (counsellor_id, effective_from) DO UPDATE SET kind = $4, value = $5, created_at = now()",
            tenant_id,
            counsellor_id,
            rate.effective_from,
            rate.kind,
            rate.value,
        )
    return _rate(before) if before is not None else None


async def remove(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int, effective_from: date) -> PayRate:
    """Take back a rate set by mistake; the one before it applies again."""
    row = await pool.fetchrow(
        "DELETE FROM counsellor_pay_rates WHERE tenant_id = $1 AND counsellor_id = $2 AND effective_from = $3"
        " RETURNING kind, value, effective_from",
        tenant_id,
        counsellor_id,
        effective_from,
    )
    if row is None:
        raise NotFound(f"no pay rate of counsellor {counsellor_id} from {effective_from}")
    return _rate(row)
