"""The prepaid cut waits for nothing but its deadline: not FreeSWITCH's other answers, not the database.

Behaviour only, no timing assertions: what is checked is *whether* the daemon
sent its ``uuid_kill`` (and who ended the talk), never how fast.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import asyncpg
import pytest

from daemon.calls.cutoff import Backstop, Cutoff, wall_us
from daemon.metrics import Metrics
from daemon.repositories import call_records
from emulator import CallerScript
from tests.calls.test_admission_e2e import played
from tests.calls.test_coaching_e2e import TARO, answers, balance, fast, record, world
from tests.conftest import DaemonFactory
from tests.fake_channel import FakeChannel

HANG_SECONDS = 3.0  # longer than the money (1 s) plus the backstop's lag after it (at most 1.7 s)


class Paths:
    def path(self, name: str) -> str:
        return f"/prompts/{name}.wav"


def api_lines(fake: FakeChannel) -> list[str]:
    return [(f.line or "").removeprefix("api ") for f in fake.commands if (f.line or "").startswith("api ")]


async def until(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)


async def test_the_cut_is_sent_while_freeswitch_has_not_answered_the_backstop() -> None:
    """FreeSWITCH is slow to answer the backstop's ``sched_del``/``sched_hangup`` (its socket
    thread busy): the ``uuid_kill`` goes out at the deadline all the same, behind them."""
    fake = FakeChannel()
    session = await fake.start()
    fake.stall()
    leg = str(uuid.uuid4())
    metrics = Metrics()
    cutoff = Cutoff(session, leg, Backstop(session), warning_seconds=0, prompts=Paths(), metrics=metrics)
    cutoff.update(wall_us() + 300_000)
    running = asyncio.create_task(cutoff.run())
    await until(lambda: any(line.startswith("uuid_kill") for line in api_lines(fake)))
    lines = api_lines(fake)
    assert lines[0].startswith("sched_hangup ")  # the backstop was asked for first, still unanswered
    assert f"uuid_kill {leg} ALLOTTED_TIMEOUT" in lines
    assert cutoff.cut
    assert metrics.registry.get_sample_value("calld_cutoff_sent_lag_seconds_count") == 1  # sent, not yet answered
    assert metrics.registry.get_sample_value("calld_cutoff_lag_seconds_count") == 0
    fake.unstall()
    await asyncio.wait_for(running, 5)
    assert cutoff.cut_lag_s is not None
    assert metrics.registry.get_sample_value("calld_cutoff_lag_seconds_count") == 1


async def test_the_warning_does_not_hold_the_cut_back() -> None:
    """The deadline comes closer than the warning period while FreeSWITCH is stalled: the
    warning is asked for and the cut follows without waiting for the warning's answer."""
    fake = FakeChannel()
    session = await fake.start()
    fake.stall()
    cutoff = Cutoff(session, "leg-b", Backstop(session), warning_seconds=5, prompts=Paths(), metrics=Metrics())
    cutoff.update(wall_us() + 200_000)
    running = asyncio.create_task(cutoff.run())
    await until(lambda: any(line.startswith("uuid_kill") for line in api_lines(fake)))
    lines = api_lines(fake)
    assert any(line.startswith("uuid_broadcast ") for line in lines)
    assert "uuid_kill leg-b ALLOTTED_TIMEOUT" in lines
    fake.unstall()
    await asyncio.wait_for(running, 5)


async def test_stopping_a_cutoff_leaves_no_backstop_armed_behind_the_disarm() -> None:
    """The talk ends while a re-arm is on its way: after stop() and disarm() nothing is armed."""
    fake = FakeChannel()
    session = await fake.start()
    backstop = Backstop(session)
    cutoff = Cutoff(session, "leg-b", backstop, warning_seconds=0, prompts=Paths(), metrics=Metrics())
    fake.stall()
    cutoff.update(wall_us() + 60_000_000)
    running = asyncio.create_task(cutoff.run())
    await until(lambda: any(line.startswith("sched_hangup") for line in api_lines(fake)))
    cutoff.update(wall_us() + 90_000_000)  # money landed: the follower will re-arm after the answer
    cutoff.stop()
    running.cancel()
    fake.unstall()
    await backstop.disarm()
    await asyncio.sleep(0.05)
    lines = api_lines(fake)
    assert lines[-1] == f"sched_del {session.uuid}"  # the last word on the backstop deletes it
    assert backstop.armed_for_us is None


async def test_cut_off_on_time_while_the_database_hangs_at_the_answer(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counsellor answers while the database hangs (here: ``mark_talking`` answers only
    after HANG_SECONDS, longer than the caller's money).  The daemon's own cut still ends the
    talk at the deadline, not FreeSWITCH's backstop, and the caller hears why."""
    real_mark = call_records.mark_talking

    async def hanging_mark(db: asyncpg.Pool, call_uuid: uuid.UUID, **kw: object) -> None:
        await asyncio.sleep(HANG_SECONDS)
        await real_mark(db, call_uuid, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(call_records, "mark_talking", hanging_mark)
    w = await world(start_daemon, pool, yen=10, warning_seconds=0)  # 600 yen/min: 1 s of talk
    result = await w.fs.place_call(
        CallerScript(caller=TARO, destination=w.number, digits=[fast("12#")], far_ends={"08011110001": answers(1.0)})
    )
    assert result.errors == []
    leg = result.bridged_to[0].legs[0]
    assert any(c.startswith(f"uuid_kill {leg.uuid}") for c in result.api_commands)
    assert result.hangup_by == "app"  # not "sched_hangup"
    assert played(result)[-1] == "balance_exhausted"
    rec = await record(w, result.call_uuid)
    assert rec["ended_by"] == "cutoff"
    assert rec["billed_seconds"] == 1 and rec["charge_yen"] == 10
    assert await balance(w) == 0
