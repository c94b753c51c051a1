"""The Wallet's one read of a caller's money: how long it answers, counted on the monotonic clock.

The age of a read is a duration inside this process, so it is measured with
``time.monotonic()``: a step of the wall clock (NTP, an operator's ``date``)
must neither keep a stale picture for ever (a step backwards) nor throw away
a fresh one (a step forwards).  The wall clock only serves the purse's "now",
which is compared with FreeSWITCH's epoch timestamps of the caller's other calls.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from daemon.calls import purse
from daemon.repositories import ledger
from tests.factories import prepaid_caller, shop


async def read_then_topped_up(pool: asyncpg.Pool) -> purse.Wallet:
    """A Wallet that read 1,000 yen, after which the caller deposited 500 more."""
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=1000)
    wallet = purse.Wallet(pool, caller)
    assert (await wallet.picture()).caller.balance_yen == 1000
    await ledger.post(pool, s.tenant_id, caller, "deposit", 500, memo="test")
    return wallet


async def test_one_read_answers_the_questions_asked_together_and_a_later_one_reads_again(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(purse, "FRESH_S", 0.3)
    wallet = await read_then_topped_up(pool)
    assert (await wallet.picture()).caller.balance_yen == 1000  # the same set-up step: one read
    await asyncio.sleep(0.4)
    assert (await wallet.picture()).caller.balance_yen == 1500  # older than FRESH_S: read again


async def test_a_step_of_the_wall_clock_does_not_age_a_read(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = await read_then_topped_up(pool)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600.0)  # the wall clock steps an hour forwards
    assert (await wallet.picture()).caller.balance_yen == 1000


async def test_a_step_back_of_the_wall_clock_does_not_keep_a_read_for_ever(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(purse, "FRESH_S", 0.3)
    wallet = await read_then_topped_up(pool)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3600.0)  # an hour backwards
    await asyncio.sleep(0.4)
    assert (await wallet.picture()).caller.balance_yen == 1500
