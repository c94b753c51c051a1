"""SIGKILL of a daemon mid-call, then restart: nothing stays taken."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from daemon.repositories import groups
from daemon.rules.billing.charges import Tariff, billed_seconds
from emulator import CallerScript, CallResult, FakeFreeSwitch, FarEnd
from tests.daemon_process import DaemonProcess
from tests.factories import Shop, counsellor, prepaid_caller, shop
from tests.stand_in_prompts import write_prompts

pytestmark = pytest.mark.slow


async def test_sigkill_mid_call_then_restart_frees_the_line(db_dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = await shop(pool, lines=1)
    await pool.execute("UPDATE numbers SET product = 'ivr' WHERE tenant_id = $1", s.tenant_id)
    prompts = write_prompts(tmp_path / "prompts", greeting=3.0)
    env = {
        "CALLD_DATABASE_URL": db_dsn,
        "CALLD_NODE_ID": "crashy",
        "CALLD_PROMPTS_DIR": str(prompts),
        "CALLD_GENERATE_PROMPTS": "false",
    }
    first = DaemonProcess(env)
    await first.start()
    fs = FakeFreeSwitch(host="127.0.0.1", port=first.esl_port, linger_scale=0.1)
    call = asyncio.create_task(fs.place_call(CallerScript(destination=s.number)))
    for _ in range(100):  # wait until the call holds its line
        if await pool.fetchval("SELECT count(*) FROM active_calls"):
            break
        await asyncio.sleep(0.02)
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 1
    first.kill()
    result = await asyncio.wait_for(call, 30)
    assert result.hangup_by == "fallback"  # FreeSWITCH's dialplan took over: guidance, then hangup
    await first.proc.wait() if first.proc else None
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 1  # the dead node still holds it

    second = DaemonProcess({**env})
    try:
        await second.start()
        assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0
        fs2 = FakeFreeSwitch(host="127.0.0.1", port=second.esl_port, linger_scale=0.1)
        again = await fs2.place_call(CallerScript(destination=s.number, hangup_after=0.1))
        assert again.errors == []
        assert any("greeting" in (arg or "") for _, arg in again.apps)
    finally:
        await second.stop()


async def armed_deadline(pool: asyncpg.Pool) -> int:
    """The deadline of the talking call, once its cutoff is armed."""
    for _ in range(300):
        deadline_us: int | None = await pool.fetchval(
            "SELECT deadline_us FROM call_records WHERE state = 'talking' AND deadline_us IS NOT NULL"
        )
        if deadline_us is not None:
            return deadline_us
        await asyncio.sleep(0.02)
    raise AssertionError("no talking call with a deadline")


async def ended_record(pool: asyncpg.Pool) -> asyncpg.Record:
    """The one call record, once it is ended."""
    for _ in range(200):
        rec: asyncpg.Record | None = await pool.fetchrow("SELECT * FROM call_records WHERE state = 'ended'")
        if rec is not None:
            return rec
        await asyncio.sleep(0.05)
    raise AssertionError("the call record was never ended")


async def tarot_with_inbound(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path, node: str, yen: int, **group: Any
) -> tuple[Shop, int, FakeFreeSwitch, dict[str, str]]:
    """A prepaid caller, group 12 at 600 yen/min with one counsellor, an emulator with an inbound
    event socket, and the environment of a daemon that recovers through it."""
    s = await shop(pool, lines=2)
    caller_id = await prepaid_caller(pool, s.tenant_id, yen=yen, number="09012345678")
    member = await counsellor(pool, s.tenant_id, "08011110001")
    await groups.create(pool, s.tenant_id, code="12", name="tarot", rate_yen_per_min=600, members=[member], **group)
    fs = FakeFreeSwitch(host="127.0.0.1", port=0, linger_scale=0.1)
    inbound = await fs.serve_inbound("127.0.0.1", 0, "s3cret-esl")
    env = {
        "CALLD_DATABASE_URL": db_dsn,
        "CALLD_NODE_ID": node,
        "CALLD_PROMPTS_DIR": str(write_prompts(tmp_path / "prompts")),
        "CALLD_GENERATE_PROMPTS": "false",
        "CALLD_FS_ESL_PORT": str(inbound.sockets[0].getsockname()[1]),
        "CALLD_FS_ESL_PASSWORD": "s3cret-esl",
    }
    return s, caller_id, fs, env


async def test_sigkill_mid_bridge_then_restart_charges_once_for_the_real_talk(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The daemon dies while caller and counsellor talk; FreeSWITCH carries the bridge on.

    The restarted node asks FreeSWITCH (inbound event socket) whether the call
    still lives, hears its CHANNEL_HANGUP_COMPLETE and books exactly one charge
    from FreeSWITCH's own timestamps.
    """
    s, caller_id, fs, env = await tarot_with_inbound(db_dsn, pool, tmp_path, "crashy-coach", 10_000, ring_timeout_s=2)
    first = DaemonProcess(env)
    await first.start()
    fs.port = first.esl_port
    call = asyncio.create_task(
        fs.place_call(
            CallerScript(
                destination=s.number,
                digits=["12#"],
                far_ends={"08011110001": FarEnd("answer", answer_after=0.1)},
                hangup_after_bridge=20.0,  # outlives the restart, even at load 12 (restarts took ~10 s)
            )
        )
    )
    for _ in range(300):
        if await pool.fetchval("SELECT count(*) FROM call_records WHERE state = 'talking'"):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)
    first.kill()
    assert first.proc is not None
    await first.proc.wait()

    second = DaemonProcess(env)
    try:
        await second.start()
        # the bridge outlived the daemon inside FreeSWITCH: its line is still taken
        assert await pool.fetchval("SELECT count(*) FROM active_calls") == 1
        result = await asyncio.wait_for(call, 30)
        assert result.hangup_by == "caller"
        for _ in range(200):
            if await pool.fetchval("SELECT count(*) FROM call_records WHERE state = 'ended'"):
                break
            await asyncio.sleep(0.05)
        rec = await pool.fetchrow("SELECT * FROM call_records")
        assert rec is not None and rec["state"] == "ended" and rec["ended_by"] == "reconciled_live"
        charges = await pool.fetch("SELECT amount_yen FROM ledger WHERE caller_id = $1 AND kind = 'charge'", caller_id)
        assert len(charges) == 1
        assert result.end_time is not None
        real_talk = result.end_time - rec["answer_us"] / 1e6
        assert abs(rec["billed_seconds"] - real_talk) <= 1.0
        assert -charges[0]["amount_yen"] == rec["charge_yen"] == Tariff(600).charge(rec["billed_seconds"])
        balance = await pool.fetchval("SELECT balance_yen FROM callers WHERE id = $1", caller_id)
        assert balance == 10_000 - rec["charge_yen"] >= 0
        assert await pool.fetchval("SELECT count(*) FROM counsellors WHERE current_call IS NOT NULL") == 0
        assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0  # released by the recovery
    finally:
        await second.stop()
        await fs.close()


