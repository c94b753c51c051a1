"""The call path end to end: emulated FreeSWITCH → daemon → PostgreSQL → decision."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg

from daemon.app import Daemon
from daemon.esl.commands import nixevent
from daemon.outbound.subscription import NIXED
from emulator import CallerScript, CallResult, FakeFreeSwitch
from tests.conftest import DaemonFactory
from tests.factories import shop
from tests.stand_in_prompts import write_prompts


def prompt_name(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".wav")


def prompt_names(media: str) -> list[str]:
    """``/p/a.wav`` → ``[a]``; ``file_string:///p/a.wav!/p/b.wav`` → ``[a, b]``."""
    return [prompt_name(part) for part in media.removeprefix("file_string://").split("!")]


def played(result: CallResult) -> list[str]:
    """Names of the prompts the caller heard, in order (playback and keypad prompts, lead-ins included)."""
    names = []
    for app, arg in result.apps:
        if app == "playback" and arg:
            names += prompt_names(arg)
        elif app == "play_and_get_digits" and arg:
            names += prompt_names(arg.split()[5])
    return names


def refused(result: CallResult, status: int) -> bool:
    """Early media (183), then ``status``: never answered, nothing billed."""
    return result.sip_responses == [100, 183, status] and not result.answered and result.billsec == 0


def emulator_for(daemon: Daemon, **kw: object) -> FakeFreeSwitch:
    return FakeFreeSwitch(host="127.0.0.1", port=daemon.esl_port, linger_scale=0.1, **kw)  # type: ignore[arg-type]


