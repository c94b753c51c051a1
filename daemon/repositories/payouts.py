"""What each counsellor's calls brought in over a period: the basis of the counsellors' pay.

Calls are counted by when they were created (``call_records.created_at``);
the yen are what the ledger actually charged the callers for them, less what
was refunded of those charges.  One tenant at a time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

# The answered calls of a period ($1 tenant, $2 since, $3 until, $4 one counsellor or every one)
# and what each was charged, refunds taken off (at most one charge per call).
_PERIOD = (
    "WITH period AS ("
    "  SELECT r.call_uuid, r.counsellor_id, r.caller_number, r.answer_us, r.created_at,"
    "  COALESCE(r.billed_seconds, 0) AS seconds FROM call_records r"
    "  WHERE r.tenant_id = $1 AND r.counsellor_id IS NOT NULL AND r.answer_us IS NOT NULL"
    "  AND ($2::timestamptz IS NULL OR r.created_at >= $2) AND ($3::timestamptz IS NULL OR r.created_at < $3)"
    "  AND ($4::bigint IS NULL OR r.counsellor_id = $4)"
    "), money AS ("
    "  SELECT l.call_uuid, -l.amount_yen - COALESCE((SELECT sum(f.amount_yen) FROM ledger f"
    "   WHERE f.refund_of = l.id AND f.kind = 'refund'), 0) AS yen"
    "  FROM period p JOIN ledger l ON l.tenant_id = $1 AND l.call_uuid = p.call_uuid AND l.kind = 'charge'"
    ")"
)


@dataclass(frozen=True, slots=True)
class PaidCall:
    """One answered call as the counsellor's pay sees it (the caller's number, never their money)."""

    call_uuid: uuid.UUID
    counsellor_id: int
    caller_number: str
    answer_us: int
    day: date  # the call's date in Asia/Tokyo: the pay rate of that day applies
    billed_seconds: int
    charged_yen: int


async def paid_calls(
    pool: asyncpg.Pool, tenant_id: int, *, since: datetime, until: datetime, counsellor_id: int | None = None
) -> list[PaidCall]:
    """The answered calls of the period (one counsellor's, or everyone's), the latest first."""
    rows = await pool.fetch(
        _PERIOD + " SELECT p.call_uuid, p.counsellor_id, p.caller_number, p.answer_us, p.seconds,"
        " (p.created_at AT TIME ZONE 'Asia/Tokyo')::date AS day, COALESCE(m.yen, 0) AS yen"
        " FROM period p LEFT JOIN money m ON m.call_uuid = p.call_uuid ORDER BY p.created_at DESC, p.call_uuid",
        tenant_id,
        since,
        until,
        counsellor_id,
    )
    return [
        PaidCall(
            r["call_uuid"],
            r["counsellor_id"],
            r["caller_number"],
            r["answer_us"],
            r["day"],
            r["seconds"],
            int(r["yen"]),
        )
        for r in rows
    ]
