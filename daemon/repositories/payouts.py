"""What each counsellor's calls brought in over a period: the basis of the counsellors' pay.

Calls are counted by when they were created (``call_records.created_at``);
the yen are what the ledger actually charged the callers for them, less what
was refunded of those charges.  One tenant at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class CounsellorTotal:
    counsellor_id: int
    name: str
    calls: int
    talk_seconds: int
    charged_yen: int


async def counsellor_totals(
    pool: asyncpg.Pool, tenant_id: int, *, since: datetime | None, until: datetime | None
) -> list[CounsellorTotal]:
    """Every counsellor of the tenant (those without calls too), by name."""
    rows = await pool.fetch(
        "WITH period AS ("
        "  SELECT r.call_uuid, r.counsellor_id, COALESCE(r.billed_seconds, 0) AS seconds FROM call_records r"
        "  WHERE r.tenant_id = $1 AND r.counsellor_id IS NOT NULL AND r.answer_us IS NOT NULL"
        "  AND ($2::timestamptz IS NULL OR r.created_at >= $2) AND ($3::timestamptz IS NULL OR r.created_at < $3)"
        "), money AS ("  # at most one charge per call
        "  SELECT l.call_uuid, -l.amount_yen - COALESCE((SELECT sum(f.amount_yen) FROM ledger f"
        "   WHERE f.refund_of = l.id AND f.kind = 'refund'), 0) AS yen"
        "  FROM period p JOIN ledger l ON l.tenant_id = $1 AND l.call_uuid = p.call_uuid AND l.kind = 'charge'"
        ")"
        " SELECT c.id, c.name, count(p.call_uuid) AS calls, COALESCE(sum(p.seconds), 0) AS seconds,"
        " COALESCE(sum(m.yen), 0) AS yen"
        " FROM counsellors c LEFT JOIN period p ON p.counsellor_id = c.id"
        " LEFT JOIN money m ON m.call_uuid = p.call_uuid"
        " WHERE c.tenant_id = $1 GROUP BY c.id, c.name ORDER BY c.name, c.id",
        tenant_id,
        since,
        until,
    )
    return [CounsellorTotal(r["id"], r["name"], r["calls"], int(r["seconds"]), int(r["yen"])) for r in rows]
