"""A start that cannot work stops with one line and exit status 2 (issue 16, items 8 and 9).

* a bad ``CALLD_DATABASE_URL`` (nonsense, nothing listening, a role the server
  refuses) used to log ``daemon_started`` and then ``database_unreachable`` every
  10 s for ever;
* a second live process with the same ``CALLD_NODE_ID`` on one database used to
  start and take the first one's live calls for a crashed node's calls.
A process killed with SIGKILL does not keep its node id: ``test_crash_e2e`` restarts
on the same id at once, and the last test here does it without waiting.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.test_lifetimes import _run_daemon
from tests.conftest import DaemonFactory
from tests.daemon_process import DaemonProcess, free_port
from tests.stand_in_prompts import write_prompts

pytestmark = pytest.mark.slow


async def run_to_exit(env: dict[str, str]) -> tuple[int, list[dict[str, object]]]:
    """``python -m daemon run`` until it exits by itself (killed after 60 s: a failure here)."""
    ports = {"CALLD_ESL_PORT": str(free_port()), "CALLD_HTTP_PORT": str(free_port())}
    code, err = await _run_daemon({**ports, "CALLD_GENERATE_PROMPTS": "false", **env})
    return code, [json.loads(line) for line in err.splitlines()]


def quick(tmp_path: Path) -> dict[str, str]:
    """A daemon process that starts without generating its guidance."""
    prompts = write_prompts(tmp_path / "prompts")
    return {"CALLD_DATA_DIR": str(tmp_path), "CALLD_PROMPTS_DIR": str(prompts), "CALLD_GENERATE_PROMPTS": "false"}


def refusal(lines: list[dict[str, object]]) -> str:
    """The one error line of a refused start (and no sign of a start)."""
    events = [line["event"] for line in lines]
    assert "daemon_started" not in events and "database_unreachable" not in events, events
    errors = [line for line in lines if line["level"] in ("error", "critical")]
    assert [e["event"] for e in errors] == ["startup_failed"], errors
    return str(errors[0]["error"])


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense", "CALLD_DATABASE_URL is not a usable PostgreSQL URL"),
        ("postgresql://calld:s3cret-pw@127.0.0.1:1/calld", "CALLD_DATABASE_URL cannot be reached"),
        ("postgresql://calld:s3cret-pw@no-such-host.invalid/calld", "CALLD_DATABASE_URL cannot be reached"),
    ],
)
async def test_a_database_url_that_cannot_work_stops_the_start(url: str, says: str, tmp_path: Path) -> None:
    code, lines = await run_to_exit({"CALLD_DATABASE_URL": url, "CALLD_DATA_DIR": str(tmp_path)})
    line = refusal(lines)
    assert code == 2 and line.startswith(says), line
    assert "s3cret-pw" not in json.dumps(lines)


async def test_a_role_the_database_refuses_stops_the_start(db_dsn: str, tmp_path: Path) -> None:
    url = db_dsn.replace("postgresql://postgres@", "postgresql://nobody:s3cret-pw@")
    assert url != db_dsn
    code, lines = await run_to_exit({"CALLD_DATABASE_URL": url, "CALLD_DATA_DIR": str(tmp_path)})
    line = refusal(lines)
    assert code == 2 and line.startswith("CALLD_DATABASE_URL was refused by the database"), line
    assert '"nobody"' in line and "s3cret-pw" not in json.dumps(lines)


async def test_a_second_live_process_with_the_same_node_id_refuses_to_start(
    start_daemon: DaemonFactory, db_dsn: str, tmp_path: Path
) -> None:
    first = await start_daemon(node_id="node-a")
    code, lines = await run_to_exit(
        {"CALLD_DATABASE_URL": db_dsn, "CALLD_NODE_ID": "node-a", "CALLD_DATA_DIR": str(tmp_path)}
    )
    line = refusal(lines)
    assert code == 2 and line.startswith("CALLD_NODE_ID 'node-a' is in use by another live daemon"), line
    assert first.services.pool is not None and await first.db_reachable()  # the first one goes on
    other = DaemonProcess({**quick(tmp_path), "CALLD_DATABASE_URL": db_dsn, "CALLD_NODE_ID": "node-b"})
    try:
        await other.start()  # another id on the same database is fine
    finally:
        await other.stop()


async def test_the_node_id_of_a_killed_process_is_free_at_once(db_dsn: str, tmp_path: Path) -> None:
    env = {**quick(tmp_path), "CALLD_DATABASE_URL": db_dsn, "CALLD_NODE_ID": "phoenix"}
    first = DaemonProcess(env)
    await first.start()
    await first.crash()
    second = DaemonProcess(env)
    try:
        await second.start()
    finally:
        await second.stop()
