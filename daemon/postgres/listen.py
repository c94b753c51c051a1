"""One LISTEN connection for the whole daemon, serving every NOTIFY channel.

Other nodes tell this one that something it watches or caches changed
(``calld_balance``: a caller's money picture; ``calld_ivr``: a tenant's live
flow) by NOTIFY from the changing transaction.  The hub owns one dedicated
connection, not one borrowed from the pool (a borrowed one would hold
``pool.close()`` up and count against the pool's size), and LISTENs there on
the channel of every subscriber.

A notification sent while nobody listens is lost.  asyncpg calls the
connection's termination listener the moment it sees the connection go (the
server terminated the backend, restarted, the socket broke), so the hub needs
no polling: from then ``listening`` is False (a cache must not serve what it
can no longer hear about), it reconnects with back-off, and once it listens
again it calls every subscriber's ``resync``: re-read whatever you hold,
something may have changed meanwhile.  ``resync`` also runs after the first
connection, so a subscriber needs no special start.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from daemon.logs import get_logger
from daemon.postgres.errors import DB_ERRORS

_log = get_logger(__name__)

CONNECT_TIMEOUT = 5.0
FIRST_RETRY = 0.2  # seconds; doubled after each failed attempt
LAST_RETRY = 10.0


@dataclass(frozen=True)
class _Subscriber:
    notified: Callable[[str], None]  # the payload, for each notification on the channel
    resync: Callable[[], None]  # listening (again) after a time nothing was heard


class ListenHub:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[_Subscriber]] = {}
        self._dsn = ""
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connections = 0  # connections made so far (the first and every reconnect)

    def subscribe(self, channel: str, notified: Callable[[str], None], resync: Callable[[], None]) -> None:
        """Hear ``channel``; subscribe before :meth:`start` (the LISTENs are made when connecting)."""
        if self._task is not None:
            raise RuntimeError("subscribe to the LISTEN hub before it starts")
        self._subscribers.setdefault(channel, []).append(_Subscriber(notified, resync))

    @property
    def listening(self) -> bool:
        """True while every channel is LISTENed on a live connection."""
        return self._conn is not None and not self._conn.is_closed()

    async def start(self, dsn: str) -> None:
        """Connect and LISTEN (the database's errors if that fails), then keep it so until :meth:`stop`."""
        if self._task is not None:
            return
        self._dsn = dsn
        await self._connect()
        self._task = asyncio.get_running_loop().create_task(self._keep(), name="listen-hub")
        self._task.add_done_callback(_report)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(*DB_ERRORS):
                await conn.close(timeout=2)

    async def _connect(self) -> None:
        conn: asyncpg.Connection = await asyncio.wait_for(
            asyncpg.connect(self._dsn, server_settings={"application_name": "calld-listen"}), CONNECT_TIMEOUT
        )
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            for channel in self._subscribers:
                await conn.add_listener(channel, self._dispatch)
        except BaseException:
            conn.terminate()
            raise
        self._conn, self._lost = conn, lost
        self.connections += 1
        for channel, subscribers in self._subscribers.items():
            for subscriber in subscribers:
                _guarded(channel, subscriber.resync)

    async def _keep(self) -> None:
        """Wait for the connection to go; reconnect with back-off; forever."""
        while True:
            await self._lost.wait()
            self._conn = None
            _log.warning("listen_connection_lost", channels=sorted(self._subscribers))
            delay = FIRST_RETRY
            while True:
                try:
                    await self._connect()
                    break
                except DB_ERRORS as exc:
                    _log.error("listen_reconnect_failed", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, LAST_RETRY)
            _log.warning("listen_reconnected", channels=sorted(self._subscribers))

    def _dispatch(self, conn: object, pid: int, channel: str, payload: object) -> None:
        for subscriber in self._subscribers.get(channel, ()):
            _guarded(channel, subscriber.notified, str(payload))


def _report(task: asyncio.Task[None]) -> None:
    """The keeper only ends by cancellation; anything else is a bug, said loudly."""
    if not task.cancelled() and task.exception() is not None:
        _log.error("listen_hub_failed", error=repr(task.exception()), exc_info=task.exception())


def _guarded(channel: str, callback: Callable[..., None], *args: str) -> None:
    """One subscriber's bug must not silence the others, nor stop the hub."""
    try:
        callback(*args)
    except Exception as exc:
        _log.error("listen_subscriber_failed", channel=channel, error=repr(exc), exc_info=exc)
