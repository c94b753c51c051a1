"""The ledger: every balance change is a row; deposits are exactly-once; rows are immutable."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from daemon.repositories import callers, ledger
from tests.factories import prepaid_caller, shop


async def balance(pool: asyncpg.Pool, caller_id: int) -> tuple[int, int]:
    row = await pool.fetchrow(
        "SELECT c.balance_yen, COALESCE((SELECT sum(amount_yen) FROM ledger l WHERE l.caller_id = c.id), 0) AS s"
        " FROM callers c WHERE c.id = $1",
        caller_id,
    )
    assert row is not None
    return row["balance_yen"], row["s"]


async def test_deposit_replay_books_once(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=0)
    first = await ledger.post(pool, s.tenant_id, caller, "deposit", 3000, memo="bank 11/25", idempotency_key="dep-1")
    again = await ledger.post(pool, s.tenant_id, caller, "deposit", 3000, memo="bank 11/25", idempotency_key="dep-1")
    assert not first.replayed and again.replayed
    assert again.id == first.id
    assert await balance(pool, caller) == (3000, 3000)


async def test_concurrent_replays_book_once(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=0)
    results = await asyncio.gather(
        *(ledger.post(pool, s.tenant_id, caller, "deposit", 500, idempotency_key="same") for _ in range(5))
    )
    assert sum(not r.replayed for r in results) == 1
    assert await balance(pool, caller) == (500, 500)


async def test_same_key_for_another_amount_is_a_conflict(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=0)
    await ledger.post(pool, s.tenant_id, caller, "deposit", 1000, idempotency_key="k")
    with pytest.raises(ledger.IdempotencyConflict):
        await ledger.post(pool, s.tenant_id, caller, "deposit", 2000, idempotency_key="k")
    assert await balance(pool, caller) == (1000, 1000)


async def test_prepaid_balance_never_below_zero(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=100)
    with pytest.raises(ledger.InsufficientFunds):
        await ledger.post(pool, s.tenant_id, caller, "adjustment", -101)
    assert await balance(pool, caller) == (100, 100)


async def test_ledger_rows_cannot_change(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=100)
    with pytest.raises(asyncpg.RaiseError, match="never changed"):
        await pool.execute("UPDATE ledger SET amount_yen = 1000000 WHERE caller_id = $1", caller)
    with pytest.raises(asyncpg.RaiseError, match="never changed"):
        await pool.execute("DELETE FROM ledger WHERE caller_id = $1", caller)


async def test_deposit_must_be_positive_and_caller_of_the_tenant(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    other = await shop(pool, number="0312340000")
    caller = await prepaid_caller(pool, s.tenant_id, yen=0)
    for amount in (0, -100):
        with pytest.raises(ValueError, match=r"out of range|wrong sign"):
            await ledger.post(pool, s.tenant_id, caller, "deposit", amount)
    with pytest.raises(ledger.CallerNotFound):
        await ledger.post(pool, other.tenant_id, caller, "deposit", 100)
    assert await balance(pool, caller) == (0, 0)


async def test_card_payers_are_postpaid(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    with pytest.raises(ValueError, match="card payers are postpaid"):
        await callers.create(
            pool, s.tenant_id, name="x", billing="prepaid", payment_method="card", numbers=["09011112222"]
        )
