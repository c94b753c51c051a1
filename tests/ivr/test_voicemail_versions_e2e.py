"""Voicemail recorded and kept; a call keeps the flow version it started with; the cache follows NOTIFY."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from daemon.ivr.cache import FlowCache
from daemon.postgres.listen import ListenHub
from daemon.repositories import ivr_flows, voicemail
from daemon.rules.ivr.models import Flow
from emulator import CallerScript, Keys, Speech
from tests.conftest import DaemonFactory
from tests.ivr.world import NUMBER, TARO, heard, ivr_shop


def vm_flow(g: Any, **vm: object) -> dict[str, Any]:
    return {
        "entry": {"default": "vm"},
        "nodes": {
            "vm": {
                "kind": "voicemail",
                "prompt": g("leave"),
                "max_seconds": 5,
                "silence_seconds": 2,
                "next": "thanks",
                **vm,
            },
            "thanks": {"kind": "play", "guidance": [g("sorry")], "next": "bye"},
            "bye": {"kind": "hangup"},
        },
    }


@pytest.mark.parametrize(
    ("script", "low", "high", "after"),
    [
        # lengths are what FreeSWITCH writes: the frames that arrived (one 20 ms frame short)
        ({"digits": [Keys("#", delay=1.0)]}, 0.9, 1.0, ["sorry"]),  # '#' ends it
        ({"digits": [Keys("", delay=1.0)]}, 2.9, 3.0, ["sorry"]),  # speaks 1 s, then 2 s of silence end it
        ({"digits": [Keys("", delay=9.0)]}, 4.0, 6.0, ["sorry"]),  # the 5 s limit: whole epoch seconds
        ({"digits": [Speech(10.0, hangs_up_at=1.2)]}, 1.1, 1.2, []),  # hangs up to end the message: kept
    ],
)
async def test_voicemail_is_recorded_and_kept(
    start_daemon: DaemonFactory,
    pool: asyncpg.Pool,
    tmp_path: Path,
    script: dict[str, Any],
    low: float,
    high: float,
    after: list[str],
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    await shop.publish(vm_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(caller=TARO, destination=NUMBER, **script))
    assert result.errors == []
    assert heard(result) == ["leave", "beep", *after]
    record = next(arg for app, arg in result.apps if app == "record")
    assert record.split()[1:] == ["5", "200", "2"]
    listed = await voicemail.listing(pool, shop.tenant_id)
    for _ in range(100):  # a caller who hangs up ends the call before the daemon has listed the message
        if listed:
            break
        await asyncio.sleep(0.05)
        listed = await voicemail.listing(pool, shop.tenant_id)
    (message,) = listed
    assert message.caller_number == TARO and message.dialled == NUMBER and message.flow_node == "vm"
    assert str(message.call_uuid) == result.call_uuid
    assert low <= message.duration_ms / 1000 <= high
    with wave.open(message.path) as w:
        assert w.getframerate() == 8000 and abs(w.getnframes() / 8 - message.duration_ms) <= 1
    assert Path(message.path).is_relative_to(tmp_path / "data" / "voicemail" / str(shop.tenant_id))


@pytest.mark.parametrize(
    "script",
    [
        {},  # says nothing: 2 s of silence end it, and 1.98 s of silence are written
        {"digits": [Speech(rtp=False)]},  # a phone that sends no RTP: a 44-byte file, record_ms 0
        {"digits": [Keys("#", delay=0.3)]},  # '#' at once: 280 ms
        {"digits": [Speech(10.0, hangs_up_at=0.3)]},  # hangs up at the beep
    ],
    ids=["silent", "no_rtp", "hash_at_once", "hangs_up_at_once"],
)
async def test_a_recording_without_words_is_no_message(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path, script: dict[str, Any]
) -> None:
    """FreeSWITCH writes what arrives, silence included: neither the file nor record_ms > 0 means a message
    (daemon/ivr/recording.py); the empty recording is not listed and its file is gone."""
    shop = await ivr_shop(pool, tmp_path)
    await shop.publish(vm_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(caller=TARO, destination=NUMBER, **script))
    assert result.errors == []
    assert any(app == "record" for app, _ in result.apps)
    assert await voicemail.listing(pool, shop.tenant_id) == []
    folder = tmp_path / "data" / "voicemail" / str(shop.tenant_id)
    assert not [p for p in folder.glob("*.wav")]


async def test_caller_hangs_up_during_the_voicemail_prompt(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, long={"leave": 1.0})
    await shop.publish(vm_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(destination=NUMBER, hangup_after=0.4))
    assert heard(result) == ["leave"]
    assert await voicemail.listing(pool, shop.tenant_id) == []


async def test_a_call_keeps_its_version_while_another_is_published(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, long={"welcome": 1.5})

    def flow(second: str) -> dict[str, Any]:
        return {
            "entry": {"default": "a"},
            "nodes": {
                "a": {"kind": "play", "guidance": [shop.g("welcome")], "next": "b"},
                "b": {"kind": "play", "guidance": [shop.g(second)], "next": "end"},
                "end": {"kind": "hangup"},
            },
        }

    v1 = await shop.publish(flow("sales"))
    fs = await shop.start(start_daemon)
    first = asyncio.create_task(fs.place_call(CallerScript(destination=NUMBER)))
    await asyncio.sleep(0.7)  # inside "welcome" of version 1
    v2 = await shop.publish(flow("support"))
    await asyncio.sleep(0.2)  # the NOTIFY reaches the daemon
    second = await fs.place_call(CallerScript(destination=NUMBER))
    assert heard(await first) == ["welcome", "sales"]
    assert heard(second) == ["welcome", "support"]
    await ivr_flows.publish(pool, shop.tenant_id, v1)  # roll back
    await asyncio.sleep(0.2)
    third = await fs.place_call(CallerScript(destination=NUMBER))
    assert heard(third) == ["welcome", "sales"]
    listed = await ivr_flows.versions(pool, shop.tenant_id)
    assert [(v.version, v.live) for v in listed] == [(v1, True), (v2, False)]


async def test_cache_hit_needs_no_database(pool: asyncpg.Pool, db_dsn: str, tmp_path: Path) -> None:
    shop = await ivr_shop(pool, tmp_path)
    flow = Flow.model_validate({"entry": {"default": "x"}, "nodes": {"x": {"kind": "hangup"}}})
    saved = await ivr_flows.save(pool, shop.tenant_id, flow)
    await ivr_flows.publish(pool, shop.tenant_id, saved.version)
    own = await asyncpg.create_pool(db_dsn, min_size=1, max_size=2)
    assert own is not None
    hub = ListenHub()
    cache = FlowCache(hub)
    await hub.start(db_dsn)
    try:
        first = await cache.get(own, shop.tenant_id)
        assert first is not None and first.version == saved.version and cache.loads == 1
        for _ in range(100):
            assert await cache.get(own, shop.tenant_id) is first
        assert cache.loads == 1
        again = await ivr_flows.save(pool, shop.tenant_id, flow)
        await ivr_flows.publish(pool, shop.tenant_id, again.version)
        for _ in range(50):
            await asyncio.sleep(0.02)
            if shop.tenant_id not in cache._flows:
                break
        fresh = await cache.get(own, shop.tenant_id)
        assert fresh is not None and fresh.version == again.version and cache.loads == 2
        # a guidance path changing (re-processed audio) also drops the entry
        await pool.execute("UPDATE guidance SET path = path || '.new' WHERE id = $1", shop.g("welcome"))
        for _ in range(50):
            await asyncio.sleep(0.02)
            if shop.tenant_id not in cache._flows:
                break
        assert shop.tenant_id not in cache._flows
    finally:
        await hub.stop()
        await own.close()
