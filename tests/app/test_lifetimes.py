"""Resource lifetimes: a start that fails half way leaves nothing running; a stop undoes everything.

With the embedded PostgreSQL: its server, its 127.0.0.1 CDR listener, the HTTP
listener and the ESL listener are all checked from outside (a TCP connect, the
server's postmaster.pid) after the failure or the stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from daemon.app import Daemon, StartupError
from daemon.postgres.embedded import CDR_ROLE
from daemon.repositories import tenants
from tests.conftest import make_settings
from tests.daemon_process import REPO, free_port
from tests.db.test_embedded import alive


def accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def embedded_settings(tmp_path: Path, prompts: Path, **overrides: object) -> dict[str, object]:
    return {
        "data_dir": tmp_path / "data",
        "embedded_pg_port": free_port(),
        "esl_port": free_port(),
        "http_port": free_port(),
        **overrides,
    }


async def test_a_start_failing_half_way_leaves_nothing_running(
    tmp_path: Path, prompts_dir: Path, busy_port: int
) -> None:
    values = embedded_settings(tmp_path, prompts_dir, esl_port=busy_port)
    daemon = Daemon(make_settings("", prompts_dir, **values))
    with pytest.raises(StartupError, match=rf"ESL port 127\.0\.0\.1:{busy_port} is already in use.*CALLD_ESL_PORT"):
        await daemon.start()
    # The embedded server and HTTP were up before the ESL listener failed: both undone.
    assert daemon.embedded is not None and daemon.http_port == values["http_port"]
    assert not daemon.embedded.running()
    assert not (tmp_path / "data" / "pgdata" / "postmaster.pid").exists()
    assert not accepting(int(str(values["embedded_pg_port"])))
    assert not accepting(daemon.http_port)
    await daemon.stop()  # nothing left to undo


async def test_a_busy_http_port_names_its_variable(tmp_path: Path, prompts_dir: Path, busy_port: int) -> None:
    values = embedded_settings(tmp_path, prompts_dir, http_port=busy_port)
    daemon = Daemon(make_settings("", prompts_dir, **values))
    with pytest.raises(StartupError, match=rf"HTTP port 127\.0\.0\.1:{busy_port} .*CALLD_HTTP_PORT"):
        await daemon.start()
    assert daemon.embedded is not None and not daemon.embedded.running()
    assert not accepting(int(str(values["esl_port"])))


async def test_a_full_start_then_stop_with_the_embedded_database(tmp_path: Path, prompts_dir: Path) -> None:
    values = embedded_settings(tmp_path, prompts_dir)
    daemon = Daemon(make_settings("", prompts_dir, **values))
    await daemon.start()
    try:
        await asyncio.wait_for(daemon.db_ready.wait(), 60)
        assert accepting(daemon.esl_port) and accepting(daemon.http_port)
        assert daemon.embedded is not None and daemon.embedded.cdr_password is not None
        cdr = await asyncpg.connect(
            host="127.0.0.1",
            port=daemon.embedded.cdr_port,
            user=CDR_ROLE,
            password=daemon.embedded.cdr_password,
            database="postgres",
        )
        await cdr.close()
    finally:
        await daemon.stop()
    for port in (daemon.esl_port, daemon.http_port, daemon.embedded.cdr_port):
        assert port is not None and not accepting(port)
    assert not daemon.embedded.running()
    assert daemon.pool is None


async def _run_daemon(env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon",
        "run",
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "CALLD_LOG_LEVEL": "info", **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


def _base_env(db_dsn: str, prompts: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "CALLD_DATABASE_URL": db_dsn,
        "CALLD_DATA_DIR": str(tmp_path / "data"),
        "CALLD_PROMPTS_DIR": str(prompts),
        "CALLD_GENERATE_PROMPTS": "false",
        "CALLD_ESL_PORT": str(free_port()),
        "CALLD_HTTP_PORT": str(free_port()),
    }


@pytest.mark.slow
async def test_a_busy_port_exits_2_with_one_line_naming_the_variable(
    db_dsn: str, prompts_dir: Path, tmp_path: Path, busy_port: int
) -> None:
    env = _base_env(db_dsn, prompts_dir, tmp_path) | {"CALLD_ESL_PORT": str(busy_port)}
    code, err = await _run_daemon(env)
    assert code == 2
    named = [line for line in err.splitlines() if "CALLD_ESL_PORT" in line]
    assert len(named) == 1 and str(busy_port) in named[0]
    assert "Traceback" not in err


@pytest.mark.slow
async def test_a_failed_background_task_stops_the_daemon_non_zero(
    db_dsn: str, pool: asyncpg.Pool, prompts_dir: Path, tmp_path: Path
) -> None:
    """The demo's number belongs to another tenant: the database task fails, and the daemon says so and exits."""
    other = await tenants.create_tenant(pool, "acme", 1)
    await tenants.add_number(pool, other, "0312345678", "ivr")
    env = _base_env(db_dsn, prompts_dir, tmp_path) | {"CALLD_DEMO": "true"}
    code, err = await _run_daemon(env)
    assert code == 1
    failed = [json.loads(line) for line in err.splitlines() if "background_task_failed" in line]
    assert len(failed) == 1 and failed[0]["task"] == "database" and "0312345678" in failed[0]["error"]
    assert "Task exception was never retrieved" not in err
    assert await pool.fetchval("SELECT count(*) FROM tenants") == 1  # no half-built demo