async def test_backstop_ends_a_crashed_bridge_at_the_first_whole_second_after_the_deadline(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The daemon dies mid-talk; FreeSWITCH's own sched_hangup ends the call when the money runs out.

    Armed for the first whole epoch second >= deadline + 0.2 s, it fires when the
    scheduler's 0.5 s poll sees that second: 0.2-1.7 s after the deadline, never before.
    """
    s = await shop(pool, lines=2)
    await prepaid_caller(pool, s.tenant_id, yen=30, number="09012345678")  # 600 yen/min: 3 s
    member = await counsellor(pool, s.tenant_id, "08011110001")
    await groups.create(
        pool,
        s.tenant_id,
        code="12",
        name="tarot",
        rate_yen_per_min=600,
        members=[member],
        warning_seconds=0,
        minimum_talk_seconds=1,  # 3 s of money
    )
    env = {
        "CALLD_DATABASE_URL": db_dsn,
        "CALLD_NODE_ID": "crashy-cutoff",
        "CALLD_PROMPTS_DIR": str(write_prompts(tmp_path / "prompts")),
        "CALLD_GENERATE_PROMPTS": "false",
    }
    daemon = DaemonProcess(env)
    await daemon.start()
    fs = FakeFreeSwitch(host="127.0.0.1", port=daemon.esl_port, linger_scale=0.1)
    call = asyncio.create_task(
        fs.place_call(
            CallerScript(
                destination=s.number, digits=["12#"], far_ends={"08011110001": FarEnd("answer", answer_after=0.1)}
            )
        )
    )
    try:
        deadline_us = await armed_deadline(pool)
        await asyncio.sleep(0.3)  # the exact backstop replaces the one armed before ringing
        daemon.kill()
        result = await asyncio.wait_for(call, 30)
    finally:
        await daemon.stop()
        await fs.close()
    assert (result.hangup_by, result.hangup_cause) == ("sched_hangup", "ALLOTTED_TIMEOUT")
    assert result.end_time is not None
    armed = [c.split()[1] for c in result.api_commands if c.startswith("sched_hangup ")]
    runtime = math.ceil((deadline_us + 200_000) / 1e6)
    assert armed[-1] == str(runtime)
    overrun = result.end_time - deadline_us / 1e6
    print(f"\nbackstop overrun after the deadline: {overrun:.3f} s (runtime {runtime})")
    assert runtime <= result.end_time < runtime + 0.5 + 0.1  # whole second, then at most one poll
    assert 0.2 <= overrun < 1.8


@dataclass
class Restart:
    """A prepaid call whose daemon was killed before its deadline and restarted at once."""

    result: CallResult
    deadline_us: int
    killed_before: float  # seconds before the deadline
    up_after_deadline: float  # seconds after it (negative: up before it)
    record: asyncpg.Record  # the call record, ended by the restarted daemon


ARMING_SLACK_S = 3  # from the answer to the armed deadline, with room for a loaded machine


async def crash_and_restart(db_dsn: str, pool: asyncpg.Pool, tmp_path: Path, lead: float, **second_env: str) -> Restart:
    """Group 12 (10 yen a second) and money for ``lead`` + 3 s of talk, kill -9 ``lead`` seconds
    before the deadline, a second daemon (with ``second_env`` on top) started at once; the call and
    its record at the end.

    The money sets only when the kill comes after the answer (3 s): what the restarted daemon
    sees, ``lead`` seconds to come back before the deadline, is the same for any amount, and the
    test no longer sits through 20 s of talk whatever the lead.
    """
    yen = 10 * math.ceil(lead + ARMING_SLACK_S)
    s, _, fs, env = await tarot_with_inbound(
        db_dsn, pool, tmp_path, "crashy-cut", yen, warning_seconds=0, minimum_talk_seconds=1
    )
    first = DaemonProcess(env)
    second = DaemonProcess({**env, **second_env})
    await first.start()
    fs.port = first.esl_port
    script = CallerScript(
        destination=s.number, digits=["12#"], far_ends={"08011110001": FarEnd("answer", answer_after=0.1)}
    )
    call = asyncio.create_task(fs.place_call(script))
    try:
        deadline_us = await armed_deadline(pool)
        await asyncio.sleep(max(0.0, deadline_us / 1e6 - lead - time.time()))
        await first.crash()
        killed_before = deadline_us / 1e6 - time.time()
        await second.start()
        up_after_deadline = time.time() - deadline_us / 1e6
        result = await asyncio.wait_for(call, 30)
        record = await ended_record(pool)  # booked by the restarted daemon's recovery
    finally:
        await first.stop()
        await second.stop()
        await fs.close()
    return Restart(result, deadline_us, killed_before, up_after_deadline, record)


def charged_to_the_deadline(restart: Restart) -> bool:
    """Billed from the answer to the deadline exactly: not the guidance, not the backstop's overrun."""
    rec = restart.record
    billed = billed_seconds(restart.deadline_us - rec["answer_us"])
    return (rec["billed_seconds"], rec["charge_yen"]) == (billed, Tariff(600).charge(billed))


@pytest.mark.parametrize("lead", [12.0, 5.0, 0.05])
async def test_a_restart_cuts_a_surviving_bridge_at_its_deadline_not_at_the_backstop(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path, lead: float
) -> None:
    """kill -9 ``lead`` seconds before a prepaid call's deadline, restart at once (issue 16, item 4).

    The restarted daemon re-arms its own cut over the inbound event socket
    (daemon.recovery.cut): the counsellor's leg is hung up at the deadline
    (ALLOTTED_TIMEOUT), not 0.2-1.7 s later by FreeSWITCH's whole-second backstop,
    and, as in a normal cutoff, the caller then hears the balance guidance and is
    hung up; the call is charged to the deadline, the guidance is not.
    A new daemon up before the deadline cuts within 50 ms of it.  One up only
    after it (a restart takes seconds on a busy machine) cuts at once, or the
    backstop has already ended the call: the bound is then the backstop's, 1.7 s.
    Measured on the emulator's clock (the end of the counsellor's leg).
    """
    restart = await crash_and_restart(db_dsn, pool, tmp_path, lead)
    result, deadline_us, rec = restart.result, restart.deadline_us, restart.record
    killed_before, up_after_deadline = restart.killed_before, restart.up_after_deadline
    assert result.end_time is not None
    talk = next(h for h in result.heard if h.what == "far end 08011110001")
    overrun = talk.end - deadline_us / 1e6
    cause = result.variables.get("last_bridge_hangup_cause")
    print(
        f"\nkilled {killed_before:.3f} s before the deadline, restarted {up_after_deadline:+.3f} s after it:"
        f" talk ended {overrun * 1000:.1f} ms after the deadline ({result.hangup_by}, bridge {cause})"
    )
    assert overrun >= 0
    if up_after_deadline <= -0.5:  # up in time: our cut, on time
        assert result.hangup_by != "sched_hangup", "the backstop cut, not the restarted daemon"
        assert cause == "ALLOTTED_TIMEOUT"  # the counsellor's leg was cut
        assert overrun <= 0.05
        # then the caller, parked, hears the balance guidance and is hung up (as in a normal cutoff)
        goodbye = result.heard[-1]
        assert goodbye.what.endswith("/balance_exhausted.wav") and goodbye.start >= talk.end
        assert (result.hangup_by, result.hangup_cause) == ("park", "NORMAL_CLEARING")
        assert not result.fallback_ran and goodbye.end <= result.end_time
        print(f"balance guidance {(goodbye.start - talk.end) * 1000:.0f} ms after the talk, hang-up at its end")
        assert abs(rec["end_us"] - talk.end * 1e6) < 25_000  # the talk ended with the counsellor's leg
    else:
        assert overrun <= max(1.8, up_after_deadline + 0.5)
    assert charged_to_the_deadline(restart)


async def test_a_guidance_that_cannot_be_sent_still_ends_the_call_at_the_deadline(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The fallback of the restart's cut: the guidance cannot go out (the new daemon's prompts sit in
    a folder whose name has a space, which FreeSWITCH's argument splitting would cut in two), so the
    parked caller is hung up at once (``uuid_kill``, ALLOTTED_TIMEOUT), as the cut did before the
    guidance; the counsellor's leg still ends at the deadline and the charge stops there."""
    spaced = write_prompts(tmp_path / "prompts with a space")
    restart = await crash_and_restart(db_dsn, pool, tmp_path, 12.0, CALLD_PROMPTS_DIR=str(spaced))
    result = restart.result
    assert result.end_time is not None
    talk = next(h for h in result.heard if h.what == "far end 08011110001")
    print(f"\nrestarted {restart.up_after_deadline:+.3f} s after the deadline: {result.hangup_by}")
    assert not result.fallback_ran and all("balance_exhausted" not in h.what for h in result.heard)
    if restart.up_after_deadline <= -0.5:  # up in time: our cut
        assert (result.hangup_by, result.hangup_cause) == ("uuid_kill", "ALLOTTED_TIMEOUT")
        assert talk.end - restart.deadline_us / 1e6 <= 0.05 and result.end_time - talk.end <= 0.05
    else:
        assert result.hangup_by in ("uuid_kill", "sched_hangup")
    assert charged_to_the_deadline(restart)
