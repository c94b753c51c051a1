"""Backup and restore on the embedded PostgreSQL: what was booked comes back, whole or not at all."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest

from daemon import cli
from daemon.postgres import backup
from daemon.repositories import ledger, nodes
from tests import factories
from tests.conftest import new_database, with_database

# What must survive a restore row for row (money first).
TABLES = ("tenants", "numbers", "callers", "ledger", "schema_migrations")


async def empty_database(pg_server: str) -> str:
    return await new_database(pg_server, "restore")


async def snapshot(dsn: str) -> dict[str, list[tuple[object, ...]]]:
    conn = await asyncpg.connect(dsn)
    try:
        return {t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY 1")] for t in TABLES}
    finally:
        await conn.close()


async def money(pool: asyncpg.Pool) -> tuple[int, int]:
    shop = await factories.shop(pool)
    caller = await factories.prepaid_caller(pool, shop.tenant_id, yen=3000)
    await ledger.post(pool, shop.tenant_id, caller, "deposit", 1234, memo="振込 12/06")
    return shop.tenant_id, caller


async def test_a_backup_restored_into_an_empty_database_holds_every_row_and_keeps_working(
    pool: asyncpg.Pool, db_dsn: str, pg_server: str, tmp_path: Path
) -> None:
    tenant_id, caller = await money(pool)
    file = tmp_path / "calld.dump"

    size = await backup.dump(db_dsn, file)
    assert size == file.stat().st_size > 0
    assert os.listdir(tmp_path) == ["calld.dump"]  # nothing partial left beside it

    target = await empty_database(pg_server)
    done = await backup.restore(target, file, replace=False, live_within_seconds=30)
    assert done.migrations_applied == []  # same release: nothing left to migrate
    assert await snapshot(target) == await snapshot(db_dsn)

    # The restored database takes new money: sequences came back past the restored ids.
    restored = await asyncpg.create_pool(target, min_size=1, max_size=2)
    assert restored is not None
    try:
        await ledger.post(restored, tenant_id, caller, "deposit", 100, memo="after the restore")
        assert await restored.fetchval("SELECT balance_yen FROM callers WHERE id = $1", caller) == 3000 + 1234 + 100
    finally:
        await restored.close()


async def test_a_database_with_tables_is_refused_unless_replaced(
    pool: asyncpg.Pool, db_dsn: str, pg_server: str, tmp_path: Path
) -> None:
    await money(pool)
    file = tmp_path / "calld.dump"
    await backup.dump(db_dsn, file)

    other = await empty_database(pg_server)
    conn = await asyncpg.connect(other)
    try:
        await conn.execute("CREATE TABLE keep_me (id int)")
    finally:
        await conn.close()
    with pytest.raises(backup.RestoreRefused, match="already holds 1 tables"):
        await backup.restore(other, file, replace=False, live_within_seconds=30)
    conn = await asyncpg.connect(other)
    try:
        assert await conn.fetchval("SELECT to_regclass('public.keep_me') IS NOT NULL")
    finally:
        await conn.close()

    await backup.restore(other, file, replace=True, live_within_seconds=30)
    assert await snapshot(other) == await snapshot(db_dsn)


async def test_a_restore_over_a_live_daemon_is_refused_and_changes_nothing(
    pool: asyncpg.Pool, db_dsn: str, tmp_path: Path
) -> None:
    await money(pool)
    file = tmp_path / "calld.dump"
    await backup.dump(db_dsn, file)
    await nodes.heartbeat(pool, "fs1")
    before = await snapshot(db_dsn)

    with pytest.raises(backup.RestoreRefused, match="node fs1"):
        await backup.restore(db_dsn, file, replace=True, live_within_seconds=30)
    assert await snapshot(db_dsn) == before

    await pool.execute("UPDATE nodes SET heartbeat_at = now() - interval '1 hour'")
    await backup.restore(db_dsn, file, replace=True, live_within_seconds=30)
    assert await snapshot(db_dsn) == before


async def test_a_broken_backup_file_restores_nothing(pg_server: str, tmp_path: Path) -> None:
    file = tmp_path / "broken.dump"
    file.write_bytes(b"PGDMP not really")
    target = await empty_database(pg_server)
    with pytest.raises(backup.BackupFailed, match="pg_restore failed"):
        await backup.restore(target, file, replace=False, live_within_seconds=30)
    conn = await asyncpg.connect(target)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    finally:
        await conn.close()


async def test_a_failed_backup_leaves_no_file(db_dsn: str, tmp_path: Path) -> None:
    unreachable = with_database(db_dsn, "no_such_database")
    file = tmp_path / "calld.dump"
    with pytest.raises(backup.BackupFailed, match="pg_dump failed"):
        await backup.dump(unreachable, file)
    assert not file.exists()


def test_the_password_never_reaches_the_command_line() -> None:
    bare, env = backup.without_password("postgresql://calld:s%40cret@db1:5432/calld?sslmode=require")
    assert bare == "postgresql://calld@db1:5432/calld?sslmode=require"
    assert env == {"PGPASSWORD": "s@cret"}
    assert backup.without_password("postgresql://postgres@/postgres?host=/run/x") == (
        "postgresql://postgres@/postgres?host=/run/x",
        {},
    )


async def test_backup_and_restore_from_the_command_line(
    pool: asyncpg.Pool,
    db_dsn: str,
    pg_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await money(pool)
    file = tmp_path / "nightly.dump"
    monkeypatch.setenv("CALLD_DATABASE_URL", db_dsn)
    assert await asyncio.to_thread(cli.main, ["backup", str(file)]) == 0
    assert "backup written" in capsys.readouterr().out

    target = await empty_database(pg_server)
    monkeypatch.setenv("CALLD_DATABASE_URL", target)
    assert await asyncio.to_thread(cli.main, ["restore", str(file)]) == 0
    assert "restored" in capsys.readouterr().out
    assert await snapshot(target) == await snapshot(db_dsn)

    assert await asyncio.to_thread(cli.main, ["restore", str(file)]) == 1  # now it holds tables
    assert "pass --replace" in capsys.readouterr().err