async def live_lines(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM active_calls")
    return count


async def test_unknown_number_hears_not_in_service(start_daemon: DaemonFactory) -> None:
    daemon = await start_daemon()
    result = await emulator_for(daemon).place_call(CallerScript(destination="0399999999"))
    assert result.errors == []
    assert played(result) == ["not_in_service"]
    assert result.hangup_by == "app"
    assert refused(result, 404) and result.hangup_cause == "UNALLOCATED_NUMBER"
    assert result.sip_reason == 'Q.850;cause=1;text="UNALLOCATED_NUMBER"'
    assert "CHANNEL_ANSWER" not in result.events_sent
    assert daemon.metrics.calls_rejected.labels("not_in_service")._value.get() == 1
    latency = daemon.metrics.registry.get_sample_value("calld_connect_to_first_command_seconds_count")
    assert latency == 1


async def test_twenty_calls_on_three_lines_across_two_daemons(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    s = await shop(pool, lines=3)
    daemons = [await start_daemon(), await start_daemon()]
    switches = [emulator_for(d) for d in daemons]
    ivr = await pool.fetchval("UPDATE numbers SET product = 'ivr' WHERE tenant_id = $1 RETURNING number", s.tenant_id)
    assert ivr == s.number
    results = await asyncio.gather(
        *(switches[i % 2].place_call(CallerScript(caller=f"090{i:08d}", destination=s.number)) for i in range(20))
    )
    assert all(r.errors == [] for r in results)
    outcomes = [played(r)[0] for r in results]
    assert outcomes.count("greeting") == 3
    assert outcomes.count("busy") == 17
    busy = [r for r in results if played(r)[0] == "busy"]
    assert all(refused(r, 486) and r.hangup_cause == "USER_BUSY" for r in busy)
    assert all(r.sip_reason == 'Q.850;cause=17;text="USER_BUSY"' for r in busy)
    assert await live_lines(pool) == 0
    admitted = sum(d.metrics.calls_admitted.labels(str(s.tenant_id))._value.get() for d in daemons)
    assert admitted == 3


async def test_database_down_fails_closed(start_daemon: DaemonFactory) -> None:
    daemon = await start_daemon()
    assert daemon.services.pool is not None
    pool, daemon.services.pool = daemon.services.pool, None
    try:
        result = await emulator_for(daemon).place_call(CallerScript())
    finally:
        daemon.services.pool = pool
    assert played(result) == ["unavailable"]
    assert refused(result, 503) and result.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
    assert daemon.metrics.db_errors._value.get() >= 1


async def test_line_is_released_when_the_caller_hangs_up(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    s = await shop(pool, lines=1)
    await pool.execute("UPDATE numbers SET product = 'ivr' WHERE tenant_id = $1", s.tenant_id)
    daemon = await start_daemon(prompts_dir=write_prompts(tmp_path, greeting=2.0))
    fs = emulator_for(daemon)
    result = await fs.place_call(CallerScript(destination=s.number, hangup_after=0.2))
    assert result.hangup_by == "caller"
    assert await live_lines(pool) == 0
    again = await fs.place_call(CallerScript(destination=s.number, hangup_after=0.2))
    assert played(again) == ["greeting"]


async def test_hostile_input_ends_one_session_not_the_daemon(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    s = await shop(pool, lines=2)
    await pool.execute("UPDATE numbers SET product = 'ivr' WHERE tenant_id = $1", s.tenant_id)
    daemon = await start_daemon()
    reader, writer = await asyncio.open_connection("127.0.0.1", daemon.esl_port)
    assert await reader.readuntil(b"linger 1\n\n") == b"connect\n\nmyevents\n\n" + nixevent(NIXED) + b"linger 1\n\n"
    writer.write(b"Content-Type: command/reply\nContent-Length: 999999999999\n\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # the daemon hung up on us
    writer.close()
    result = await emulator_for(daemon).place_call(CallerScript(caller_name="Taro\r\napi uuid_kill all"))
    assert result.errors == []
    assert daemon.metrics.esl_protocol_errors._value.get() == 1
    assert all("\n" not in arg and "\r" not in arg for _, arg in result.apps if arg)


async def test_database_errors_at_call_time_fail_closed(start_daemon: DaemonFactory, db_dsn: str) -> None:
    """The pool is there but the database no longer answers (here: a closed pool)."""
    daemon = await start_daemon()
    broken = await asyncpg.create_pool(db_dsn, min_size=1, max_size=1)
    assert broken is not None
    await broken.close()
    pool, daemon.services.pool = daemon.services.pool, broken
    try:
        result = await emulator_for(daemon).place_call(CallerScript())
    finally:
        daemon.services.pool = pool
    assert result.errors == []
    assert played(result) == ["unavailable"]
    assert refused(result, 503)
    assert daemon.metrics.calls_rejected.labels("unavailable")._value.get() == 1


async def test_caller_hanging_up_during_the_refusal_is_fine(start_daemon: DaemonFactory, tmp_path: Path) -> None:
    """The caller leaves while "not in service" plays (early media): CANCEL, 487, no answer, no error."""
    daemon = await start_daemon(prompts_dir=write_prompts(tmp_path, not_in_service=3.0))
    result = await emulator_for(daemon).place_call(CallerScript(destination="0399999999", hangup_early_after=0.3))
    assert result.errors == []
    assert result.sip_responses == [100, 183, 487] and not result.answered
    assert (result.hangup_by, result.hangup_cause) == ("caller", "ORIGINATOR_CANCEL")
    assert result.variables["sip_hangup_disposition"] == "recv_cancel"


async def until_lines(pool: asyncpg.Pool, n: int, within: float) -> None:
    """Until ``n`` lines are in use."""
    deadline = time.monotonic() + within
    while await live_lines(pool) != n:
        assert time.monotonic() < deadline, f"{await live_lines(pool)} lines in use after {within} s, not {n}"
        await asyncio.sleep(0.05)


async def test_a_line_comes_back_while_admissions_queue_for_the_lines(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Admissions waiting for their tenant's lines (its row locked) never take the whole pool: a call
    ending meanwhile gives its line back at once, not after them."""
    s = await shop(pool, lines=20)
    await pool.execute("UPDATE numbers SET product = 'ivr' WHERE tenant_id = $1", s.tenant_id)
    prompts = write_prompts(tmp_path, greeting=10.0)
    daemon = await start_daemon(prompts_dir=prompts, db_pool_size=4, db_timeout_seconds=8.0)
    fs = emulator_for(daemon)
    first = asyncio.ensure_future(fs.place_call(CallerScript(destination=s.number, hangup_after=1.0)))
    await until_lines(pool, 1, 5.0)
    async with pool.acquire() as locker, locker.transaction():
        await locker.execute("SELECT 1 FROM line_contracts WHERE tenant_id = $1 FOR UPDATE", s.tenant_id)
        scripts = [CallerScript(caller=f"090{i:08d}", destination=s.number, hangup_after=0.1) for i in range(8)]
        queued = [asyncio.ensure_future(fs.place_call(script)) for script in scripts]
        assert (await first).hangup_by == "caller"
        await until_lines(pool, 0, 1.5)  # the first call's line, back while the others still wait
    assert all(r.answered for r in await asyncio.gather(*queued))
