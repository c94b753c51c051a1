"""Coaching Dial end to end: emulated FreeSWITCH, real daemon, real PostgreSQL."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from daemon.app import Daemon
from daemon.repositories import groups, ledger
from daemon.rules.billing.charges import Tariff, billed_seconds
from emulator import CallerScript, CallResult, FakeFreeSwitch, FarEnd, Keys
from tests.calls.test_admission_e2e import emulator_for, played
from tests.conftest import DaemonFactory
from tests.factories import counsellor, prepaid_caller, shop
from tests.stand_in_prompts import write_prompts

TARO = "09012345678"


@dataclass
class World:
    pool: asyncpg.Pool
    daemon: Daemon
    fs: FakeFreeSwitch
    tenant_id: int
    number: str
    caller_id: int
    counsellors: dict[str, int]


async def world(
    start_daemon: DaemonFactory,
    pool: asyncpg.Pool,
    *,
    yen: int = 10_000,
    users: tuple[str, ...] = ("08011110001",),
    strategy: str = "longest_idle",
    rate: int = 600,
    warning_seconds: int = 1,
    ring_timeout_s: int = 2,
    prompts: Path | None = None,
    minimum_talk_seconds: int = 1,  # these tests talk for seconds of money (hunting by money: test_hunting_*)
    **group: Any,
) -> World:
    s = await shop(pool)
    caller_id = await prepaid_caller(pool, s.tenant_id, yen=yen, number=TARO)
    ids = {u: await counsellor(pool, s.tenant_id, u) for u in users}
    await groups.create(
        pool,
        s.tenant_id,
        code="12",
        name="tarot",
        rate_yen_per_min=rate,
        members=list(ids.values()),
        strategy=strategy,
        warning_seconds=warning_seconds,
        ring_timeout_s=ring_timeout_s,
        minimum_talk_seconds=minimum_talk_seconds,
        **group,
    )
    daemon = await (start_daemon(prompts_dir=prompts) if prompts is not None else start_daemon())
    return World(pool, daemon, emulator_for(daemon), s.tenant_id, s.number, caller_id, ids)


def fast(digits: str) -> Keys:
    """A caller who keys quickly: the tests measure the daemon, not a thumb."""
    return Keys(digits, delay=0.05, interval=0.05)


def answers(after: float = 0.1, hangup_after: float | None = None) -> FarEnd:
    return FarEnd("answer", answer_after=after, hangup_after=hangup_after)


async def balance(w: World) -> int:
    value: int = await w.pool.fetchval("SELECT balance_yen FROM callers WHERE id = $1", w.caller_id)
    return value


async def record(w: World, call_uuid: str) -> asyncpg.Record:
    row = await w.pool.fetchrow("SELECT * FROM call_records WHERE call_uuid = $1::uuid", call_uuid)
    assert row is not None
    return row


def charge_for(rate: int, talk_s: float) -> int:
    return Tariff(rate).charge(billed_seconds(int(talk_s * 1_000_000)))


async def test_happy_path_with_keypad_group_selection(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool)
    user = "08011110001"
    result = await w.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=w.number,
            digits=[fast("12#")],
            hangup_after=None,
            far_ends={user: answers(0.1, hangup_after=1.5)},
        )
    )
    assert result.errors == []
    assert played(result)[:2] == ["welcome", "choose_group"]
    assert "minutes_16" in played(result)  # 10,000 yen at 600 yen/min
    rec = await record(w, result.call_uuid)
    assert rec["state"] == "ended" and rec["ended_by"] == "counsellor"
    assert rec["counsellor_id"] == w.counsellors[user]
    talk = (rec["end_us"] - rec["answer_us"]) / 1e6
    assert 1.4 <= talk <= 1.7
    assert rec["charge_yen"] == charge_for(600, talk)
    assert await balance(w) == 10_000 - rec["charge_yen"]
    entries = await ledger.entries(pool, w.tenant_id, w.caller_id)
    assert [e.kind for e in entries] == ["deposit", "charge"]
    assert await pool.fetchval("SELECT current_call FROM counsellors WHERE id = $1", w.counsellors[user]) is None


async def test_invalid_code_retries_then_goodbye(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool)
    result = await w.fs.place_call(CallerScript(caller=TARO, destination=w.number, digits=[fast("99#"), fast("98#")]))
    assert played(result) == ["welcome", "choose_group", "invalid_code", "choose_group", "goodbye"]
    assert await pool.fetchval("SELECT count(*) FROM call_records") == 0


async def test_invalid_then_valid_code(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool)
    result = await w.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=w.number,
            digits=[fast("99#"), fast("12#")],
            far_ends={"08011110001": answers(0.1, hangup_after=0.3)},
        )
    )
    assert played(result)[1:3] == ["choose_group", "invalid_code"]
    assert result.bridged_to


async def test_insufficient_balance(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool, yen=5)  # 600 yen/min: the first second costs 10 yen
    result = await w.fs.place_call(CallerScript(caller=TARO, destination=w.number, digits=[fast("12#")]))
    assert played(result)[-1] == "insufficient_balance"
    assert not result.bridged_to


async def test_unregistered_caller_without_pin(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool)
    result = await w.fs.place_call(
        CallerScript(caller="09099999999", destination=w.number, digits=[fast("#"), fast("#")])
    )
    assert played(result) == ["welcome", "enter_pin", "invalid_pin", "enter_pin", "not_registered"]


async def test_withheld_number_identified_by_pin(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool)
    await pool.execute("UPDATE callers SET pin = '4321' WHERE id = $1", w.caller_id)
    result = await w.fs.place_call(
        CallerScript(
            caller="anonymous",
            destination=w.number,
            digits=[fast("4321#"), fast("12#")],
            far_ends={"08011110001": answers(0.1, hangup_after=0.2)},
        )
    )
    assert played(result)[1:3] == ["enter_pin", "choose_group"]
    assert result.bridged_to


async def test_no_answer_moves_to_the_next_member(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool, users=("08011110001", "08011110002"), strategy="sequential")
    result = await w.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=w.number,
            digits=[fast("12#")],
            far_ends={"08011110001": FarEnd("noanswer"), "08011110002": answers(0.1, hangup_after=0.3)},
        )
    )
    tried = [b[0] for b in result.bridged_to]
    assert len(tried) == 2 and "08011110001" in tried[0] and "08011110002" in tried[1]
    rec = await record(w, result.call_uuid)
    assert rec["counsellor_id"] == w.counsellors["08011110002"]
    missed = await pool.fetchval("SELECT missed_in_row FROM counsellors WHERE id = $1", w.counsellors["08011110001"])
    assert missed == 1


async def test_missed_calls_in_a_row_take_a_counsellor_off_duty(
    start_daemon: DaemonFactory, pool: asyncpg.Pool
) -> None:
    w = await world(start_daemon, pool, max_missed=2)
    for _ in range(2):
        result = await w.fs.place_call(
            CallerScript(
                caller=TARO, destination=w.number, digits=[fast("12#")], far_ends={"08011110001": FarEnd("busy")}
            )
        )
        assert played(result)[-1] == "all_counsellors_busy"
    assert not await pool.fetchval("SELECT on_duty FROM counsellors WHERE id = $1", w.counsellors["08011110001"])


@pytest.mark.parametrize("strategy", ["longest_idle", "round_robin", "sequential", "random", "ring_all"])
async def test_every_hunt_strategy_connects(start_daemon: DaemonFactory, pool: asyncpg.Pool, strategy: str) -> None:
    users = ("08011110001", "08011110002", "08011110003")
    w = await world(start_daemon, pool, users=users, strategy=strategy)
    await pool.execute(
        "UPDATE counsellors SET last_call_end = now() - interval '1 hour' WHERE id = $1", w.counsellors[users[2]]
    )
    await pool.execute("UPDATE counsellors SET last_call_end = now() WHERE id <> $1", w.counsellors[users[2]])
    chosen = []
    for _ in range(3):
        result = await w.fs.place_call(
            CallerScript(
                caller=TARO,
                destination=w.number,
                digits=[fast("12#")],
                far_ends={u: answers(0.05, hangup_after=0.1) for u in users},
            )
        )
        rec = await record(w, result.call_uuid)
        chosen.append(rec["counsellor_id"])
        if strategy == "ring_all":
            assert "," in result.bridged_to[0][0]  # all members rang at once
    if strategy == "longest_idle":
        assert chosen[0] == w.counsellors[users[2]]
    if strategy == "sequential":
        assert chosen == [w.counsellors[users[0]]] * 3
    if strategy == "round_robin":
        assert len(set(chosen)) == 3


async def test_all_counsellors_busy(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool)
    await pool.execute("UPDATE counsellors SET on_duty = false")
    result = await w.fs.place_call(CallerScript(caller=TARO, destination=w.number, digits=[fast("12#")]))
    assert played(result)[-1] == "all_counsellors_busy"
    assert not result.bridged_to


async def test_caller_hangs_up_first(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool)
    result = await w.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=w.number,
            digits=[fast("12#")],
            hangup_after=None,
            far_ends={"08011110001": answers(0.1)},
            hangup_after_bridge=1.0,
        )
    )
    rec = await record(w, result.call_uuid)
    assert rec["ended_by"] == "caller"
    talk = (rec["end_us"] - rec["answer_us"]) / 1e6
    assert 0.9 <= talk <= 1.2
    assert rec["charge_yen"] == charge_for(600, talk)


async def test_prepaid_cutoff_with_warning(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool, yen=30, warning_seconds=1)  # 600 yen/min: 3 s of talk
    result = await w.fs.place_call(
        CallerScript(caller=TARO, destination=w.number, digits=[fast("12#")], far_ends={"08011110001": answers(0.1)})
    )
    assert result.errors == []
    rec = await record(w, result.call_uuid)
    assert rec["ended_by"] == "cutoff"
    assert rec["billed_seconds"] == 3 and rec["charge_yen"] == 30
    assert await balance(w) == 0
    warnings = [b for b in result.broadcasts if "balance_warning" in b.path]
    assert len(warnings) == 1 and warnings[0].response == "FILE PLAYED"  # heard inside the bridge
    assert warnings[0].path.endswith("/balance_warning.wav")  # 1 s left: "soon", not "about a minute"
    assert rec["answer_us"] / 1e6 + 1.5 < warnings[0].requested_at < rec["deadline_us"] / 1e6 - 0.9
    assert played(result)[-1] == "balance_exhausted"
    lag = (rec["end_us"] - rec["deadline_us"]) / 1e6
    assert -0.001 <= lag < 0.1
    # the backstop stands at the first whole second >= deadline + 0.2 s: never before the daemon's cut
    armed = [c.split()[1] for c in result.api_commands if c.startswith("sched_hangup ")]
    assert armed and armed[-1].isdigit()
    assert int(armed[-1]) == math.ceil((rec["deadline_us"] + 200_000) / 1e6)
    assert result.hangup_by != "sched_hangup"


async def test_two_calls_of_one_caller_end_together(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool, yen=60, users=("08011110001", "08011110002"))  # 6 s alone, 3 s each
    script = CallerScript(
        caller=TARO,
        destination=w.number,
        digits=[fast("12#")],
        far_ends={u: answers(0.1) for u in ("08011110001", "08011110002")},
    )
    first, second = await asyncio.gather(w.fs.place_call(script), w.fs.place_call(script))
    recs = [await record(w, r.call_uuid) for r in (first, second)]
    assert all(r["ended_by"] == "cutoff" for r in recs)
    assert abs(recs[0]["end_us"] - recs[1]["end_us"]) < 1_100_000
    assert sum(r["charge_yen"] for r in recs) <= 60
    assert await balance(w) >= 0


async def test_deposit_mid_call_extends_the_call(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool, yen=30, warning_seconds=0)  # 3 s
    call = asyncio.create_task(
        w.fs.place_call(
            CallerScript(
                caller=TARO, destination=w.number, digits=[fast("12#")], far_ends={"08011110001": answers(0.1)}
            )
        )
    )
    for _ in range(200):
        if await pool.fetchval("SELECT count(*) FROM call_records WHERE state = 'talking'"):
            break
        await asyncio.sleep(0.02)
    await ledger.post(pool, w.tenant_id, w.caller_id, "deposit", 20, idempotency_key="mid-call")
    result = await call
    rec = await record(w, result.call_uuid)
    assert rec["ended_by"] == "cutoff"
    assert rec["billed_seconds"] == 5 and rec["charge_yen"] == 50
    assert await balance(w) == 0


async def test_postpaid_accumulates(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool, yen=0)
    await pool.execute("UPDATE callers SET billing = 'postpaid', payment_method = 'card' WHERE id = $1", w.caller_id)
    for _ in range(2):
        await w.fs.place_call(
            CallerScript(
                caller=TARO,
                destination=w.number,
                digits=[fast("12#")],
                far_ends={"08011110001": answers(0.05, hangup_after=1.2)},
            )
        )
    charges = await pool.fetch("SELECT amount_yen FROM ledger WHERE caller_id = $1 AND kind = 'charge'", w.caller_id)
    assert len(charges) == 2
    assert await balance(w) == sum(r["amount_yen"] for r in charges) < 0


async def test_counsellor_is_never_in_two_calls(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool)
    other = await start_daemon()
    fs2 = emulator_for(other)
    script = CallerScript(
        caller=TARO,
        destination=w.number,
        digits=[fast("12#")],
        far_ends={"08011110001": answers(0.05, hangup_after=1.0)},
    )
    results: list[CallResult] = await asyncio.gather(*(f.place_call(script) for f in (w.fs, fs2, w.fs, fs2)))
    talked = [r for r in results if r.bridged_to and r.answered and "all_counsellors_busy" not in played(r)]
    assert len(talked) == 1
    recs = await pool.fetch(
        "SELECT answer_us, end_us FROM call_records WHERE state = 'ended' AND answer_us IS NOT NULL"
    )
    assert len(recs) == 1


async def test_wrapup_keeps_a_counsellor_free_of_calls(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool, wrapup_seconds=30)
    script = CallerScript(
        caller=TARO,
        destination=w.number,
        digits=[fast("12#")],
        far_ends={"08011110001": answers(0.05, hangup_after=0.2)},
    )
    first = await w.fs.place_call(script)
    assert first.bridged_to
    second = await w.fs.place_call(script)
    assert played(second)[-1] == "all_counsellors_busy"
    assert not second.bridged_to
    await pool.execute("UPDATE counsellors SET wrapup_until = now()")
    third = await w.fs.place_call(script)
    assert third.bridged_to


async def test_group_code_typed_during_welcome(start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path) -> None:
    """A regular caller keys 12# while welcome (2 s) still plays: welcome stops, the group is chosen."""
    w = await world(start_daemon, pool, prompts=write_prompts(tmp_path, welcome=2.0, choose_group=1.0))
    result = await w.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=w.number,
            dtmf=[(0.3, "1"), (0.4, "2"), (0.5, "#")],
            far_ends={"08011110001": answers(0.1, hangup_after=0.3)},
        )
    )
    assert result.errors == []
    keypad = [arg for app, arg in result.apps if app == "play_and_get_digits"]
    assert len(keypad) == 1 and "welcome.wav!" in keypad[0]  # one question, welcome as its lead-in
    assert result.bridged_to and result.bridged_to[0].outcome == "SUCCESS"
    assert result.answer_time is not None
    assert result.bridged_to[0].at - result.answer_time < 1.5  # did not wait for welcome + choose_group
    rec = await record(w, result.call_uuid)
    assert rec["state"] == "ended" and rec["counsellor_id"] == w.counsellors["08011110001"]


