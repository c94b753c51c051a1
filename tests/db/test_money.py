"""The money picture: the caller's money and every talking call in one snapshot, one joint deadline."""

from __future__ import annotations

import asyncpg
import pytest

from daemon.repositories import callers, ledger, money
from daemon.rules.billing.charges import MICROS, Tariff
from daemon.rules.billing.deadline import TalkingCall
from tests.factories import prepaid_caller, shop, talking

T0 = 1_795_582_441_000_000


async def test_deadline_of_the_talking_calls_and_a_hypothetical_one(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=1000)
    assert await money.joint_deadline_of(pool, caller) is None  # nothing talking
    call = await talking(pool, s.tenant_id, caller, 100, T0)
    picture = await money.money_picture(pool, caller)
    assert set(picture.talking) == {call} and picture.caller.balance_yen == 1000
    assert picture.deadline() == T0 + 600 * MICROS
    assert picture.deadline(TalkingCall(T0, Tariff(100))) == T0 + 300 * MICROS
    await ledger.post(pool, s.tenant_id, caller, "deposit", 1000)
    assert await money.joint_deadline_of(pool, caller) == T0 + 1200 * MICROS


async def test_unlimited_postpaid_has_no_deadline(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await callers.create(
        pool, s.tenant_id, name="card", billing="postpaid", payment_method="card", numbers=["09012121212"]
    )
    await talking(pool, s.tenant_id, caller, 300, T0)
    assert await money.joint_deadline_of(pool, caller, TalkingCall(T0, Tariff(300))) is None


async def test_a_deleted_caller_is_not_found(pool: asyncpg.Pool) -> None:
    with pytest.raises(ledger.CallerNotFound):
        await money.money_picture(pool, 424242)
