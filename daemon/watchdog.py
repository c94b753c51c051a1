"""systemd's watchdog: tell systemd we are alive, only while we really serve.

Under ``Type=notify`` with ``WatchdogSec=``, systemd hands us ``NOTIFY_SOCKET``
and ``WATCHDOG_USEC``.  We send ``READY=1`` once the event socket and HTTP are up,
then ``WATCHDOG=1`` every half period from a task on the event loop, and only
while the health check passes (the outbound listener still accepts calls).  A
loop that is blocked (a stuck call, a runaway computation) runs no task, so the
pings stop and systemd restarts the daemon (``Restart=on-failure``): a daemon
that accepts connections but no longer serves them is not left running.

The protocol is one datagram per message on a Unix socket (``sd_notify(3)``);
the stdlib socket does it, no package needed.  Without ``NOTIFY_SOCKET`` (not run
by systemd: ``make run``, tests) every call here does nothing.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Mapping

from daemon.logs import get_logger

_log = get_logger(__name__)

HealthCheck = Callable[[], bool]


class Notifier:
    """Sends ``sd_notify`` messages to the socket systemd gave us (if any)."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        path = environ.get("NOTIFY_SOCKET", "")
        if path.startswith("@"):  # abstract namespace
            path = "\0" + path[1:]
        self._address = path or None
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        ours = not pid or pid == str(os.getpid())
        self.watchdog_seconds: float | None = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and ours else None
        self._ready = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, message: str) -> bool:
        if self._address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self._address)
                sock.sendall(message.encode())
        except OSError as exc:
            _log.warning("sd_notify_failed", error=repr(exc))
            return False
        return True

    def ready(self, status: str = "serving calls") -> None:
        self.send(f"READY=1\nSTATUS={status}")
        self._ready.set()

    def stopping(self) -> None:
        self.send("STOPPING=1\nSTATUS=draining calls")

    async def run(self, healthy: HealthCheck) -> None:
        """After :meth:`ready`, ping every half period while ``healthy()`` (no watchdog: returns at once)."""
        if self.watchdog_seconds is None or not self.enabled:
            return
        interval = self.watchdog_seconds / 2
        await self._ready.wait()
        while True:
            if healthy():
                self.send("WATCHDOG=1")
            else:
                _log.error("watchdog_unhealthy_not_pinging")
            await asyncio.sleep(interval)
