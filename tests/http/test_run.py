"""``python -m daemon`` as a real process: its help, its configuration errors, its JSON stderr."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from daemon.config import ConfigurationError, load_settings, unknown_variables
from tests.conftest import REPO, make_settings
from tests.daemon_process import DaemonProcess, clean_environment, stop_leftover_postgres
from tests.http.test_auth import SECRET, raw_request


def daemon_command(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        cwd=REPO,
        env={**clean_environment(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line parsed as one JSON object (fails on any plain-text line)."""
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a stderr line is not JSON: {line!r}")
        assert isinstance(lines[-1], dict) and "event" in lines[-1] and "level" in lines[-1], line
    return lines


def test_help_lists_run_and_run_help_starts_nothing() -> None:
    top = daemon_command("--help")
    assert top.returncode == 0
    for command in ("run", "tenant", "lines", "number", "token", "status"):
        assert f"    {command} " in top.stdout, command
    # Would start a daemon (and block on port 8084) if --help were not parsed: the timeout catches that.
    run = daemon_command("run", "--help", env={"CALLD_ESL_PORT": "1", "CALLD_HTTP_PORT": "1"}, timeout=20)
    assert run.returncode == 0
    assert run.stdout.startswith("usage: python -m daemon run") and "CALLD_HTTP_PORT" in run.stdout


def test_configuration_mistakes_are_one_line_each_and_exit_2() -> None:
    done = daemon_command(
        "run",
        env={
            "CALLD_ADMIN_TOKEN": "CHANGE_ME",
            "CALLD_FS_ESL_PASSWORD": "ClueCon",
            "CALLD_HTTP_PORT": "abc",
            "CALLD_ESL_PORT": "70000",
            "CALLD_LOG_LEVEL": "loud",
            "CALLD_DEMO": "perhaps",
        },
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert sorted(done.stderr.splitlines()) == [
        "error: CALLD_ADMIN_TOKEN is still the placeholder CHANGE_ME: set a secret of your own",
        "error: CALLD_DEMO must be true or false (got 'perhaps')",
        "error: CALLD_ESL_PORT must be less than or equal to 65535 (got '70000')",
        "error: CALLD_FS_ESL_PASSWORD is still the placeholder ClueCon: set a secret of your own",
        "error: CALLD_HTTP_PORT must be a whole number (got 'abc')",
        "error: CALLD_LOG_LEVEL must be debug, info, warning or error (got 'loud')",
    ]


def test_the_admin_cli_refuses_the_same_way_and_never_echoes_a_secret() -> None:
    done = daemon_command("status", env={"CALLD_ADMIN_TOKEN": "short-secret"})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("error: CALLD_ADMIN_TOKEN has 12 characters; use at least 16")
    assert done.stderr.count("\n") == 1 and "short-secret" not in done.stderr


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("CALLD_DB_POOL_SIZE", "0", "CALLD_DB_POOL_SIZE must be greater than or equal to 1 (got '0')"),
        ("CALLD_DRAIN_SECONDS", "soon", "CALLD_DRAIN_SECONDS must be a number (got 'soon')"),
        ("CALLD_NODE_ID", "", "CALLD_NODE_ID must have at least 1 character (got '')"),
        ("CALLD_ADMIN_TOKEN", "x" * 15, "CALLD_ADMIN_TOKEN has 15 characters; use at least 16"),
        ("CALLD_METRICS_TOKEN", "x" * 8, "CALLD_METRICS_TOKEN has 8 characters; use at least 16"),
        ("CALLD_METRICS_TOKEN", "CHANGE_ME", "CALLD_METRICS_TOKEN is still the placeholder"),
    ],
)
def test_each_problem_names_its_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    [line] = refused.value.problems
    assert line.startswith(problem), line


def test_a_long_admin_token_or_none_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().admin_token.get_secret_value() == ""
    monkeypatch.setenv("CALLD_ADMIN_TOKEN", "x" * 16)
    assert load_settings().admin_token.get_secret_value() == "x" * 16


