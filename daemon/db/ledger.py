"""The ledger: every change of a caller's balance is one row here.

``callers.balance_yen`` is a cache of the ledger's sum, updated in the same
transaction as the row it follows (``balance_after`` records it), with the
caller's row locked, so the two never disagree.  Any change of a balance
NOTIFYs ``calld_balance`` so every node re-arms that caller's cutoffs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.db.directory import Caller
from daemon.db.types import Conn

BALANCE_CHANNEL = "calld_balance"


class CallerNotFound(LookupError):
    pass


class IdempotencyConflict(ValueError):
    """The idempotency key was used before for a different request."""


class InsufficientFunds(ValueError):
    """The change would take a prepaid balance below zero."""


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
            replayed,
        )


async def lock_caller(conn: Conn, tenant_id: int, caller_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT id, billing, balance_yen, credit_limit_yen FROM callers WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
        caller_id,
        tenant_id,
    )
    if row is None:
        raise CallerNotFound(f"no caller {caller_id} in tenant {tenant_id}")
    return row


async def book(
    conn: Conn,
    tenant_id: int,
    caller_id: int,
    kind: str,
    amount_yen: int,
    *,
    memo: str = "",
    call_uuid: uuid.UUID | None = None,
    idempotency_key: str | None = None,
) -> Entry:
    """Append one row and move the cached balance with it, the caller row locked (inside a transaction)."""
    caller = await lock_caller(conn, tenant_id, caller_id)
    return await _append(conn, caller, tenant_id, kind, amount_yen, memo, call_uuid, idempotency_key)


async def charge_call(
    conn: Conn, tenant_id: int, caller_id: int, cost_yen: int, *, call_uuid: uuid.UUID, memo: str
) -> int:
    """Book a call's charge, never more than the caller's money allows; return the yen charged.

    Prepaid: at most the balance.  Postpaid with a credit limit: at most the
    credit left.  Postpaid without a limit: the whole cost (it is owed).
    """
    row = await lock_caller(conn, tenant_id, caller_id)
    payer = Caller(row["id"], "", row["billing"], row["balance_yen"], row["credit_limit_yen"])
    charged = min(cost_yen, max(payer.available_yen, 0)) if payer.limited else cost_yen
    if charged > 0:
        await _append(conn, row, tenant_id, "charge", -charged, memo, call_uuid, None)
    return charged


async def _append(
    conn: Conn,
    caller: asyncpg.Record,
    tenant_id: int,
    kind: str,
    amount_yen: int,
    memo: str,
    call_uuid: uuid.UUID | None,
    idempotency_key: str | None,
) -> Entry:
    caller_id = caller["id"]
    balance = caller["balance_yen"] + amount_yen
    if caller["billing"] == "prepaid" and balance < 0:
        raise InsufficientFunds(f"balance {caller['balance_yen']} yen cannot cover {-amount_yen} yen")
    row = await conn.fetchrow(
        "INSERT INTO ledger (tenant_id, caller_id, kind, amount_yen, balance_after, call_uuid, idempotency_key, memo)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        tenant_id,
        caller_id,
        kind,
        amount_yen,
        balance,
        call_uuid,
        idempotency_key,
        memo,
    )
    await conn.execute("UPDATE callers SET balance_yen = $2 WHERE id = $1", caller_id, balance)
    await conn.execute("SELECT pg_notify($1, $2)", BALANCE_CHANNEL, str(caller_id))
    assert row is not None
    return Entry.from_row(row)


async def post(
    pool: asyncpg.Pool,
    tenant_id: int,
    caller_id: int,
    kind: str,
    amount_yen: int,
    *,
    memo: str = "",
    idempotency_key: str | None = None,
) -> Entry:
    """An operator's entry (deposit, refund, adjustment), exactly once per idempotency key.

    A replay with the same key and the same request returns the first entry
    (``replayed=True``) and books nothing; the same key for anything else is a
    conflict.
    """
    async with pool.acquire() as conn, conn.transaction():
        if idempotency_key is not None:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{tenant_id}:{idempotency_key}")
            first = await conn.fetchrow(
                "SELECT * FROM ledger WHERE tenant_id = $1 AND idempotency_key = $2",
                tenant_id,
                idempotency_key,
            )
            if first is not None:
                same = (first["caller_id"], first["kind"], first["amount_yen"], first["memo"]) == (
                    caller_id,
                    kind,
                    amount_yen,
                    memo,
                )
                if not same:
                    raise IdempotencyConflict(f"idempotency key {idempotency_key!r} was already used for another entry")
                return Entry.from_row(first, replayed=True)
        return await book(conn, tenant_id, caller_id, kind, amount_yen, memo=memo, idempotency_key=idempotency_key)


async def entries(pool: asyncpg.Pool, tenant_id: int, caller_id: int, limit: int = 1_000_000) -> list[Entry]:
    rows = await pool.fetch(
        "SELECT * FROM ledger WHERE tenant_id = $1 AND caller_id = $2 ORDER BY id LIMIT $3",
        tenant_id,
        caller_id,
        limit,
    )
    return [Entry.from_row(r) for r in rows]
