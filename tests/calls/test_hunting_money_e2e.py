"""Hunting that knows the caller's money, end to end: emulated FreeSWITCH, real daemon, real PostgreSQL.

A prepaid caller is offered only to the members whose own rate their balance
covers for the group's minimum talk; the minutes announcement is made for the
member about to ring; with nobody affordable the caller is told so before
anything rings.  The caller hears ringback while a counsellor's phone rings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import asyncpg
import pytest

from daemon.app import Daemon
from daemon.calls.bridge import RINGBACK
from daemon.repositories import groups, money
from emulator import CallerScript, CallResult, FakeFreeSwitch, FarEnd
from tests.calls.test_admission_e2e import emulator_for, played
from tests.calls.test_coaching_e2e import TARO, answers, fast
from tests.conftest import DaemonFactory
from tests.factories import counsellor, prepaid_caller, shop

DEAR = "08011110001"  # 3,000 yen a minute (their own rate)
USUAL = "08011110002"  # the group's 600 yen a minute


@dataclass
class Shop:
    pool: asyncpg.Pool
    daemon: Daemon
    fs: FakeFreeSwitch
    number: str
    tenant_id: int
    ids: dict[str, int]


async def tarot(
    start_daemon: DaemonFactory,
    pool: asyncpg.Pool,
    *,
    yen: int,
    minimum_talk_seconds: int = 60,
    members: tuple[str, ...] = (DEAR, USUAL),
) -> Shop:
    """Group 12 at 600 yen/min: DEAR (own rate 3,000) first in order, then USUAL; TARO prepaid with ``yen``."""
    s = await shop(pool)
    await prepaid_caller(pool, s.tenant_id, yen=yen, number=TARO)
    ids = {
        DEAR: await counsellor(pool, s.tenant_id, DEAR, rate_yen_per_min=3000),
        USUAL: await counsellor(pool, s.tenant_id, USUAL),
    }
    await groups.create(
        pool,
        s.tenant_id,
        code="12",
        name="tarot",
        rate_yen_per_min=600,
        members=[ids[m] for m in members],
        strategy="sequential",
        ring_timeout_s=2,
        minimum_talk_seconds=minimum_talk_seconds,
    )
    daemon = await start_daemon()
    return Shop(pool, daemon, emulator_for(daemon), s.number, s.tenant_id, ids)


def rung(result: CallResult) -> list[str]:
    """The counsellors' phones that rang, in order."""
    return [user for attempt in result.bridged_to for user in (DEAR, USUAL) if user in attempt.dial_string]


def before_ringing(result: CallResult) -> list[str]:
    """The prompts heard before the first bridge (all of them when nothing rang)."""
    bridge = next((i for i, (app, _) in enumerate(result.apps) if app == "bridge"), len(result.apps))
    return played(CallResult(result.call_uuid, result.start_time, apps=result.apps[:bridge]))


async def test_only_members_the_balance_covers_are_rung(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    """1,000 yen: DEAR (3,000/min) would last 20 s, under the minute; USUAL (600/min) 100 s."""
    s = await tarot(start_daemon, pool, yen=1000)
    result = await s.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=s.number,
            digits=[fast("12#")],
            far_ends={DEAR: answers(0.1, hangup_after=0.3), USUAL: answers(0.1, hangup_after=0.3)},
        )
    )
    assert result.errors == []
    assert rung(result) == [USUAL]  # DEAR is first in order, answers at once, and is never rung
    assert "minutes_1" in before_ringing(result)  # 1,000 yen at 600/min: 1 min 40 s
    rec = await pool.fetchrow("SELECT * FROM call_records WHERE call_uuid = $1::uuid", result.call_uuid)
    assert rec is not None and rec["counsellor_id"] == s.ids[USUAL] and rec["rate_yen_per_min"] == 600


async def test_minutes_are_announced_for_the_member_rung(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    """6,000 yen: 2 minutes with DEAR, who is busy; then 10 minutes with USUAL, who answers."""
    s = await tarot(start_daemon, pool, yen=6000)
    result = await s.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=s.number,
            digits=[fast("12#")],
            far_ends={DEAR: FarEnd("busy"), USUAL: answers(0.1, hangup_after=0.3)},
        )
    )
    assert result.errors == []
    assert rung(result) == [DEAR, USUAL]
    heard = played(result)
    assert heard[heard.index("choose_group") + 1 :][:2] == ["minutes_2", "minutes_10"]
    order = [app for app, arg in result.apps if app == "bridge" or (app == "playback" and "minutes_" in arg)]
    assert order == ["playback", "bridge", "playback", "bridge"]  # each announcement before its ring