async def test_digits_typed_during_a_plain_guidance_are_not_taken_for_the_code(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """After a wrong code, the retry asks again with invalid_code as lead-in: keys typed then count too."""
    w = await world(start_daemon, pool, prompts=write_prompts(tmp_path, invalid_code=1.5))
    result = await w.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=w.number,
            digits=[fast("99#")],
            dtmf=[(1.0, "1"), (1.1, "2"), (1.2, "#")],  # during invalid_code
            far_ends={"08011110001": answers(0.1, hangup_after=0.2)},
        )
    )
    assert played(result)[:4] == ["welcome", "choose_group", "invalid_code", "choose_group"]
    assert result.bridged_to and result.bridged_to[0].outcome == "SUCCESS"


@pytest.mark.parametrize(
    ("yen", "warning_seconds", "heard"),
    [
        (110, 10, "balance_warning_10s"),  # 11 s of talk: warned with 10 s left
        (30, 10, None),  # 3 s: already inside the warning period at answer, just announced: no warning
    ],
)
async def test_warning_says_what_is_left(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, yen: int, warning_seconds: int, heard: str | None
) -> None:
    w = await world(start_daemon, pool, yen=yen, warning_seconds=warning_seconds)  # 600 yen/min: 10 yen/s
    result = await w.fs.place_call(
        CallerScript(caller=TARO, destination=w.number, digits=[fast("12#")], far_ends={"08011110001": answers(0.1)})
    )
    assert result.errors == []
    assert played(result)[-1] == "balance_exhausted"
    warnings = [b.path.rsplit("/", 1)[-1].removesuffix(".wav") for b in result.broadcasts]
    assert warnings == ([heard] if heard else [])
    if heard:
        assert result.broadcasts[0].response == "FILE PLAYED"
    assert "minutes_0" in played(result)  # the caller heard "less than a minute" before ringing
