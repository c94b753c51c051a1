"""Run the daemon as a real child process (`python -m daemon run`), for crash tests and benchmarks."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_environment() -> dict[str, str]:
    """This process's environment without any ``CALLD_*`` variable (the developer's shell must not leak in)."""
    return {name: value for name, value in os.environ.items() if not name.startswith("CALLD_")}


def python_output(source: str) -> str:
    """What ``source`` prints, run by a fresh Python on this repository (a process-wide setting probed alone)."""
    done = subprocess.run(
        [sys.executable, "-c", source],
        cwd=REPO,
        env={**clean_environment(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


class DaemonProcess:
    """``env``: the daemon's ``CALLD_*`` settings (nothing else of ours is passed).

    ``stderr``: a file that receives the daemon's log lines (default: this process's stderr).
    """

    def __init__(self, env: dict[str, str], *, stderr: Path | None = None) -> None:
        self.esl_port = free_port()
        self.http_port = free_port()
        self.env = {
            **clean_environment(),
            "CALLD_LOG_LEVEL": "warning",
            **env,
            "CALLD_ESL_PORT": str(self.esl_port),
            "CALLD_HTTP_PORT": str(self.http_port),
        }
        self._log: IO[bytes] | None = stderr.open("ab") if stderr is not None else None
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, ready_within: float = 60.0) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "daemon",
            "run",
            cwd=REPO,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stderr=self._log,
        )
        loop = asyncio.get_running_loop()
        until = loop.time() + ready_within
        while loop.time() < until:
            if self.proc.returncode is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}")
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.http_port)
                writer.write(b"GET /status HTTP/1.0\r\n\r\n")
                status = await reader.read()
                writer.close()
                if b" 200 " in status.split(b"\r\n", 1)[0]:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.1)
        raise TimeoutError("daemon did not become ready")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, like a crash."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def crash(self) -> None:
        """SIGKILL, and wait until the process is gone."""
        self.kill()
        assert self.proc is not None
        await self.proc.wait()

    async def stop(self, within: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited ``within`` seconds."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), within)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._log is not None:
            self._log.close()


def stop_leftover_postgres(pgdata: Path) -> None:
    """Fast-shut-down an embedded PostgreSQL a killed daemon left running in ``pgdata`` (no-op if none)."""
    pidfile = pgdata / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