async def test_same_minutes_are_not_announced_twice(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    """The next member at the same rate gives the same announcement: said once."""
    s = await tarot(start_daemon, pool, yen=6000)
    await pool.execute("UPDATE counsellors SET rate_yen_per_min = NULL WHERE id = $1", s.ids[DEAR])
    result = await s.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=s.number,
            digits=[fast("12#")],
            far_ends={DEAR: FarEnd("busy"), USUAL: answers(0.1, hangup_after=0.3)},
        )
    )
    assert rung(result) == [DEAR, USUAL]
    assert [p for p in played(result) if p.startswith("minutes_")] == ["minutes_10"]


async def test_nobody_affordable_names_the_group_that_is(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    """Group 12 only has DEAR on duty; group 34 has USUAL: the caller hears 34 before anything rings, and keys it."""
    s = await tarot(start_daemon, pool, yen=1000, members=(DEAR,))
    await groups.create(pool, s.tenant_id, code="34", name="usual", rate_yen_per_min=600, members=[s.ids[USUAL]])
    result = await s.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=s.number,
            digits=[fast("12#"), fast("34#")],
            far_ends={DEAR: answers(0.1, hangup_after=0.3), USUAL: answers(0.1, hangup_after=0.3)},
        )
    )
    assert result.errors == []
    heard = played(result)
    offer = ["affordable_groups", "num_30", "num_4", "ban_desu", "choose_group"]
    assert heard[heard.index("choose_group") + 1 :][: len(offer)] == offer
    assert rung(result) == [USUAL]  # DEAR never rang


@pytest.mark.parametrize(("minimum_talk_seconds", "connected"), [(60, False), (10, True)])
async def test_no_affordable_member_anywhere_hears_the_balance_guidance(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, minimum_talk_seconds: int, connected: bool
) -> None:
    """100 yen: 10 s with USUAL, 2 s with DEAR.  A minute's minimum: nobody; ten seconds: USUAL."""
    s = await tarot(start_daemon, pool, yen=100, minimum_talk_seconds=minimum_talk_seconds)
    result = await s.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=s.number,
            digits=[fast("12#")],
            far_ends={DEAR: answers(0.1, hangup_after=0.3), USUAL: answers(0.1, hangup_after=0.3)},
        )
    )
    assert result.errors == []
    if connected:
        assert rung(result) == [USUAL]
        return
    assert played(result)[-1] == "insufficient_balance"
    assert rung(result) == [] and not [h for h in result.heard if h.what.startswith("ringback")]
    assert await pool.fetchval("SELECT count(*) FROM call_records") == 0


async def test_caller_hears_ringback_while_the_counsellor_phone_rings(
    start_daemon: DaemonFactory, pool: asyncpg.Pool
) -> None:
    s = await tarot(start_daemon, pool, yen=10_000)
    result = await s.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=s.number,
            digits=[fast("12#")],
            far_ends={DEAR: answers(0.6, hangup_after=0.3)},
        )
    )
    assert result.errors == []
    ringback = [h for h in result.heard if h.what.startswith("ringback")]
    assert [h.what for h in ringback] == [f"ringback {RINGBACK}"]
    assert ringback[0].end - ringback[0].start >= 0.5  # from the originate to the answer
    assert ("set", f"transfer_ringback={RINGBACK}") in result.apps  # what an answered caller's originate plays


async def test_the_set_up_reads_the_money_once_before_the_minutes_announcement(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within reach?  Whom to ring?  How many minutes?  One read answers them; the backstop armed after
    the announcement may read again.  (The set-up read the money four times before.)"""
    s = await tarot(start_daemon, pool, yen=1000)
    reads: list[float] = []
    real = money.money_picture

    async def counted(pool: asyncpg.Pool, caller_id: int) -> money.MoneyPicture:
        reads.append(time.time())
        return await real(pool, caller_id)

    monkeypatch.setattr(money, "money_picture", counted)
    result = await s.fs.place_call(
        CallerScript(
            caller=TARO, destination=s.number, digits=[fast("12#")], far_ends={USUAL: answers(0.1, hangup_after=0.3)}
        )
    )
    assert result.errors == [] and rung(result) == [USUAL]
    before_ringing = [t for t in reads if t < result.bridged_to[0].at]
    assert 1 <= len(before_ringing) <= 2
    assert "minutes_1" in played(result)  # the money checks themselves are unchanged
