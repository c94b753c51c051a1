"""Monthly invoices in PostgreSQL: previews of open months, closing a month, adjustment lines.

A closed month's invoice is stored once, as issued, and never changes (trigger);
corrections are adjustment lines of a month that is still open.  Closing and
adding an adjustment lock the tenant's row, so an adjustment lands either in
the invoice being closed or is refused, never lost.  The money rules are in
:mod:`daemon.rules.billing.invoice`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import asyncpg

from daemon.postgres.types import Conn
from daemon.repositories import contracts
from daemon.repositories.tenants import NotFound
from daemon.rules.billing.invoice import JST, AdjustmentEntry, ForwardingUsage, Invoice, Issuer, Period, build_invoice

if TYPE_CHECKING:
    from daemon.config import Settings


class InvoiceRefused(Exception):
    """The month is not in a state that allows this (not over yet, closed already, calls still open…)."""


class AlreadyClosed(InvoiceRefused):
    """The month's invoice was issued before."""


@dataclass(frozen=True, slots=True)
class Terms:
    """What the issuer prints on every invoice (settings at the time of issue)."""

    issuer: Issuer
    due_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Terms:
        issuer = Issuer(
            name=settings.invoice_issuer_name.strip(),
            registration_number=settings.invoice_registration_number,
            address=settings.invoice_issuer_address.strip(),
            bank_account=settings.invoice_bank_account.strip(),
        )
        return cls(issuer=issuer, due_days=settings.invoice_due_days)


@dataclass(frozen=True, slots=True)
class Adjustment:
    id: int
    tenant_id: int
    period: str
    amount_yen: int
    reason: str
    idempotency_key: str | None
    created_at: datetime
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class ClosedSummary:
    number: str
    period: str
    issued_on: date
    due_on: date
    subtotal_yen: int
    tax_yen: int
    total_yen: int
    closed_at: datetime


def _today(now: datetime) -> date:
    return now.astimezone(JST).date()


@dataclass(frozen=True, slots=True)
class _Addressee:
    name: str  # the billing name, else the tenant's name
    address: str


async def _tenant_name(conn: Conn, tenant_id: int, *, lock: bool) -> _Addressee:
    sql = "SELECT COALESCE(NULLIF(billing_name, ''), name) AS name, billing_address FROM tenants WHERE id = $1"
    row = await conn.fetchrow(sql + (" FOR NO KEY UPDATE" if lock else ""), tenant_id)
    if row is None:
        raise NotFound(f"no tenant with id {tenant_id}")
    return _Addressee(row["name"], row["billing_address"])


async def _forwarded(conn: Conn, tenant_id: int, period: Period) -> tuple[ForwardingUsage, int]:
    """Priced legs answered in the month, and how many answered legs have no price yet."""
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE charge_yen IS NOT NULL) AS calls,"
        " COALESCE(sum(billsec) FILTER (WHERE charge_yen IS NOT NULL), 0) AS seconds,"
        " COALESCE(sum(charge_yen), 0) AS yen,"
        " count(*) FILTER (WHERE charge_yen IS NULL) AS unpriced"
        " FROM forward_legs WHERE tenant_id = $1 AND answer_us >= $2 AND answer_us < $3",
        tenant_id,
        period.start_us,
        period.end_us,
    )
    assert row is not None
    return ForwardingUsage(row["calls"], int(row["seconds"]), int(row["yen"])), row["unpriced"]


async def _adjustments(conn: Conn, tenant_id: int, period: Period) -> list[AdjustmentEntry]:
    rows = await conn.fetch(
        "SELECT amount_yen, reason FROM invoice_adjustments WHERE tenant_id = $1 AND period = $2 ORDER BY id",
        tenant_id,
        period.first_day,
    )
    return [AdjustmentEntry(r["amount_yen"], r["reason"]) for r in rows]


async def _stored(conn: Conn, tenant_id: int, period: Period) -> Invoice | None:
    document: str | None = await conn.fetchval(
        "SELECT document FROM invoices WHERE tenant_id = $1 AND period = $2", tenant_id, period.first_day
    )
    return None if document is None else Invoice.model_validate_json(document)


async def _compute(
    conn: Conn,
    tenant_id: int,
    addressee: _Addressee,
    period: Period,
    terms: Terms,
    now: datetime,
    *,
    closed: bool = False,
    extra: Sequence[AdjustmentEntry] = (),
) -> tuple[Invoice, int]:
    history = contracts.states(await contracts.changes(conn, tenant_id))
    forwarded, unpriced = await _forwarded(conn, tenant_id, period)
    adjustments = [*await _adjustments(conn, tenant_id, period), *extra]
    invoice = build_invoice(
        tenant_id=tenant_id,
        addressee=addressee.name,
        addressee_address=addressee.address,
        period=period,
        history=history,
        forwarded=forwarded,
        adjustments=adjustments,
        issuer=terms.issuer,
        issued_on=_today(now),
        due_days=terms.due_days,
        closed_at=now if closed else None,
    )
    return invoice, unpriced


def _not_begun(period: Period, now: datetime) -> InvoiceRefused | None:
    current = Period.containing(now)
    if period > current:
        return InvoiceRefused(f"{period} has not begun yet (it is {current} in Tokyo)")
    return None


