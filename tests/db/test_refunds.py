"""Refunds as an operator means them: a payout out of the balance, or a refund of one charge.

Both edges of both kinds: exactly the balance / exactly the charge is booked,
one yen more is refused and writes nothing.  The database refuses the same
rows on its own (CHECK constraints and triggers), whoever writes them.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import pytest

from daemon.repositories import call_records, callers, ledger
from daemon.rules.billing.charges import Tariff
from tests.factories import prepaid_caller, shop


async def state(pool: asyncpg.Pool, caller_id: int) -> tuple[int, int, int]:
    """(cached balance, ledger sum, ledger rows) of a caller."""
    row = await pool.fetchrow(
        "SELECT c.balance_yen, COALESCE(sum(l.amount_yen), 0) AS total, count(l.id) AS rows"
        " FROM callers c LEFT JOIN ledger l ON l.caller_id = c.id WHERE c.id = $1 GROUP BY c.id",
        caller_id,
    )
    assert row is not None
    return row["balance_yen"], row["total"], row["rows"]


async def postpaid_caller(pool: asyncpg.Pool, tenant_id: int, *, limit: int | None, number: str) -> int:
    return await callers.create(
        pool,
        tenant_id,
        name=f"postpaid {number}",
        billing="postpaid",
        payment_method="card",
        numbers=[number],
        credit_limit_yen=limit,
    )


async def charge(pool: asyncpg.Pool, tenant_id: int, caller_id: int, yen: int) -> tuple[uuid.UUID, int]:
    """Book a call's charge as finishing a call does; (call uuid, ledger id)."""
    call = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        charged = await ledger.charge_call(conn, tenant_id, caller_id, yen, call_uuid=call, memo="test call")
    assert charged == yen
    charge_id = await pool.fetchval("SELECT id FROM ledger WHERE call_uuid = $1 AND kind = 'charge'", call)
    return call, charge_id


async def test_payout_up_to_exactly_the_balance(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=6000)
    with pytest.raises(ledger.InsufficientFunds, match="6,000 yen cannot pay out 6,001 yen"):
        await ledger.post(pool, s.tenant_id, caller, "payout", -6001)
    assert await state(pool, caller) == (6000, 6000, 1)
    entry = await ledger.post(pool, s.tenant_id, caller, "payout", -6000, memo="returned by bank transfer")
    assert (entry.kind, entry.amount_yen, entry.balance_after) == ("payout", -6000, 0)
    with pytest.raises(ledger.InsufficientFunds):
        await ledger.post(pool, s.tenant_id, caller, "payout", -1)
    assert await state(pool, caller) == (0, 0, 2)


