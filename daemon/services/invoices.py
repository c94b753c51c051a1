"""Our invoices to tenants: preview a month, close (issue) it, correct an open month.

Money rules are :mod:`daemon.rules.billing.invoice`'s, the SQL :mod:`daemon.repositories.invoices`'s.
Here: who may (issuing and correcting are the platform's; a tenant reads its
own), the audit row, and the refusals as domain errors (a month that
cannot be closed or corrected yet is a :class:`Conflict`, a month before the
tenant existed :class:`NotFound`).  The time is this module's :func:`clock`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg

from daemon.repositories import contracts, invoices
from daemon.repositories.invoices import Adjustment, ClosedSummary, Terms
from daemon.rules.billing.invoice import Invoice, NoContract, Period
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import Conflict, NotFound
from daemon.services.invoice_models import AdjustmentCreate

REFUSED = "invoice_refused"  # the month does not allow it (yet)
CLOSED = "invoice_closed"  # issued before


class NoContractThen(NotFound):
    """The month is before the tenant existed: there is nothing to invoice."""

    code = "no_contract"


def clock() -> datetime:
    """Now; the tests put another function here to set the time."""
    return datetime.now(UTC)


@contextlib.contextmanager
def _refusals(tenant_id: int, period: Period) -> Iterator[None]:
    try:
        yield
    except invoices.InvoiceRefused as exc:
        raise Conflict(str(exc), code=CLOSED if isinstance(exc, invoices.AlreadyClosed) else REFUSED) from None
    except NoContract:
        raise NoContractThen(f"tenant {tenant_id} had no contract in {period} (it did not exist yet)") from None


async def invoice(pool: asyncpg.Pool, actor: Actor, tenant_id: int, period: Period, terms: Terms) -> Invoice:
    """The issued invoice of a closed month, else a preview as of now (status ``open``)."""
    tenant_id = actor.scope(tenant_id)
    with _refusals(tenant_id, period):
        return await invoices.invoice(pool, tenant_id, period, terms, clock())


async def closed(pool: asyncpg.Pool, actor: Actor, tenant_id: int) -> list[ClosedSummary]:
    return await invoices.closed_invoices(pool, actor.scope(tenant_id))


async def contract_history(pool: asyncpg.Pool, actor: Actor, tenant_id: int) -> list[contracts.Change]:
    """Every state of the tenant's lines and add-on, oldest first (what invoices are computed from)."""
    tenant_id = actor.scope(tenant_id)
    found = await contracts.changes(pool, tenant_id)
    if not found:
        raise NotFound(f"no tenant with id {tenant_id}")
    return found


async def close(pool: asyncpg.Pool, actor: Actor, tenant_id: int, period: Period, terms: Terms) -> Invoice:
    """Issue a month that is over (the platform's staff): computed, stored once, never changed afterwards."""
    actor.require_platform()
    with _refusals(tenant_id, period):
        async with change(pool, actor) as c:
            issued = await invoices.close(c.pool, tenant_id, period, terms, clock())
            await c.record(
                "invoice.close",
                tenant_id=tenant_id,
                target=f"invoice {issued.number}",
                before={"status": "open"},
                after={"status": "closed", "total_yen": issued.total_yen, "period": str(period)},
            )
    return issued


class _Replayed(Exception):
    """An adjustment sent again with its idempotency key: nothing changes, nothing is recorded."""

    def __init__(self, first: Adjustment) -> None:
        self.first = first


async def add_adjustment(
    pool: asyncpg.Pool, actor: Actor, tenant_id: int, period: Period, line: AdjustmentCreate, terms: Terms
) -> Adjustment:
    """A correction line (before tax; negative credits) on an open month, by the platform's staff.

    A replay (the same idempotency key and line) returns the first one and records nothing.
    """
    actor.require_platform()
    try:
        with _refusals(tenant_id, period):
            async with change(pool, actor) as c:
                added = await invoices.add_adjustment(
                    c.pool,
                    tenant_id,
                    period,
                    line.amount_yen,
                    line.reason,
                    terms,
                    clock(),
                    idempotency_key=line.idempotency_key,
                )
                if added.replayed:
                    raise _Replayed(added)
                await c.record(
                    "invoice.adjustment",
                    tenant_id=tenant_id,
                    target=f"invoice adjustment {added.id}",
                    after={"period": str(period), "amount_yen": added.amount_yen, "reason": added.reason},
                )
    except _Replayed as replay:
        return replay.first
    return added
