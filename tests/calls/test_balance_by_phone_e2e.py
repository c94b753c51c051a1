"""Balance by phone, end to end.

``*`` in the group menu reads the balance and the minutes it buys, then the menu asks again.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from daemon.repositories import groups
from emulator import CallerScript
from tests.calls.test_admission_e2e import played
from tests.calls.test_coaching_e2e import TARO, answers, fast, world
from tests.conftest import DaemonFactory
from tests.stand_in_prompts import write_prompts

USER = "08011110001"
#: 12,345 yen: いちまん にせん さんびゃく よんじゅう ご えん
TWELVE_THOUSAND_ODD = ["balance_is", "num_1", "num_man", "num_2000", "num_300", "num_40", "num_5", "yen_desu"]


def after_menu(heard: list[str]) -> list[str]:
    return heard[heard.index("choose_group") + 1 :]


async def test_star_and_a_code_read_the_balance_and_its_minutes(
    start_daemon: DaemonFactory, pool: asyncpg.Pool
) -> None:
    """*12#: 12,345 yen, about 20 minutes at group 12's 600 yen/min; then 12# connects."""
    w = await world(start_daemon, pool, yen=12_345)
    await groups.create(pool, w.tenant_id, code="34", name="dear", rate_yen_per_min=6000, members=[])
    result = await w.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=w.number,
            digits=[fast("*12#"), fast("12#")],
            far_ends={USER: answers(0.1, hangup_after=0.3)},
        )
    )
    assert result.errors == []
    assert after_menu(played(result))[:10] == [*TWELVE_THOUSAND_ODD, "minutes_20", "choose_group"]
    assert result.bridged_to and result.bridged_to[0].outcome == "SUCCESS"


async def test_star_alone_reads_the_minutes_when_every_group_has_one_rate(
    start_daemon: DaemonFactory, pool: asyncpg.Pool
) -> None:
    w = await world(start_daemon, pool, yen=12_345)
    result = await w.fs.place_call(CallerScript(caller=TARO, destination=w.number, digits=[fast("*#"), fast("#")]))
    assert after_menu(played(result))[:10] == [*TWELVE_THOUSAND_ODD, "minutes_20", "choose_group"]
    await groups.create(pool, w.tenant_id, code="34", name="dear", rate_yen_per_min=6000, members=[])
    result = await w.fs.place_call(CallerScript(caller=TARO, destination=w.number, digits=[fast("*#"), fast("#")]))
    assert after_menu(played(result))[:9] == [*TWELVE_THOUSAND_ODD, "choose_group"]  # two rates: which one?


async def test_a_read_out_is_not_a_wrong_try(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    """Two read-outs, then a wrong code, then the right one: still connected (two tries for the code)."""
    w = await world(start_daemon, pool, yen=600)
    result = await w.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=w.number,
            digits=[fast("*#"), fast("*12#"), fast("99#"), fast("12#")],
            far_ends={USER: answers(0.1, hangup_after=0.3)},
        )
    )
    heard = played(result)
    six_hundred = ["balance_is", "num_600", "yen_desu", "minutes_1"]
    menu = ["choose_group"]
    assert after_menu(heard)[:13] == [*six_hundred, *menu, *six_hundred, *menu, "invalid_code", *menu, "minutes_1"]
    assert result.bridged_to and result.bridged_to[0].outcome == "SUCCESS"


async def test_code_typed_during_the_read_out_counts(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The read-out is the next question's lead-in: 12# keyed while it plays chooses the group at once."""
    w = await world(start_daemon, pool, yen=12_345, prompts=write_prompts(tmp_path, balance_is=3.0))
    result = await w.fs.place_call(
        CallerScript(
            caller=TARO,
            destination=w.number,
            digits=[fast("*#")],
            dtmf=[(1.5, "1"), (1.6, "2"), (1.7, "#")],  # during balance_is (3 s)
            far_ends={USER: answers(0.1, hangup_after=0.3)},
        )
    )
    assert result.errors == []
    keypad = [arg for app, arg in result.apps if app == "play_and_get_digits"]
    assert len(keypad) == 2 and "balance_is.wav!" in keypad[1]
    assert result.bridged_to and result.bridged_to[0].outcome == "SUCCESS"


async def test_postpaid_without_a_limit_hears_there_is_none(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    w = await world(start_daemon, pool, yen=0)
    await pool.execute("UPDATE callers SET billing = 'postpaid', payment_method = 'card' WHERE id = $1", w.caller_id)
    result = await w.fs.place_call(CallerScript(caller=TARO, destination=w.number, digits=[fast("*12#"), fast("#")]))
    assert after_menu(played(result))[:2] == ["balance_unlimited", "choose_group"]
