"""A fresh database migrated only up to a given migration, for tests of a later migration's upgrade."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from daemon.postgres.migrate import migrate, migration_files
from tests.conftest import new_database


@asynccontextmanager
async def schema_before(pg_server: str, tmp_path: Path, first_new: int) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a new database with the migrations numbered below ``first_new`` applied.

    ``migrate(conn)`` then applies the rest, as an upgraded daemon's start does.
    """
    earlier = tmp_path / f"sql-before-{first_new:03d}"
    earlier.mkdir()
    for path in migration_files():
        if int(path.name[:3]) < first_new:
            shutil.copy(path, earlier / path.name)
    conn = await asyncpg.connect(await new_database(pg_server, f"before_{first_new:03d}"))
    try:
        await migrate(conn, earlier)
        yield conn
    finally:
        await conn.close()