async def test_postpaid_payout_only_from_a_positive_balance(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await postpaid_caller(pool, s.tenant_id, limit=5000, number="09011110000")
    with pytest.raises(ledger.InsufficientFunds):  # the credit limit is not money to pay out
        await ledger.post(pool, s.tenant_id, caller, "payout", -1)
    await ledger.post(pool, s.tenant_id, caller, "deposit", 700)
    await ledger.post(pool, s.tenant_id, caller, "payout", -700)
    await charge(pool, s.tenant_id, caller, 300)  # now owes 300
    with pytest.raises(ledger.InsufficientFunds):
        await ledger.post(pool, s.tenant_id, caller, "payout", -1)
    assert await state(pool, caller) == (-300, -300, 3)


async def test_refund_of_a_charge_up_to_exactly_the_charge_once(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=6000)
    call, charge_id = await charge(pool, s.tenant_id, caller, 500)
    by_call = ledger.ChargeRef(call_uuid=call)
    by_id = ledger.ChargeRef(charge_id=charge_id)
    with pytest.raises(ledger.RefundExceedsCharge, match="at most 500 yen"):
        await ledger.post(pool, s.tenant_id, caller, "refund", 501, charge=by_call)
    first = await ledger.post(pool, s.tenant_id, caller, "refund", 300, charge=by_call)
    assert (first.refund_of, first.call_uuid, first.balance_after) == (charge_id, call, 5800)
    with pytest.raises(ledger.RefundExceedsCharge, match="300 yen of it is refunded already: at most 200 yen"):
        await ledger.post(pool, s.tenant_id, caller, "refund", 201, charge=by_id)
    await ledger.post(pool, s.tenant_id, caller, "refund", 200, charge=by_id)
    with pytest.raises(ledger.RefundExceedsCharge, match="at most 0 yen"):
        await ledger.post(pool, s.tenant_id, caller, "refund", 1, charge=by_call)
    assert await state(pool, caller) == (6000, 6000, 4)


async def test_concurrent_refunds_never_exceed_the_charge(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=1000)
    call, _ = await charge(pool, s.tenant_id, caller, 500)
    results = await asyncio.gather(
        *(ledger.post(pool, s.tenant_id, caller, "refund", 200, charge=ledger.ChargeRef(call)) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, ledger.Entry) for r in results) == 2
    assert all(isinstance(r, ledger.Entry | ledger.RefundExceedsCharge) for r in results)
    assert (await state(pool, caller))[:2] == (900, 900)


async def test_refund_names_a_charge_of_this_caller(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=1000)
    other = await prepaid_caller(pool, s.tenant_id, yen=1000, number="09099990000")
    call, charge_id = await charge(pool, s.tenant_id, other, 500)
    deposit_id = await pool.fetchval("SELECT id FROM ledger WHERE caller_id = $1 AND kind = 'deposit'", caller)
    for ref in (ledger.ChargeRef(call), ledger.ChargeRef(charge_id=charge_id), ledger.ChargeRef(uuid.uuid4())):
        with pytest.raises(ledger.ChargeNotFound):
            await ledger.post(pool, s.tenant_id, caller, "refund", 1, charge=ref)
    with pytest.raises(ledger.ChargeNotFound):  # a deposit is not a charge
        await ledger.post(pool, s.tenant_id, caller, "refund", 1, charge=ledger.ChargeRef(charge_id=deposit_id))
    with pytest.raises(ValueError, match="only a refund"):
        await ledger.post(pool, s.tenant_id, caller, "refund", 1)
    assert await state(pool, caller) == (1000, 1000, 1)


async def test_refund_replay_and_key_reuse(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=1000)
    call, charge_id = await charge(pool, s.tenant_id, caller, 500)
    other_call, _ = await charge(pool, s.tenant_id, caller, 100)
    first = await ledger.post(
        pool, s.tenant_id, caller, "refund", 500, charge=ledger.ChargeRef(call), idempotency_key="r1"
    )
    again = await ledger.post(
        pool, s.tenant_id, caller, "refund", 500, charge=ledger.ChargeRef(call), idempotency_key="r1"
    )
    assert again.replayed and again.id == first.id  # a replay of a fully refunded charge is not refused
    with pytest.raises(ledger.IdempotencyConflict):
        await ledger.post(
            pool, s.tenant_id, caller, "refund", 500, charge=ledger.ChargeRef(other_call), idempotency_key="r1"
        )
    with pytest.raises(ledger.IdempotencyConflict):
        await ledger.post(pool, s.tenant_id, caller, "payout", -500, idempotency_key="r1")
    assert (await state(pool, caller))[:2] == (900, 900)
    assert charge_id == first.refund_of


async def test_adjustments_bounded_by_the_credit_limit(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await postpaid_caller(pool, s.tenant_id, limit=5000, number="09011112222")
    with pytest.raises(ledger.InsufficientFunds, match="credit limit of 5,000 yen"):
        await ledger.post(pool, s.tenant_id, caller, "adjustment", -5001)
    await ledger.post(pool, s.tenant_id, caller, "adjustment", -5000)
    with pytest.raises(ledger.InsufficientFunds):
        await ledger.post(pool, s.tenant_id, caller, "adjustment", -1)
    assert await state(pool, caller) == (-5000, -5000, 1)
    # a charge is capped the same way: nothing left to charge
    async with pool.acquire() as conn, conn.transaction():
        assert await ledger.charge_call(conn, s.tenant_id, caller, 100, call_uuid=uuid.uuid4(), memo="") == 0


async def test_balance_ceiling_and_unlimited_debt_floor(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    rich = await prepaid_caller(pool, s.tenant_id, yen=0)
    for _ in range(10):
        await ledger.post(pool, s.tenant_id, rich, "deposit", 100_000_000)
    with pytest.raises(ledger.BalanceTooLarge, match="at most 1,000,000,000 yen"):
        await ledger.post(pool, s.tenant_id, rich, "deposit", 1)
    with pytest.raises(ValueError, match="out of range"):
        await ledger.post(pool, s.tenant_id, rich, "payout", -100_000_001)
    owes = await postpaid_caller(pool, s.tenant_id, limit=None, number="09033334444")
    for _ in range(9):
        await ledger.post(pool, s.tenant_id, owes, "adjustment", -100_000_000)
    await ledger.post(pool, s.tenant_id, owes, "adjustment", -99_999_999)
    with pytest.raises(ledger.InsufficientFunds, match="may owe at most"):
        await ledger.post(pool, s.tenant_id, owes, "adjustment", -2)
    async with pool.acquire() as conn, conn.transaction():  # the call's charge is capped at the most one may owe
        assert await ledger.charge_call(conn, s.tenant_id, owes, 5, call_uuid=uuid.uuid4(), memo="") == 1
    assert await state(pool, owes) == (-1_000_000_000, -1_000_000_000, 11)


async def test_the_database_refuses_what_the_rules_refuse(pool: asyncpg.Pool) -> None:
    """Rows written around daemon.repositories.ledger meet the same rules (CHECK constraints, triggers)."""
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=1000)
    call, charge_id = await charge(pool, s.tenant_id, caller, 500)
    insert = (
        "INSERT INTO ledger (tenant_id, caller_id, kind, amount_yen, balance_after, refund_of)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
    )
    bad = [
        ("refund", 501, 1001, charge_id),  # more than the charge
        ("refund", 10, 510, None),  # names no charge
        ("payout", -600, -100, None),  # below zero
        ("payout", 600, 1100, None),  # a payout adds nothing
        ("deposit", 100_000_001, 100_000_501, None),  # one entry too large
        ("adjustment", 1, 1_000_000_001, None),  # balance out of range
    ]
    for kind, amount, after, refund_of in bad:
        with pytest.raises((asyncpg.CheckViolationError, asyncpg.RaiseError)):
            await pool.execute(insert, s.tenant_id, caller, kind, amount, after, refund_of)
    postpaid = await postpaid_caller(pool, s.tenant_id, limit=5000, number="09055556666")
    with pytest.raises(asyncpg.CheckViolationError, match="credit limit"):
        await pool.execute("UPDATE callers SET balance_yen = -5001 WHERE id = $1", postpaid)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("UPDATE callers SET credit_limit_yen = 1000000001 WHERE id = $1", postpaid)
    # lowering a limit below what is owed is allowed (the caller just cannot talk)
    await pool.execute("UPDATE callers SET balance_yen = -4000 WHERE id = $1", postpaid)
    await pool.execute("UPDATE callers SET credit_limit_yen = 1000 WHERE id = $1", postpaid)
    assert await state(pool, caller) == (500, 500, 2)
    assert call is not None


async def test_money_owed_for_calls_in_progress_stays(pool: asyncpg.Pool) -> None:
    """A payout or a negative adjustment leaves what the caller's talking calls already cost."""
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=1000)
    who = await callers.caller(pool, caller)
    assert who is not None
    call = uuid.uuid4()
    answered = time.time_ns() // 1000 - 180_500_000  # 180.5 s ago: 181 started seconds at 100 yen/min = 302 yen
    await call_records.open_record(
        pool,
        call,
        tenant_id=s.tenant_id,
        node_id="other-node",
        caller=who,
        caller_number="",
        group_id=None,
        tariff=Tariff(100),
        created_us=answered,
    )
    await call_records.mark_talking(
        pool,
        call,
        counsellor_id=None,
        counsellor_leg=uuid.uuid4(),
        answer_us=answered,
        rate_yen_per_min=100,
        caller_id=caller,
    )
    with pytest.raises(ledger.InsufficientFunds, match="302 yen of it owed for calls in progress"):
        await ledger.post(pool, s.tenant_id, caller, "payout", -699)
    with pytest.raises(ledger.InsufficientFunds, match="calls in progress"):
        await ledger.post(pool, s.tenant_id, caller, "adjustment", -699)
    await ledger.post(pool, s.tenant_id, caller, "payout", -600)
    assert await state(pool, caller) == (400, 400, 2)
    done = await call_records.finish(
        pool, call, end_us=answered + 181_000_000, hangup_cause="NORMAL_CLEARING", ended_by="caller"
    )
    assert done.charge_yen == 302 and done.uncollected_yen == 0