async def invoice(pool: asyncpg.Pool, tenant_id: int, period: Period, terms: Terms, now: datetime) -> Invoice:
    """The stored invoice of a closed month, else a preview computed from the history as of ``now``."""
    refused = _not_begun(period, now)
    async with pool.acquire() as conn:
        addressee = await _tenant_name(conn, tenant_id, lock=False)
        if refused is not None:
            raise refused
        stored = await _stored(conn, tenant_id, period)
        if stored is not None:
            return stored
        preview, _ = await _compute(conn, tenant_id, addressee, period, terms, now)
    return preview


async def close(pool: asyncpg.Pool, tenant_id: int, period: Period, terms: Terms, now: datetime) -> Invoice:
    """Issue a finished month's invoice: computed, stored once, never changed afterwards."""
    current = Period.containing(now)
    async with pool.acquire() as conn, conn.transaction():
        addressee = await _tenant_name(conn, tenant_id, lock=True)
        if period >= current:
            when = "the current month" if period == current else "in the future"
            raise InvoiceRefused(
                f"{period} is {when}: only a month that is over can be closed"
                f" (the earliest is {current} from {current.end.date()} 00:00 JST)"
            )
        if not terms.issuer.complete:
            raise InvoiceRefused(
                "the issuer is not configured: set CALLD_INVOICE_ISSUER_NAME and"
                " CALLD_INVOICE_REGISTRATION_NUMBER before issuing qualified invoices"
            )
        stored = await _stored(conn, tenant_id, period)
        if stored is not None:
            raise AlreadyClosed(f"{period} is closed already: invoice {stored.number} of {stored.issued_on}")
        issued, unpriced = await _compute(conn, tenant_id, addressee, period, terms, now, closed=True)
        if unpriced:
            raise InvoiceRefused(
                f"{unpriced} forwarded call(s) answered in {period} have no charge yet (still in progress,"
                " or ended without one); close the month once they are priced"
            )
        await conn.execute(
            "INSERT INTO invoices (tenant_id, period, number, issued_on, due_on, subtotal_yen, tax_yen, total_yen,"
            " document, closed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            tenant_id,
            period.first_day,
            issued.number,
            issued.issued_on,
            issued.due_on,
            issued.subtotal_yen,
            issued.tax_yen,
            issued.total_yen,
            issued.model_dump_json(),
            now,
        )
    return issued


_ADJUSTMENT = "id, tenant_id, period, amount_yen, reason, idempotency_key, created_at"


def _adjustment(row: asyncpg.Record, *, replayed: bool = False) -> Adjustment:
    period = Period(row["period"].year, row["period"].month)
    return Adjustment(
        row["id"],
        row["tenant_id"],
        str(period),
        row["amount_yen"],
        row["reason"],
        row["idempotency_key"],
        row["created_at"],
        replayed,
    )


async def add_adjustment(
    pool: asyncpg.Pool,
    tenant_id: int,
    period: Period,
    amount_yen: int,
    reason: str,
    terms: Terms,
    now: datetime,
    *,
    idempotency_key: str | None = None,
) -> Adjustment:
    """Add a correction line to an open month (exactly once per idempotency key)."""
    async with pool.acquire() as conn, conn.transaction():
        addressee = await _tenant_name(conn, tenant_id, lock=True)
        if idempotency_key is not None:
            row = await conn.fetchrow(
                f"SELECT {_ADJUSTMENT} FROM invoice_adjustments WHERE tenant_id = $1 AND idempotency_key = $2",
                tenant_id,
                idempotency_key,
            )
            if row is not None:
                if (row["period"], row["amount_yen"], row["reason"]) != (period.first_day, amount_yen, reason):
                    raise InvoiceRefused("this idempotency_key was used for another adjustment")
                return _adjustment(row, replayed=True)
        refused = _not_begun(period, now)
        if refused is not None:
            raise refused
        stored = await _stored(conn, tenant_id, period)
        if stored is not None:
            raise InvoiceRefused(
                f"{period} is closed (invoice {stored.number}); corrections go into an open month,"
                f" e.g. {Period.containing(now)}"
            )
        before, _ = await _compute(conn, tenant_id, addressee, period, terms, now)
        if before.subtotal_yen + amount_yen < 0:
            raise InvoiceRefused(
                f"a credit of {-amount_yen:,} yen exceeds {period}'s charges ({before.subtotal_yen:,} yen before tax)"
            )
        row = await conn.fetchrow(
            "INSERT INTO invoice_adjustments (tenant_id, period, amount_yen, reason, idempotency_key)"
            f" VALUES ($1, $2, $3, $4, $5) RETURNING {_ADJUSTMENT}",
            tenant_id,
            period.first_day,
            amount_yen,
            reason,
            idempotency_key,
        )
    assert row is not None
    return _adjustment(row)


async def closed_invoices(pool: asyncpg.Pool, tenant_id: int) -> list[ClosedSummary]:
    async with pool.acquire() as conn:
        await _tenant_name(conn, tenant_id, lock=False)
        rows = await conn.fetch(
            "SELECT number, period, issued_on, due_on, subtotal_yen, tax_yen, total_yen, closed_at"
            " FROM invoices WHERE tenant_id = $1 ORDER BY period",
            tenant_id,
        )
    return [
        ClosedSummary(
            r["number"],
            str(Period(r["period"].year, r["period"].month)),
            r["issued_on"],
            r["due_on"],
            r["subtotal_yen"],
            r["tax_yen"],
            r["total_yen"],
            r["closed_at"],
        )
        for r in rows
    ]