@pytest.mark.slow
async def test_sigkill_then_restart_adopts_the_embedded_server_and_stops_it(prompts_dir: Path, tmp_path: Path) -> None:
    from tests.daemon_process import DaemonProcess

    pgdata = tmp_path / "data" / "pgdata"
    env = {
        "CALLD_DATABASE_URL": "",
        "CALLD_DATA_DIR": str(tmp_path / "data"),
        "CALLD_EMBEDDED_PG_PORT": str(free_port()),
        "CALLD_PROMPTS_DIR": str(prompts_dir),
        "CALLD_GENERATE_PROMPTS": "false",
        "CALLD_DEMO": "false",
    }
    first = DaemonProcess(env)
    await first.start()
    stale = int((pgdata / "postmaster.pid").read_text().split()[0])
    first.kill()
    assert first.proc is not None
    await first.proc.wait()
    assert alive(stale), "the killed daemon's PostgreSQL is still running"

    second = DaemonProcess(env)
    try:
        await second.start()
        assert int((pgdata / "postmaster.pid").read_text().split()[0]) == stale  # adopted, not restarted
        assert alive(stale)
    finally:
        await second.stop()
    assert second.proc is not None and second.proc.returncode == 0
    assert not (pgdata / "postmaster.pid").exists(), "a clean stop stops the embedded server"


async def test_a_busy_embedded_port_names_its_variable(tmp_path: Path, prompts_dir: Path, busy_port: int) -> None:
    values = embedded_settings(tmp_path, prompts_dir, embedded_pg_port=busy_port)
    daemon = Daemon(make_settings("", prompts_dir, **values))
    with pytest.raises(StartupError, match=rf"127\.0\.0\.1:{busy_port} is already in use.*CALLD_EMBEDDED_PG_PORT"):
        await daemon.start()
    assert not (tmp_path / "data" / "pgdata" / "postmaster.pid").exists()
    assert not accepting(int(str(values["http_port"]))) and not accepting(int(str(values["esl_port"])))


@pytest.mark.parametrize("after", [0.2, 1.0])
async def test_a_start_cancelled_part_way_leaves_nothing_running(
    tmp_path: Path, prompts_dir: Path, after: float
) -> None:
    """SIGTERM during the start cancels it (serve): whatever was up by then is undone."""
    values = embedded_settings(tmp_path, prompts_dir)
    daemon = Daemon(make_settings("", prompts_dir, **values))
    starting = asyncio.create_task(daemon.start())
    await asyncio.sleep(after)
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    await daemon.stop()
    pgdata = tmp_path / "data" / "pgdata"
    assert not (pgdata / "postmaster.pid").exists()
    for key in ("esl_port", "http_port", "embedded_pg_port"):
        assert not accepting(int(str(values[key]))), key


@pytest.mark.slow
async def test_sigterm_during_the_start_exits_cleanly_with_nothing_left(prompts_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        "CALLD_DATABASE_URL": "",
        "CALLD_DATA_DIR": str(data),
        "CALLD_EMBEDDED_PG_PORT": str(free_port()),
        "CALLD_PROMPTS_DIR": str(prompts_dir),
        "CALLD_GENERATE_PROMPTS": "false",
        "CALLD_ESL_PORT": str(free_port()),
        "CALLD_HTTP_PORT": str(free_port()),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon",
        "run",
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), **env},
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(600):  # the data dir appears once serve() handles signals and the start has begun
            if (data / "pgdata").exists():
                break
            await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert not (data / "pgdata" / "postmaster.pid").exists()
    assert not accepting(int(env["CALLD_EMBEDDED_PG_PORT"]))
