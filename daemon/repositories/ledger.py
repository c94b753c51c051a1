"""The ledger: every change of a caller's balance is one row here.

``callers.balance_yen`` is a cache of the ledger's sum, updated in the same
transaction as the row it follows (``balance_after`` records it), with the
caller's row locked, so the two never disagree.  Any change of a balance
NOTIFYs ``calld_balance`` so every node re-arms that caller's cutoffs.

Kinds (README, Money rules):

* ``deposit``    > 0  money received (bank transfer checked by the operator);
* ``charge``     < 0  a call, at most one per call, capped by the caller's money;
* ``adjustment`` ≠ 0  a correction, bounded like a charge when negative;
* ``payout``     < 0  money paid back to the caller out of their balance (never below 0);
* ``refund``     > 0  a refund of one charge (all its refunds at most what it charged).

Every row moves at most ``MAX_ENTRY_YEN`` and leaves the balance within
``±MAX_BALANCE_YEN`` (daemon/rules/billing/limits.py); the database checks the same.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.postgres.errors import Conflict, NotFound
from daemon.postgres.types import Conn
from daemon.repositories import callers, money
from daemon.repositories.balance_channel import notify_balance
from daemon.repositories.callers import Caller
from daemon.rules.billing.deadline import charges_at
from daemon.rules.billing.limits import MAX_BALANCE_YEN, MAX_ENTRY_YEN

OPERATOR_KINDS = frozenset({"deposit", "adjustment", "payout", "refund"})


CallerNotFound = callers.CallerNotFound  # importable from here as before


class ChargeNotFound(NotFound):
    """The refund names a charge this caller does not have."""


class IdempotencyConflict(Conflict):
    """The idempotency key was used before for a different request."""


class MoneyRefused(Conflict):
    """The caller's money does not allow this entry (nothing was booked)."""


class InsufficientFunds(MoneyRefused):
    """The change would take the balance below what the caller may have (0, or minus the credit limit)."""


class BalanceTooLarge(MoneyRefused):
    """The change would take the balance above ``MAX_BALANCE_YEN``."""


class RefundExceedsCharge(MoneyRefused):
    """All refunds of a charge together would give back more than it charged."""


@dataclass(frozen=True, slots=True)
class ChargeRef:
    """Which charge a refund gives back: by the call's uuid or by the charge's ledger id."""

    call_uuid: uuid.UUID | None = None
    charge_id: int | None = None

    def __post_init__(self) -> None:
        if (self.call_uuid is None) == (self.charge_id is None):
            raise ValueError("name the charge by call_uuid or by charge_id (one of them)")


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    caller_id: int
    kind: str
    amount_yen: int
    balance_after: int
    call_uuid: uuid.UUID | None
    idempotency_key: str | None
    memo: str
    created_at: datetime
    refund_of: int | None = None
    replayed: bool = False

    @classmethod
    def from_row(cls, row: asyncpg.Record, *, replayed: bool = False) -> Entry:
        return cls(
            row["id"],
            row["caller_id"],
            row["kind"],
            row["amount_yen"],
            row["balance_after"],
            row["call_uuid"],
            row["idempotency_key"],
            row["memo"],
            row["created_at"],
            row["refund_of"],
            replayed,
        )


async def lock_caller(conn: Conn, tenant_id: int, caller_id: int) -> Caller:
    row = await conn.fetchrow(
        "SELECT id, name, billing, balance_yen, credit_limit_yen FROM callers"
        " WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
        caller_id,
        tenant_id,
    )
    if row is None:
        raise CallerNotFound(f"no caller {caller_id}")
    return Caller(row["id"], row["name"], row["billing"], row["balance_yen"], row["credit_limit_yen"])


