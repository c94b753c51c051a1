"""Property test: no sequence of money operations leaves the bounds or overflows.

For a prepaid caller, a postpaid caller with a credit limit and one without,
hypothesis draws deposits, adjustments, payouts, refunds of earlier charges and
call charges, with amounts up to twice the per-entry maximum.  Each operation
is either booked or refused with one of our own errors (never a database
error: the database constraints are the second line, not the first).  After
every step:

* the cached balance equals the ledger's sum;
* the balance lies between the caller's floor (0, minus the credit limit, or
  minus ``MAX_BALANCE_YEN``) and ``MAX_BALANCE_YEN``, both JavaScript-safe;
* every row moves at most ``MAX_ENTRY_YEN``;
* no charge is refunded more than it charged.
"""

from __future__ import annotations

import contextlib
import uuid

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.repositories import callers, ledger
from daemon.rules.billing.limits import MAX_BALANCE_YEN, MAX_ENTRY_YEN
from tests.factories import shop

JS_SAFE = 2**53 - 1
amount = st.one_of(
    st.integers(1, 3000),
    st.integers(1, 2 * MAX_ENTRY_YEN),
    st.sampled_from([MAX_ENTRY_YEN, MAX_ENTRY_YEN + 1, MAX_BALANCE_YEN]),
)
step = st.one_of(
    st.tuples(st.just("deposit"), amount),
    st.tuples(st.just("adjustment"), amount.map(lambda a: -a)),
    st.tuples(st.just("adjustment"), amount),
    st.tuples(st.just("payout"), amount),
    st.tuples(st.just("charge"), amount),
    st.tuples(st.just("refund"), amount),
)
payers = st.sampled_from([("prepaid", None), ("postpaid", 5000), ("postpaid", MAX_BALANCE_YEN), ("postpaid", None)])


async def book(pool: asyncpg.Pool, tenant_id: int, caller_id: int, kind: str, yen: int, pick: int) -> None:
    if kind == "charge":
        async with pool.acquire() as conn, conn.transaction():
            await ledger.charge_call(conn, tenant_id, caller_id, yen, call_uuid=uuid.uuid4(), memo="")
        return
    if kind == "refund":
        charges = await pool.fetch("SELECT call_uuid FROM ledger WHERE caller_id = $1 AND kind = 'charge'", caller_id)
        if not charges:
            return
        ref = ledger.ChargeRef(charges[pick % len(charges)]["call_uuid"])
        await ledger.post(pool, tenant_id, caller_id, "refund", yen, charge=ref)
        return
    await ledger.post(pool, tenant_id, caller_id, kind, -yen if kind == "payout" else yen)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payers, st.lists(st.tuples(step, st.integers(0, 10)), min_size=1, max_size=30))
async def test_money_stays_in_bounds(
    pool: asyncpg.Pool, payer: tuple[str, int | None], steps: list[tuple[tuple[str, int], int]]
) -> None:
    billing, limit = payer
    s = await shop(pool, number=f"03{uuid.uuid4().int % 10**8:08d}")
    caller_id = await callers.create(
        pool,
        s.tenant_id,
        name=f"c-{uuid.uuid4().hex[:6]}",
        billing=billing,
        payment_method="bank_transfer",
        numbers=[f"090{uuid.uuid4().int % 10**8:08d}"],
        credit_limit_yen=limit,
    )
    floor = 0 if billing == "prepaid" else -(limit if limit is not None else MAX_BALANCE_YEN)
    for (kind, yen), pick in steps:
        # refused with a reason is fine; an asyncpg error is not caught: it fails the test
        with contextlib.suppress(ledger.MoneyRefused, ValueError):
            await book(pool, s.tenant_id, caller_id, kind, yen, pick)
        row = await pool.fetchrow(
            "SELECT c.balance_yen, COALESCE(sum(l.amount_yen), 0) AS total,"
            " COALESCE(max(abs(l.amount_yen)), 0) AS largest"
            " FROM callers c LEFT JOIN ledger l ON l.caller_id = c.id WHERE c.id = $1 GROUP BY c.id",
            caller_id,
        )
        assert row is not None
        assert row["balance_yen"] == row["total"]
        assert floor <= row["balance_yen"] <= MAX_BALANCE_YEN < JS_SAFE
        assert row["largest"] <= MAX_ENTRY_YEN
        over = await pool.fetchval(
            "SELECT count(*) FROM ledger c WHERE c.caller_id = $1 AND c.kind = 'charge'"
            " AND (SELECT COALESCE(sum(r.amount_yen), 0) FROM ledger r WHERE r.refund_of = c.id) > -c.amount_yen",
            caller_id,
        )
        assert over == 0
