"""Money an operator books on a caller: deposits, adjustments, payouts and refunds.

One function, :func:`book`, for the four kinds: the ledger entry (exactly once
per idempotency key; :mod:`daemon.repositories.ledger` locks the caller and NOTIFYs the
daemons so live calls are re-armed at once) and its audit row, balance before
and after, in one transaction.  A replay of the same request books nothing and
writes no second audit row.  Refusals come out with a code a front door words:
``insufficient_funds``, ``balance_too_large``, ``refund_exceeds_charge``,
``idempotency_conflict`` (:class:`Conflict`), ``charge_not_found``
(:class:`Invalid`: the request names a charge the caller does not have).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from daemon.repositories import ledger
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import Conflict, Invalid, Problem

KINDS = ("deposit", "adjustment", "payout", "refund")

_CODES: tuple[tuple[type[Exception], str], ...] = (
    (ledger.InsufficientFunds, "insufficient_funds"),
    (ledger.BalanceTooLarge, "balance_too_large"),
    (ledger.RefundExceedsCharge, "refund_exceeds_charge"),
    (ledger.IdempotencyConflict, "idempotency_conflict"),
)


@dataclass(frozen=True, slots=True)
class Booking:
    """One entry to book; ``amount_yen`` is positive as a person gives it (a payout leaves the balance)."""

    kind: str
    amount_yen: int
    memo: str = ""
    idempotency_key: str | None = None
    call_uuid: uuid.UUID | None = None  # refunds: the charge, by its call ...
    charge_id: int | None = None  # ... or by its ledger id

    @property
    def signed_yen(self) -> int:
        return -self.amount_yen if self.kind == "payout" else self.amount_yen

    @property
    def charge(self) -> ledger.ChargeRef | None:
        if self.kind != "refund":
            return None
        return ledger.ChargeRef(self.call_uuid, self.charge_id)


async def _post(c_pool: asyncpg.Pool, tenant: int, caller_id: int, booking: Booking) -> ledger.Entry:
    """The ledger's refusals as domain errors with their codes."""
    try:
        return await ledger.post(
            c_pool,
            tenant,
            caller_id,
            booking.kind,
            booking.signed_yen,
            memo=booking.memo,
            idempotency_key=booking.idempotency_key,
            charge=booking.charge,
        )
    except ledger.ChargeNotFound as exc:
        raise Invalid([Problem((), str(exc), "charge_not_found")]) from None
    except (ledger.MoneyRefused, ledger.IdempotencyConflict) as exc:
        code = next((code for kind, code in _CODES if isinstance(exc, kind)), None)
        raise Conflict(str(exc), code=code) from None


async def book(pool: asyncpg.Pool, actor: Actor, tenant_id: int, caller_id: int, booking: Booking) -> ledger.Entry:
    """The entry booked (``replayed`` True: booked before under the same key, nothing new)."""
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        entry = await _post(c.pool, tenant, caller_id, booking)
        if entry.replayed:
            c.unchanged()
        else:
            await c.record(
                f"ledger.{booking.kind}",
                tenant_id=tenant,
                target=f"caller {caller_id}",
                before={"balance_yen": entry.balance_after - entry.amount_yen},  # under the ledger's lock
                after={"amount_yen": entry.amount_yen, "balance_yen": entry.balance_after, "memo": entry.memo},
            )
    return entry
