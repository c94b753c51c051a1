"""Schema migrations: ``sql/NNN_name.sql`` applied in order, once each.

Several daemons may start at once against one database, so migrations run under
a PostgreSQL advisory lock; each file is applied in its own transaction together
with its row in ``schema_migrations``.
"""

from __future__ import annotations

from pathlib import Path

from daemon.postgres.types import Conn

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
_LOCK_KEY = 0x63616C6C64  # "calld"


def migration_files(directory: Path = SQL_DIR) -> list[Path]:
    files = sorted(directory.glob("[0-9][0-9][0-9]_*.sql"))
    if not files:
        raise FileNotFoundError(f"no migrations found in {directory}")
    return files


async def migrate(conn: Conn, directory: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for path in migration_files(directory):
            if path.stem in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", path.stem)
            applied_now.append(path.stem)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied_now