def _check(caller: Caller, kind: str, amount_yen: int, committed_yen: int = 0) -> None:
    """Refuse an entry the caller's money does not allow (the rules of README, Money rules).

    ``committed_yen`` is what the caller's talking calls have cost so far (booked
    when they end): a payout or a negative adjustment must leave that in place,
    or the calls' charges could not be collected.
    """
    if not 0 < abs(amount_yen) <= MAX_ENTRY_YEN:
        raise ValueError(f"an entry moves 1 to {MAX_ENTRY_YEN:,} yen; {amount_yen:,} yen is out of range")
    if (kind in ("deposit", "refund") and amount_yen < 0) or (kind in ("payout", "charge") and amount_yen > 0):
        raise ValueError(f"a {kind} of {amount_yen:,} yen has the wrong sign")
    before, after = caller.balance_yen, caller.balance_yen + amount_yen
    if amount_yen > 0 and after > MAX_BALANCE_YEN:
        raise BalanceTooLarge(
            f"the balance would be {after:,} yen; a balance holds at most {MAX_BALANCE_YEN:,} yen"
            f" (it is {before:,} yen)"
        )
    if amount_yen > 0:
        return
    talking = f" ({committed_yen:,} yen of it owed for calls in progress)" if committed_yen else ""
    if kind == "payout":
        if after - committed_yen < 0:
            raise InsufficientFunds(
                f"a payout comes out of the caller's balance: {before:,} yen{talking} cannot pay out"
                f" {-amount_yen:,} yen"
            )
        return
    floor = caller.floor_yen
    if after - committed_yen >= floor:
        return
    if caller.billing == "prepaid":
        rule = "a prepaid balance cannot go below zero"
    elif caller.credit_limit_yen is not None:
        rule = f"a postpaid balance cannot go below the credit limit of {caller.credit_limit_yen:,} yen"
    else:
        rule = f"a postpaid caller may owe at most {MAX_BALANCE_YEN:,} yen"
    raise InsufficientFunds(f"{rule}: balance {before:,} yen{talking} cannot cover {-amount_yen:,} yen")


async def charge_call(
    conn: Conn, tenant_id: int, caller_id: int, cost_yen: int, *, call_uuid: uuid.UUID, memo: str
) -> int:
    """Book a call's charge, never more than the caller's money allows; return the yen charged.

    Prepaid: at most the balance.  Postpaid with a credit limit: at most the
    credit left.  Postpaid without a limit: the whole cost (it is owed), up to
    the most anyone may owe.  Never more than one entry may move.
    """
    payer = await lock_caller(conn, tenant_id, caller_id)
    charged = max(min(cost_yen, MAX_ENTRY_YEN, payer.balance_yen - payer.floor_yen), 0)
    if charged > 0:
        await _append(conn, payer, tenant_id, "charge", -charged, memo, call_uuid, None, None)
    return charged


async def _append(
    conn: Conn,
    caller: Caller,
    tenant_id: int,
    kind: str,
    amount_yen: int,
    memo: str,
    call_uuid: uuid.UUID | None,
    idempotency_key: str | None,
    refund_of: int | None,
) -> Entry:
    balance = caller.balance_yen + amount_yen
    row = await conn.fetchrow(
        "INSERT INTO ledger (tenant_id, caller_id, kind, amount_yen, balance_after, call_uuid, idempotency_key,"
        " memo, refund_of) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
        tenant_id,
        caller.id,
        kind,
        amount_yen,
        balance,
        call_uuid,
        idempotency_key,
        memo,
        refund_of,
    )
    await conn.execute("UPDATE callers SET balance_yen = $2 WHERE id = $1", caller.id, balance)
    await notify_balance(conn, caller.id)
    assert row is not None
    return Entry.from_row(row)


