"""The balance listener survives the database dropping its connection."""

from __future__ import annotations

import asyncio

import asyncpg

from daemon.db.balance_listener import BalanceWatcher


async def test_listener_reopens_after_its_connection_is_killed(db_dsn: str) -> None:
    pool = await asyncpg.create_pool(db_dsn, min_size=1, max_size=3)
    assert pool is not None
    watcher = BalanceWatcher()
    try:
        await watcher.start(pool)
        pid = await pool.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()"
        )
        assert pid is not None
        await pool.execute("SELECT pg_terminate_backend($1)", pid)
        for _ in range(50):
            await asyncio.sleep(0.02)
            await watcher.ensure_listening()
            listening = await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> $1"
                " AND datname = current_database()",
                pid,
            )
            if listening:
                break
        assert listening == 1
    finally:
        await watcher.stop()
        await pool.close()
