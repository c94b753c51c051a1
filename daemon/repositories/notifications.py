"""Voicemail notifications: where a tenant's go (``voicemail_notify``) and each delivery (sql/023).

Deliveries are written by the database itself, a trigger on ``voicemails`` in the
message's own transaction; this module claims the due ones, records how each
attempt went, and lists them for the console's delivery log.  A claim moves the
row's ``next_attempt_at`` a lease ahead instead of holding a lock while mail or
HTTP is slow: a node that dies mid-attempt leaves the row to be claimed again when
the lease runs out (at least once; receivers deduplicate by the delivery id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from daemon.postgres.types import Queryable


@dataclass(frozen=True, slots=True)
class NotifySettings:
    emails: list[str]
    webhook_url: str | None
    webhook_secret: str


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    voicemail_id: int | None
    channel: str
    target: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery being attempted, with what its message says."""

    id: int
    tenant_id: int
    tenant_name: str
    channel: str
    target: str
    attempts: int  # including this one
    webhook_secret: str | None
    voicemail_id: int | None  # None: the message was deleted before it was sent
    caller_number: str | None
    dialled: str | None
    flow_node: str | None
    duration_ms: int | None
    path: str | None
    created_at: datetime | None


async def settings(pool: Queryable, tenant_id: int) -> NotifySettings | None:
    row = await pool.fetchrow(
        "SELECT emails, webhook_url, webhook_secret FROM voicemail_notify WHERE tenant_id = $1", tenant_id
    )
    return None if row is None else NotifySettings(list(row["emails"]), row["webhook_url"], row["webhook_secret"])


async def save(pool: Queryable, tenant_id: int, wanted: NotifySettings) -> NotifySettings:
    await pool.execute(
        "INSERT INTO voicemail_notify (tenant_id, emails, webhook_url, webhook_secret) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (tenant_id) DO UPDATE SET emails = $2, webhook_url = $3, webhook_secret = $4,"
        " updated_at = now()",
        tenant_id,
        wanted.emails,
        wanted.webhook_url,
        wanted.webhook_secret,
    )
    return wanted


async def claim(pool: Queryable, *, lease_seconds: float, limit: int = 20) -> list[Claimed]:
    """Take the due deliveries (each attempt counted), leased for ``lease_seconds``."""
    rows = await pool.fetch(
        "WITH due AS ("
        "  SELECT id FROM notification_deliveries WHERE state = 'pending' AND next_attempt_at <= now()"
        "  ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
        " taken AS ("
        "  UPDATE notification_deliveries d SET attempts = d.attempts + 1,"
        "   next_attempt_at = now() + make_interval(secs => $1)"
        "  FROM due WHERE d.id = due.id RETURNING d.*)"
        " SELECT t.id, t.tenant_id, tn.name AS tenant_name, t.channel, t.target, t.attempts,"
        "  n.webhook_secret, v.id AS voicemail_id, v.caller_number, v.dialled, v.flow_node, v.duration_ms,"
        "  v.path, v.created_at"
        " FROM taken t JOIN tenants tn ON tn.id = t.tenant_id"
        " LEFT JOIN voicemail_notify n ON n.tenant_id = t.tenant_id"
        " LEFT JOIN voicemails v ON v.id = t.voicemail_id"
        " ORDER BY t.id",
        lease_seconds,
        limit,
    )
    return [Claimed(**dict(r)) for r in rows]


async def finish(pool: Queryable, delivery_id: int, state: str, *, status: int | None, error: str | None) -> None:
    """The delivery is over: sent, failed for good, or cancelled."""
    await pool.execute(
        "UPDATE notification_deliveries SET state = $2, last_status = $3, last_error = $4, finished_at = now()"
        " WHERE id = $1",
        delivery_id,
        state,
        status,
        error,
    )


async def again(pool: Queryable, delivery_id: int, delay_seconds: float, *, status: int | None, error: str) -> None:
    """The attempt failed: try again after ``delay_seconds``."""
    await pool.execute(
        "UPDATE notification_deliveries SET last_status = $3, last_error = $4,"
        " next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1",
        delivery_id,
        delay_seconds,
        status,
        error,
    )


async def next_due(pool: Queryable) -> datetime | None:
    due: datetime | None = await pool.fetchval(
        "SELECT min(next_attempt_at) FROM notification_deliveries WHERE state = 'pending'"
    )
    return due


async def log(pool: Queryable, tenant_id: int, *, limit: int = 50) -> list[Delivery]:
    """The tenant's deliveries, newest first."""
    rows = await pool.fetch(
        "SELECT id, voicemail_id, channel, target, state, attempts, next_attempt_at, last_status, last_error,"
        " created_at, finished_at FROM notification_deliveries WHERE tenant_id = $1"
        " ORDER BY created_at DESC, id DESC LIMIT $2",
        tenant_id,
        limit,
    )
    return [Delivery(**dict(r)) for r in rows]
