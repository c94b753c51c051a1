"""The daemon's LISTEN hub against the real PostgreSQL.

Notifications reach the subscribers of their channel; when the server drops the
hub's connection (``pg_terminate_backend``) it reconnects by itself, and every
subscriber re-synchronises: the balance watcher re-reads a change whose
notification was lost, the IVR flow cache serves nothing stale.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg

from daemon.calls.balance_watcher import BalanceWatcher
from daemon.ivr.cache import CHANNEL as IVR_CHANNEL
from daemon.ivr.cache import FlowCache
from daemon.postgres.listen import ListenHub
from daemon.repositories import ivr_flows
from tests.factories import prepaid_caller, shop, talking

LISTEN_APP = "calld-listen"


class Heard:
    """A subscriber that writes down what it heard."""

    def __init__(self) -> None:
        self.payloads: list[str] = []
        self.resyncs = 0

    def notified(self, payload: str) -> None:
        self.payloads.append(payload)

    def resync(self) -> None:
        self.resyncs += 1


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def listen_backends(pool: asyncpg.Pool) -> list[int]:
    rows = await pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()", LISTEN_APP
    )
    return [r["pid"] for r in rows]


async def drop_listen_connection(pool: asyncpg.Pool) -> int:
    (pid,) = await listen_backends(pool)
    assert await pool.fetchval("SELECT pg_terminate_backend($1)", pid)
    return pid


async def test_each_channel_hears_its_own_notifications_on_one_connection(db_dsn: str, pool: asyncpg.Pool) -> None:
    hub, a, b = ListenHub(), Heard(), Heard()
    hub.subscribe("calld_test_a", a.notified, a.resync)
    hub.subscribe("calld_test_b", b.notified, b.resync)
    await hub.start(db_dsn)
    try:
        assert hub.listening and (a.resyncs, b.resyncs) == (1, 1)
        await pool.execute(
            "SELECT pg_notify('calld_test_a', '1'), pg_notify('calld_test_b', '2'), pg_notify('calld_test_a', '3')"
        )
        await until(lambda: len(a.payloads) == 2 and len(b.payloads) == 1)
        assert (a.payloads, b.payloads) == (["1", "3"], ["2"])
        assert len(await listen_backends(pool)) == 1
    finally:
        await hub.stop()
    assert not hub.listening
    for _ in range(100):
        if not await listen_backends(pool):
            break
        await asyncio.sleep(0.02)
    assert await listen_backends(pool) == []


async def test_reconnects_after_the_server_drops_the_connection(db_dsn: str, pool: asyncpg.Pool) -> None:
    hub, heard = ListenHub(), Heard()
    hub.subscribe("calld_test_a", heard.notified, heard.resync)
    await hub.start(db_dsn)
    try:
        old = await drop_listen_connection(pool)
        await until(lambda: heard.resyncs == 2)
        assert hub.listening and hub.connections == 2
        assert (await listen_backends(pool)) not in ([], [old])
        await pool.execute("SELECT pg_notify('calld_test_a', 'after')")
        await until(lambda: heard.payloads == ["after"])
    finally:
        await hub.stop()


class Cutoff:
    def __init__(self) -> None:
        self.deadline_us: int | None = None

    def update(self, deadline_us: int | None) -> None:
        self.deadline_us = deadline_us


async def test_the_balance_watcher_rereads_what_it_could_not_hear(db_dsn: str, pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller_id = await prepaid_caller(pool, s.tenant_id, yen=600)
    call = await talking(pool, s.tenant_id, caller_id, 60, time.time_ns() // 1000, node_id="here")
    hub = ListenHub()
    watcher = BalanceWatcher(hub)
    await hub.start(db_dsn)
    await watcher.start(pool)
    try:
        cutoff = Cutoff()
        watcher.register(caller_id, call, cutoff)
        first = await watcher.recompute(caller_id)
        assert first is not None and cutoff.deadline_us == first
        # A change whose NOTIFY nobody heard (as if sent while the connection was down) ...
        await pool.execute("UPDATE callers SET balance_yen = balance_yen + 600 WHERE id = $1", caller_id)
        await asyncio.sleep(0.1)
        assert cutoff.deadline_us == first
        # ... is picked up once the hub listens again.
        await drop_listen_connection(pool)
        await until(lambda: cutoff.deadline_us != first)
        assert cutoff.deadline_us == first + 600_000_000  # 600 yen at 60 yen a minute: ten more minutes
    finally:
        await watcher.stop()
        await hub.stop()


async def test_the_flow_cache_serves_nothing_stale_across_a_reconnect(db_dsn: str, pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    hub = ListenHub()
    cache = FlowCache(hub)
    heard = Heard()
    hub.subscribe(IVR_CHANNEL, heard.notified, heard.resync)
    await hub.start(db_dsn)
    try:
        assert await cache.get(pool, s.tenant_id) is None and cache.loads == 1
        assert await cache.get(pool, s.tenant_id) is None and cache.loads == 1  # a hit
        await pool.execute("SELECT pg_notify($1, $2)", IVR_CHANNEL, str(s.tenant_id))
        await until(lambda: heard.payloads == [str(s.tenant_id)])
        assert await cache.get(pool, s.tenant_id) is None and cache.loads == 2  # dropped by the NOTIFY
        await drop_listen_connection(pool)
        await until(lambda: heard.resyncs == 2)
        assert await cache.get(pool, s.tenant_id) is None and cache.loads == 3  # dropped by the resync
        assert await ivr_flows.live(pool, s.tenant_id) is None
    finally:
        await hub.stop()
