"""Property test: random calls, deposits and crashes never break the money rules.

For one prepaid caller, hypothesis draws a sequence of: deposits, calls that
start talking, calls that end (some "crash" and are finished twice, as a
restarted daemon reconciling would), and time passing.  After every step the
joint deadline is re-armed as the BalanceWatcher does.  Invariants:

* sum of the caller's ledger rows == cached balance;
* the prepaid balance is never negative;
* no call is charged more than its allowed seconds cost (talk clamped at the deadline);
* every call is charged at most once.
"""

from __future__ import annotations

import uuid

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.repositories import call_records, ledger, money
from daemon.rules.billing.charges import MICROS, Tariff, billed_seconds
from tests.factories import prepaid_caller, shop, talking

T0 = 1_795_582_441_000_000

step = st.one_of(
    st.tuples(st.just("deposit"), st.integers(1, 3000)),
    st.tuples(st.just("start"), st.sampled_from([60, 200, 600])),
    st.tuples(st.just("end"), st.integers(0, 5)),
    st.tuples(st.just("crash_end"), st.integers(0, 5)),
    st.tuples(st.just("wait"), st.integers(1, 400)),
)


async def rearm(pool: asyncpg.Pool, caller_id: int, live: dict[uuid.UUID, int]) -> int | None:
    deadline = await money.joint_deadline_of(pool, caller_id)
    for call in live:
        await call_records.set_deadline(pool, call, deadline)
    return deadline


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 5000), st.lists(step, min_size=1, max_size=25))
async def test_money_rules_hold(pool: asyncpg.Pool, opening: int, steps: list[tuple[str, int]]) -> None:
    s = await shop(pool, number=f"03{uuid.uuid4().int % 10**8:08d}")
    caller_id = await prepaid_caller(pool, s.tenant_id, yen=opening, number=f"090{uuid.uuid4().int % 10**8:08d}")
    now = T0
    live: dict[uuid.UUID, int] = {}  # call -> answer_us
    deadlines: dict[uuid.UUID, int | None] = {}
    finished: dict[uuid.UUID, int] = {}
    for kind, value in steps:
        if kind == "deposit":
            await ledger.post(pool, s.tenant_id, caller_id, "deposit", value)
        elif kind == "start":
            call = await talking(pool, s.tenant_id, caller_id, value, now, node_id="n")
            live[call] = now
        elif kind in ("end", "crash_end") and live:
            call = sorted(live)[value % len(live)]
            answer = live.pop(call)
            result = await call_records.finish(
                pool, call, end_us=now, hangup_cause="NORMAL_CLEARING", ended_by="caller"
            )
            if kind == "crash_end":
                again = await call_records.finish(pool, call, end_us=now + 5 * MICROS, hangup_cause="X", ended_by="x")
                assert again.already and again.charge_yen == result.charge_yen
            rate = await pool.fetchval("SELECT rate_yen_per_min FROM call_records WHERE call_uuid = $1", call)
            limit = deadlines.get(call)
            allowed_end = now if limit is None else min(now, limit)
            assert result.charge_yen <= Tariff(rate).charge(billed_seconds(allowed_end - answer))
            finished[call] = result.charge_yen
        elif kind == "wait":
            now += value * MICROS
        deadline = await rearm(pool, caller_id, live)
        for call in live:
            deadlines[call] = deadline
        row = await pool.fetchrow(
            "SELECT balance_yen, (SELECT COALESCE(sum(amount_yen), 0) FROM ledger WHERE caller_id = $1) AS total"
            " FROM callers WHERE id = $1",
            caller_id,
        )
        assert row is not None
        bal, total = row["balance_yen"], row["total"]
        assert bal == total
        assert bal >= 0
    charges = await pool.fetchval("SELECT count(*) FROM ledger WHERE caller_id = $1 AND kind = 'charge'", caller_id)
    assert charges == sum(1 for c in finished.values() if c > 0)
