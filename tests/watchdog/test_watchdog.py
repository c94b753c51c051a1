"""The watchdog pings systemd while the loop serves, and stops when the loop is blocked."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.watchdog import Notifier
from tests.daemon_process import DaemonProcess


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    yield sock, path
    sock.close()


def drain(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_without_systemd_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled and notifier.watchdog_seconds is None
    assert notifier.send("READY=1") is False


def test_ready_and_stopping_reach_the_socket(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": path})
    notifier.ready()
    notifier.stopping()
    messages = drain(sock)
    assert messages[0].startswith("READY=1\n") and messages[1].startswith("STOPPING=1\n")


def test_watchdog_for_another_pid_is_ignored(notify_socket: tuple[socket.socket, str]) -> None:
    _, path = notify_socket
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier(env).watchdog_seconds is None


async def test_pings_while_healthy_and_stop_when_the_loop_is_blocked(
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, path = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": str(os.getpid())})
    task = asyncio.get_running_loop().create_task(notifier.run(lambda: True))
    try:
        await asyncio.sleep(0.1)
        assert drain(sock) == []  # nothing before READY
        notifier.ready()
        await asyncio.sleep(0.3)
        assert drain(sock).count("WATCHDOG=1") >= 3  # every 50 ms
        time.sleep(0.4)  # noqa: ASYNC251  (on purpose: the event loop is blocked, no task runs)
        assert drain(sock) == []
        await asyncio.sleep(0.2)  # the loop runs again: pings resume
        assert "WATCHDOG=1" in drain(sock)
    finally:
        task.cancel()


async def test_an_unhealthy_daemon_is_not_pinged(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    task = asyncio.get_running_loop().create_task(notifier.run(lambda: False))
    notifier.ready()
    drain(sock)
    try:
        await asyncio.sleep(0.25)
        assert drain(sock) == []
    finally:
        task.cancel()


async def test_a_running_daemon_reports_to_systemd_and_goes_silent_when_frozen(
    notify_socket: tuple[socket.socket, str], db_dsn: str, prompts_dir: Path
) -> None:
    sock, path = notify_socket
    daemon = DaemonProcess(
        {
            "CALLD_DATABASE_URL": db_dsn,
            "CALLD_PROMPTS_DIR": str(prompts_dir),
            "CALLD_GENERATE_PROMPTS": "false",
            "NOTIFY_SOCKET": path,
            "WATCHDOG_USEC": "200000",
        }
    )
    await daemon.start()
    assert daemon.proc is not None
    try:
        await asyncio.sleep(0.6)
        first = drain(sock)
        assert first[0].startswith("READY=1") and first.count("WATCHDOG=1") >= 3
        daemon.proc.send_signal(signal.SIGSTOP)  # the event loop runs no more: what a hung daemon looks like
        await asyncio.sleep(0.3)
        drain(sock)  # a ping already in flight
        await asyncio.sleep(0.6)
        assert drain(sock) == []
        daemon.proc.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.5)
        assert "WATCHDOG=1" in drain(sock)
    finally:
        await daemon.stop()
    assert any(m.startswith("STOPPING=1") for m in drain(sock))