async def _committed(conn: Conn, caller_id: int) -> int:
    """What the caller's talking calls (any node) have cost up to now, not yet booked."""
    talking = await money.talking_calls(conn, caller_id)
    return charges_at(list(talking.values()), time.time_ns() // 1000) if talking else 0


async def _charge_to_refund(conn: Conn, tenant_id: int, caller_id: int, ref: ChargeRef, amount_yen: int) -> int:
    """The charge a refund names, checked to still have ``amount_yen`` left to give back; its ledger id."""
    charge = await conn.fetchrow(
        "SELECT l.id, -l.amount_yen AS charged,"
        " (SELECT COALESCE(sum(r.amount_yen), 0) FROM ledger r WHERE r.refund_of = l.id AND r.kind = 'refund')"
        " AS refunded"
        " FROM ledger l WHERE l.tenant_id = $1 AND l.caller_id = $2 AND l.kind = 'charge'"
        " AND (l.id = $3 OR l.call_uuid = $4)",
        tenant_id,
        caller_id,
        ref.charge_id,
        ref.call_uuid,
    )
    if charge is None:
        named = f"call {ref.call_uuid}" if ref.call_uuid is not None else f"ledger entry {ref.charge_id}"
        raise ChargeNotFound(f"caller {caller_id} has no charge for {named}")
    left = charge["charged"] - charge["refunded"]
    if amount_yen > left:
        raise RefundExceedsCharge(
            f"charge {charge['id']} charged {charge['charged']:,} yen and {charge['refunded']:,} yen of it"
            f" is refunded already: at most {left:,} yen can be refunded, not {amount_yen:,} yen"
        )
    charge_id: int = charge["id"]
    return charge_id


def _same_request(
    first: asyncpg.Record, caller_id: int, kind: str, amount_yen: int, memo: str, ref: ChargeRef | None
) -> bool:
    if (first["caller_id"], first["kind"], first["amount_yen"], first["memo"]) != (caller_id, kind, amount_yen, memo):
        return False
    if ref is None:
        return True
    if ref.charge_id is not None:
        return bool(first["refund_of"] == ref.charge_id)
    return bool(first["call_uuid"] == ref.call_uuid)


async def post(
    pool: asyncpg.Pool,
    tenant_id: int,
    caller_id: int,
    kind: str,
    amount_yen: int,
    *,
    memo: str = "",
    idempotency_key: str | None = None,
    charge: ChargeRef | None = None,
) -> Entry:
    """An operator's entry (deposit, adjustment, payout, refund), exactly once per idempotency key.

    ``amount_yen`` is the signed ledger amount (a payout is negative).  A
    ``refund`` names the ``charge`` it gives back.  A replay with the same key
    and the same request returns the first entry (``replayed=True``) and books
    nothing; the same key for anything else is a conflict.
    """
    if kind not in OPERATOR_KINDS:
        raise ValueError(f"an operator books deposits, adjustments, payouts and refunds, not {kind!r}")
    if (kind == "refund") != (charge is not None):
        raise ValueError("a refund, and only a refund, names the charge it gives back")
    async with pool.acquire() as conn, conn.transaction():
        if idempotency_key is not None:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{tenant_id}:{idempotency_key}")
            first = await conn.fetchrow(
                "SELECT * FROM ledger WHERE tenant_id = $1 AND idempotency_key = $2",
                tenant_id,
                idempotency_key,
            )
            if first is not None:
                if not _same_request(first, caller_id, kind, amount_yen, memo, charge):
                    raise IdempotencyConflict(f"idempotency key {idempotency_key!r} was already used for another entry")
                return Entry.from_row(first, replayed=True)
        caller = await lock_caller(conn, tenant_id, caller_id)
        _check(caller, kind, amount_yen, await _committed(conn, caller_id) if amount_yen < 0 else 0)
        refund_of = None
        if charge is not None:
            refund_of = await _charge_to_refund(conn, tenant_id, caller_id, charge, amount_yen)
        return await _append(conn, caller, tenant_id, kind, amount_yen, memo, None, idempotency_key, refund_of)


async def entries(
    pool: asyncpg.Pool, tenant_id: int, caller_id: int, limit: int = 1_000_000, *, newest_first: bool = False
) -> list[Entry]:
    """A caller's entries, oldest first (``newest_first``: the latest ``limit`` of them, newest first)."""
    order = "id DESC" if newest_first else "id"
    rows = await pool.fetch(
        f"SELECT * FROM ledger WHERE tenant_id = $1 AND caller_id = $2 ORDER BY {order} LIMIT $3",
        tenant_id,
        caller_id,
        limit,
    )
    return [Entry.from_row(r) for r in rows]


async def entry(pool: asyncpg.Pool, tenant_id: int, caller_id: int, entry_id: int) -> Entry:
    """One entry of one caller (another tenant's or caller's id: not found)."""
    row = await pool.fetchrow(
        "SELECT * FROM ledger WHERE tenant_id = $1 AND caller_id = $2 AND id = $3", tenant_id, caller_id, entry_id
    )
    if row is None:
        raise NotFound(f"no ledger entry {entry_id}")
    return Entry.from_row(row)
