"""The embedded PostgreSQL: one owner stops it, guests never do, a server left by a killed daemon is taken back."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import asyncpg

from daemon.postgres.embedded import EmbeddedPostgres

REPO = Path(__file__).resolve().parents[2]

_START_AND_HANG = """
import sys, time
from pathlib import Path
from daemon.postgres.embedded import EmbeddedPostgres
from daemon.logs import configure
configure("warning")
server = EmbeddedPostgres(Path(sys.argv[1]))
print(server.dsn, flush=True)
time.sleep(600)
"""


def _postmaster(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _answers(dsn: str) -> bool:
    async def ask() -> bool:
        conn = await asyncpg.connect(dsn)
        try:
            return bool(await conn.fetchval("SELECT true"))
        finally:
            await conn.close()

    return asyncio.run(ask())


def _left_by_a_killed_owner(pgdata: Path) -> tuple[int, str]:
    """Start a server from a child process, SIGKILL the child: the server's pid (still running) and DSN."""
    child = subprocess.Popen(
        [sys.executable, "-c", _START_AND_HANG, str(pgdata)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert child.stdout is not None
        dsn = child.stdout.readline().strip()
        assert dsn.startswith("postgresql://")
        stale = _postmaster(pgdata)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert alive(stale), "SIGKILL of the daemon leaves its PostgreSQL running"
    return stale, dsn


def test_a_healthy_server_left_by_a_killed_owner_is_adopted_not_restarted(tmp_path: Path) -> None:
    """Stopping it would lose what FreeSWITCH writes meanwhile (the CDRs of calls that end)."""
    pgdata = tmp_path / "pgdata"
    left, dsn = _left_by_a_killed_owner(pgdata)

    async def restart_beside_a_client() -> EmbeddedPostgres:
        client = await asyncpg.connect(dsn)  # FreeSWITCH's CDR writer, say
        try:
            server = await asyncio.to_thread(EmbeddedPostgres, pgdata)
            assert await client.fetchval("SELECT 1") == 1  # its session went on
        finally:
            await client.close()
        return server

    server = asyncio.run(restart_beside_a_client())
    try:
        assert server.owner
        assert _postmaster(pgdata) == left and alive(left)
        assert not (pgdata / ".handle_pids.json").exists()
        assert _answers(server.dsn)
    finally:
        server.stop()
    assert not alive(left) and not server.running()  # adopted: the new owner stops it


def test_a_server_left_with_other_options_is_stopped_and_started_again(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    stale, _ = _left_by_a_killed_owner(pgdata)  # no TCP listener
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = EmbeddedPostgres(pgdata, cdr_port=port)  # wants one
    try:
        assert server.owner
        fresh = _postmaster(pgdata)
        assert fresh != stale and not alive(stale)
        assert _answers(server.dsn)
    finally:
        server.stop()
    assert not alive(fresh) and not server.running()


def test_a_postmaster_pid_of_a_dead_process_is_ignored(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    EmbeddedPostgres(pgdata).stop()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (pgdata / "postmaster.pid").write_text(f"{dead.pid}\n{pgdata}\n0\n5432\n{pgdata}\n\n0 0\nready\n")
    server = EmbeddedPostgres(pgdata)
    try:
        assert _postmaster(pgdata) != dead.pid and _answers(server.dsn)
    finally:
        server.stop()


def test_a_guest_uses_the_owners_server_and_never_stops_it(tmp_path: Path) -> None:
    owner = EmbeddedPostgres(tmp_path / "pgdata")
    try:
        guest = EmbeddedPostgres(tmp_path / "pgdata")
        assert owner.owner and not guest.owner and guest.dsn == owner.dsn
        guest.stop()
        assert owner.running() and _answers(owner.dsn)
    finally:
        owner.stop()
    assert not owner.running()
