"""The counsellors' duty line end to end: emulated FreeSWITCH, real daemon, real PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from daemon.app import Daemon
from daemon.repositories import counsellors, duty_pins, tenants
from emulator import CallerScript, FakeFreeSwitch
from tests.calls.test_admission_e2e import emulator_for, played, refused
from tests.calls.test_coaching_e2e import fast
from tests.conftest import DaemonFactory
from tests.factories import shop

DUTY_NUMBER = "0312340000"
HANAKO = "09077778888"  # the counsellor's registered phone
PIN = "4321"


@dataclass
class Line:
    pool: asyncpg.Pool
    daemon: Daemon
    fs: FakeFreeSwitch
    tenant_id: int
    counsellor_id: int


async def duty_line(start_daemon: DaemonFactory, pool: asyncpg.Pool, *, on_duty: bool = False) -> Line:
    s = await shop(pool)
    await tenants.add_number(pool, s.tenant_id, DUTY_NUMBER, "duty")
    who = await counsellors.create(pool, s.tenant_id, name="花子先生", phone_number=HANAKO, on_duty=on_duty)
    await duty_pins.set_pin(pool, s.tenant_id, who, PIN)
    daemon = await start_daemon()
    return Line(pool, daemon, emulator_for(daemon), s.tenant_id, who)


async def on_duty(line: Line) -> bool:
    value: bool = await line.pool.fetchval("SELECT on_duty FROM counsellors WHERE id = $1", line.counsellor_id)
    return value


async def test_a_counsellor_goes_on_duty_by_phone(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    line = await duty_line(start_daemon, pool)
    result = await line.fs.place_call(
        CallerScript(caller=HANAKO, destination=DUTY_NUMBER, digits=[fast(PIN + "#"), fast("1")])
    )
    assert result.errors == []
    assert result.answered
    assert played(result) == ["duty_enter_pin", "duty_state_off", "duty_menu", "duty_now_on"]
    # the state is the menu's lead-in (keys typed during it are kept), not a playback of its own
    assert [app for app, _ in result.apps].count("play_and_get_digits") == 2
    assert await on_duty(line)
    audit = await pool.fetchrow("SELECT login, action, after, actor_kind FROM audit_log ORDER BY id DESC LIMIT 1")
    assert audit is not None
    assert (audit["login"], audit["action"], audit["actor_kind"]) == ("system:duty_line", "counsellor.duty", "system")
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0  # the line is given back


async def test_off_duty_by_phone_hears_the_state_first(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    line = await duty_line(start_daemon, pool, on_duty=True)
    result = await line.fs.place_call(
        CallerScript(caller="+81" + HANAKO[1:], destination=DUTY_NUMBER, digits=[fast(PIN + "#"), fast("2")])
    )
    assert played(result) == ["duty_enter_pin", "duty_state_on", "duty_menu", "duty_now_off"]
    assert not await on_duty(line)


async def test_an_unregistered_phone_is_refused_unanswered(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    line = await duty_line(start_daemon, pool)
    result = await line.fs.place_call(CallerScript(caller="09011112222", destination=DUTY_NUMBER))
    assert played(result) == ["duty_unknown_phone"]
    assert refused(result, 603) and result.hangup_cause == "CALL_REJECTED"
    assert "CHANNEL_ANSWER" not in result.events_sent
    assert not await on_duty(line)


async def test_no_pin_set_is_refused_unanswered(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    line = await duty_line(start_daemon, pool)
    await duty_pins.set_pin(pool, line.tenant_id, line.counsellor_id, None)
    result = await line.fs.place_call(CallerScript(caller=HANAKO, destination=DUTY_NUMBER, digits=[fast(PIN + "#")]))
    assert played(result) == ["duty_unknown_phone"] and refused(result, 603)


async def test_a_wrong_pin_twice_changes_nothing(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    line = await duty_line(start_daemon, pool)
    result = await line.fs.place_call(
        CallerScript(caller=HANAKO, destination=DUTY_NUMBER, digits=[fast("1111#"), fast("2222#"), fast("1")])
    )
    assert played(result) == ["duty_enter_pin", "invalid_pin", "duty_enter_pin", "invalid_pin", "goodbye"]
    assert result.hangup_cause == "NORMAL_CLEARING"
    assert not await on_duty(line)
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'counsellor.duty'") == 0


async def test_guessing_the_pin_call_after_call_is_throttled(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    """After the free attempts even the right PIN is refused for a while: a PIN is not guessed by redialling."""
    line = await duty_line(start_daemon, pool)
    for _ in range(3):  # 6 wrong PINs: past BY_LOGIN's 5 free attempts
        await line.fs.place_call(
            CallerScript(caller=HANAKO, destination=DUTY_NUMBER, digits=[fast("1111#"), fast("2222#")])
        )
    result = await line.fs.place_call(
        CallerScript(caller=HANAKO, destination=DUTY_NUMBER, digits=[fast(PIN + "#"), fast("1")])
    )
    assert "duty_menu" not in played(result)
    assert not await on_duty(line)


async def test_database_trouble_before_the_answer_refuses_unanswered(
    start_daemon: DaemonFactory, pool: asyncpg.Pool
) -> None:
    line = await duty_line(start_daemon, pool)
    await pool.execute("ALTER TABLE counsellors RENAME COLUMN duty_pin_hash TO gone")  # every lookup fails now
    result = await line.fs.place_call(CallerScript(caller=HANAKO, destination=DUTY_NUMBER))
    assert played(result) == ["unavailable"]
    assert refused(result, 503) and result.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
    assert line.daemon.metrics.db_errors._value.get() >= 1


async def test_database_trouble_after_the_answer_is_said(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    line = await duty_line(start_daemon, pool)
    await pool.execute("ALTER TABLE console_login_throttle RENAME TO throttle_gone")  # the PIN's attempt fails
    result = await line.fs.place_call(CallerScript(caller=HANAKO, destination=DUTY_NUMBER, digits=[fast(PIN + "#")]))
    assert result.answered and played(result) == ["duty_enter_pin", "unavailable"]
    assert result.hangup_cause == "NORMAL_CLEARING" and not await on_duty(line)
