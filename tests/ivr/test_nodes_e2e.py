"""The IVR interpreter end to end: emulated FreeSWITCH, the daemon, real PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from emulator import CallerScript, Keys
from tests.conftest import DaemonFactory
from tests.ivr.world import NUMBER, TARO, fast, heard, ivr_shop


def menu_flow(g: Any, **menu: object) -> dict[str, Any]:
    return {
        "entry": {"default": "welcome"},
        "nodes": {
            "welcome": {"kind": "play", "guidance": [g("welcome")], "next": "menu"},
            "menu": {
                "kind": "menu",
                "prompt": g("menu"),
                "options": {"1": "sales", "2": "support"},
                "invalid_prompt": g("invalid"),
                "timeout_prompt": g("timeout"),
                "first_digit_timeout_ms": 1000,
                "inter_digit_timeout_ms": 500,
                "max_retries": 1,
                "fallback": "sorry",
                **menu,
            },
            "sales": {"kind": "play", "guidance": [g("sales")], "next": "bye"},
            "support": {"kind": "play", "guidance": [g("support")], "next": "bye"},
            "sorry": {"kind": "play", "guidance": [g("sorry")], "next": "bye"},
            "bye": {"kind": "hangup"},
        },
    }


async def test_play_then_menu_choice(start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path) -> None:
    shop = await ivr_shop(pool, tmp_path)
    await shop.publish(menu_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(caller=TARO, destination=NUMBER, digits=[fast("2")]))
    assert result.errors == []
    assert result.answered
    assert heard(result) == ["welcome", "menu", "support"]
    assert result.hangup_by == "app"
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0


async def test_menu_invalid_then_valid(start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path) -> None:
    shop = await ivr_shop(pool, tmp_path)
    await shop.publish(menu_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(destination=NUMBER, digits=[fast("9"), fast("1")]))
    assert heard(result) == ["welcome", "menu", "invalid", "menu", "sales"]


async def test_menu_timeouts_use_up_retries_then_fallback(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    await shop.publish(menu_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(destination=NUMBER))
    assert heard(result) == ["welcome", "menu", "timeout", "menu", "timeout", "sorry"]


async def test_menu_invalid_twice_goes_to_fallback(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    await shop.publish(menu_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(destination=NUMBER, digits=[fast("7"), fast("8")]))
    assert heard(result) == ["welcome", "menu", "invalid", "menu", "invalid", "sorry"]


async def test_menu_digit_strings_and_inter_digit_timeout(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Options "1" and "12": "12" is keyed; a lone "1" is taken when the inter-digit timeout expires."""
    shop = await ivr_shop(pool, tmp_path)
    flow = menu_flow(shop.g, options={"1": "sales", "12": "support"}, max_retries=0)
    await shop.publish(flow)
    fs = await shop.start(start_daemon)
    both = await fs.place_call(CallerScript(destination=NUMBER, digits=[fast("12")]))
    assert heard(both)[-1] == "support"
    slow = await fs.place_call(CallerScript(destination=NUMBER, digits=[Keys("12", delay=0.05, interval=1.0)]))
    assert heard(slow)[-1] == "sales"  # the 2 came after the 500 ms inter-digit timeout


async def test_keys_during_the_prompt_interrupt_it(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    await shop.publish(menu_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(destination=NUMBER, digits=[fast("1")]))
    arg = next(a for app, a in result.apps if app == "play_and_get_digits")
    # min 1, max 1 key, terminator #, the prompt, first-digit then inter-digit timeouts of the node
    argv = arg.split()
    assert argv[:5] == ["1", "1", "1", "1000", "#"] and argv[-1] == "500"
    assert heard(result)[-1] == "sales"


@pytest.mark.parametrize(
    ("script", "played_ms"),
    [
        ({"hangup_after": 0.05}, range(0, 100)),  # during "welcome", the lead-in of the menu's question
        ({"hangup_after": 0.5}, range(200, 201)),  # both prompts over (0.1 s each), waiting for keys
    ],
)
async def test_caller_hangs_up_in_play_and_menu(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path, script: dict[str, Any], played_ms: range
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    await shop.publish(menu_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(destination=NUMBER, **script))
    assert result.hangup_by == "caller"
    assert heard(result) == ["welcome", "menu"]  # one question: the welcome, then the menu's prompt
    assert int(result.variables["playback_ms"]) in played_ms
    assert result.errors == []
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0


async def test_keys_typed_during_the_welcome_count_for_the_menu(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """A play node before a menu is the lead-in of the menu's question: a plain playback would drop the key."""
    shop = await ivr_shop(pool, tmp_path, long={"welcome": 1.0})
    await shop.publish(menu_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(destination=NUMBER, dtmf=[(0.3, "2")]))
    assert heard(result) == ["welcome", "menu", "support"]
    assert int(result.variables["playback_ms"]) < 1000  # the key cut the welcome short
    assert [app for app, _ in result.apps].count("play_and_get_digits") == 1


async def test_no_published_flow_gets_the_interim_greeting(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(destination=NUMBER))
    assert heard(result) == ["greeting"]