def test_the_shell_environment_does_not_reach_test_settings(prompts_dir: Path) -> None:
    os.environ["CALLD_DEMO"] = "true"
    os.environ["CALLD_HTTP_PORT"] = "abc"
    try:
        settings = make_settings("postgresql://nobody@127.0.0.1:1/none", prompts_dir)
        process = DaemonProcess({"CALLD_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    finally:
        del os.environ["CALLD_DEMO"], os.environ["CALLD_HTTP_PORT"]
    assert settings.demo is False and settings.http_port == 0
    assert "CALLD_DEMO" not in process.env and process.env["CALLD_HTTP_PORT"] != "abc"


def test_no_calld_variable_is_visible_to_the_tests() -> None:
    assert [name for name in os.environ if name.startswith("CALLD_")] == []


async def test_every_stderr_line_of_a_running_daemon_is_json(
    tmp_path: Path, prompts_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Embedded PostgreSQL, a refused request, the stop: every line JSON (warnings: the test below)."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    log = tmp_path / "stderr.log"
    daemon = DaemonProcess(
        {
            "CALLD_DATA_DIR": str(tmp_path / "data"),
            "CALLD_PROMPTS_DIR": str(prompts_dir),
            "CALLD_GENERATE_PROMPTS": "false",
            "CALLD_LOG_LEVEL": "info",
            "CALLD_ADMIN_TOKEN": "a-long-enough-admin-token",
            "CALLD_EMBEDDED_PG_PORT": "0",  # 5433 may be another daemon's on a shared machine
        },
        stderr=log,
    )
    await daemon.start(ready_within=120)
    try:
        status, _ = await raw_request(
            daemon.http_port,
            b"GET /api/v1/tenants HTTP/1.1\r\nHost: calld\r\nAuthorization: Bearer " + SECRET.encode() + b"\r\r\n\r\n",
        )
        assert status.split(b" ")[1] == b"401"
    finally:
        await daemon.stop(within=60)  # stopping the embedded PostgreSQL can be slow on a busy machine
        stop_leftover_postgres(tmp_path / "data" / "pgdata")
    text = log.read_text(encoding="utf-8")
    lines = json_lines(text)
    events = [line["event"] for line in lines]
    assert {"embedded_postgres_ready", "daemon_started", "http_unparsable_request", "daemon_stopping"} <= set(events)
    assert SECRET not in text


def test_tracebacks_are_a_json_field() -> None:
    script = (
        "import logging, threading, warnings\n"
        "from daemon.logs import configure\n"
        "configure('info')\n"
        "warnings.warn('careful')\n"
        "try:\n"
        "    1 / 0\n"
        "except ZeroDivisionError:\n"
        "    logging.getLogger('some.library').exception('it broke')\n"
        "t = threading.Thread(target=lambda: {}['missing'], name='worker')\n"
        "t.start(); t.join()\n"
        "raise RuntimeError('the end')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    lines = json_lines(done.stderr)
    assert [(line["event"], line["level"]) for line in lines] == [
        ("python_warning", "warning"),
        ("it broke", "error"),
        ("uncaught_exception_in_thread", "critical"),
        ("uncaught_exception", "critical"),
    ]
    assert lines[1]["logger"] == "some.library" and "ZeroDivisionError" in lines[1]["exception"]
    assert lines[2]["thread"] == "worker" and "KeyError: 'missing'" in lines[2]["exception"]
    assert "Traceback" in lines[3]["exception"] and "RuntimeError: the end" in lines[3]["exception"]


async def test_a_busy_port_names_the_setting(tmp_path: Path, prompts_dir: Path, db_dsn: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = await asyncio.to_thread(
            daemon_command,
            "run",
            env={
                "CALLD_DATABASE_URL": db_dsn,
                "CALLD_PROMPTS_DIR": str(prompts_dir),
                "CALLD_GENERATE_PROMPTS": "false",
                "CALLD_ESL_PORT": "0",
                "CALLD_HTTP_PORT": str(port),
            },
        )
    assert done.returncode == 2
    [line] = [line for line in json_lines(done.stderr) if line["event"] == "startup_failed"]
    assert line["error"] == f"HTTP port 127.0.0.1:{port} is already in use: set CALLD_HTTP_PORT to a free port"


def test_a_mistyped_variable_is_pointed_out() -> None:
    environ = {"CALLD_HTTP_PROT": "8081", "CALLD_DEMO": "true", "CALLD_OPERATOR_TOKEN": "ctk_x", "HOME": "/root"}
    assert unknown_variables(environ) == ["CALLD_HTTP_PROT is not a setting (did you mean CALLD_HTTP_PORT?); ignored"]
    done = daemon_command("status", env={"CALLD_DEMOO": "1", "CALLD_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"})
    assert done.stderr.splitlines()[0] == "warning: CALLD_DEMOO is not a setting (did you mean CALLD_DEMO?); ignored"
