"""The connection pool.

Connections carry no session state of ours (no SET, no prepared names we rely
on, listeners are removed explicitly), so a connection returned to the pool is
not reset: asyncpg's default reset costs a round trip on every release, i.e.
on every query made through ``pool.fetch…``.

A few connections on top of ``size`` are kept for urgent work, the calls' lines taken
and given back (:class:`ReservingPool`, :func:`urgent`).  Measured under load
(the 3-minute soak, ``benchmarks.cutoff_load``; RELIABILITY.md, issue 16 item
5): the daemon's whole pool was checked out most of the time and hundreds of
tasks queued for a connection, while the database itself sat idle: its
backends waited for the daemon (``ClientRead``, ``idle in transaction``), no
lock was waited for.  A multi-statement transaction holds its connection for
one event-loop turn per statement, and a late loop makes every turn long.
asyncpg hands connections out first come, first served, so a line admission
or release (one batched statement) queued behind every call flow's lookup and
timed out (fail closed) though the database could have answered it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from daemon.postgres.deadline import within
from daemon.postgres.errors import DB_ERRORS
from daemon.postgres.types import Conn

_urgent: contextvars.ContextVar[bool] = contextvars.ContextVar("calld_pool_urgent", default=False)


@contextlib.contextmanager
def urgent() -> Iterator[None]:
    """Connections acquired inside (this task, and tasks it starts) come from the reserve if need be."""
    token = _urgent.set(True)
    try:
        yield
    finally:
        _urgent.reset(token)


class ReservingPool(asyncpg.Pool):
    """asyncpg's pool with ``reserve`` of its ``max_size`` connections kept from ordinary work.

    Ordinary work may hold at most ``max_size - reserve`` connections; work started
    under :func:`urgent` skips that gate, so the reserve is always free for it.
    Urgent work must be short and bounded in number (the admitter's and the
    releaser's batches are), or it would take the reserve the next urgent
    statement needs.
    """

    def __init__(self, *args: Any, reserve: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ordinary = self.get_max_size() - reserve
        if ordinary < 1:
            raise ValueError(f"a pool of {self.get_max_size()} cannot keep {reserve} connections in reserve")
        self._ordinary = asyncio.Semaphore(ordinary)
        # Per acquisition (a proxy is made for each), not per connection: a released connection can be
        # handed to an ordinary waiter before ``release`` below has given its share back.
        self._gated: set[PoolConnectionProxy[Any]] = set()

    async def _acquire(self, timeout: float | None) -> PoolConnectionProxy[Any]:  # noqa: ASYNC109 (asyncpg's)
        """Every acquisition (``acquire()``, ``fetch``, ``execute`` …) comes through here."""
        if _urgent.get():
            proxy: PoolConnectionProxy[Any] = await super()._acquire(timeout)  # type: ignore[misc]
            return proxy
        if timeout is None:
            proxy = await self._gated_acquire()
        else:
            async with asyncio.timeout(timeout):
                proxy = await self._gated_acquire()
        return proxy

    async def _gated_acquire(self) -> PoolConnectionProxy[Any]:
        await self._ordinary.acquire()
        try:
            proxy: PoolConnectionProxy[Any] = await super()._acquire(None)  # type: ignore[misc]
        except BaseException:
            self._ordinary.release()
            raise
        self._gated.add(proxy)
        return proxy

    async def release(self, connection: PoolConnectionProxy[Any], *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        try:
            await super().release(connection, timeout=timeout)
        finally:
            if connection in self._gated:
                self._gated.discard(connection)
                self._ordinary.release()


async def _keep(conn: Conn) -> None:
    """No reset between uses (see the module docstring)."""


def reserve_of(size: int) -> int:
    """Connections kept for urgent work on top of a pool of ``size`` for ordinary work.

    On top, not carved out: carving a quarter out of the call flows' share made their settlements and
    counsellor releases time out more under the same load (BENCHMARKS.md, the pool reserve).  At least
    four: the releaser's two batches and two admission batches.
    """
    return max(4, size // 4)


async def create_pool(dsn: str, *, size: int) -> asyncpg.Pool:
    pool = ReservingPool(
        dsn,
        reserve=reserve_of(size),
        min_size=min(2, size),
        max_size=size + reserve_of(size),
        max_queries=50000,  # asyncpg.create_pool's defaults, which this constructor does not fill in
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        server_settings={"application_name": "calld"},
        command_timeout=10,
        reset=_keep,
    )
    return await pool


REACHABLE_TIMEOUT = 1.0


async def reachable(pool: asyncpg.Pool) -> bool:
    """Does the database answer a trivial query within ``REACHABLE_TIMEOUT`` seconds?"""
    try:
        await within(REACHABLE_TIMEOUT, pool.fetchval("SELECT 1"))
    except DB_ERRORS:
        return False
    return True


def unusable_database(exc: BaseException, dsn: str) -> str | None:
    """Why a first connection to ``dsn`` failed, as the end of a sentence naming the setting (None: not ours to say).

    At start a database that cannot be reached or refuses us is a setting to fix:
    the daemon stops with this line (exit 2) rather than retrying for ever; an
    outage later is retried (the pool, the settlement journal).  The password
    never appears in the line.
    """
    text = str(exc) or type(exc).__name__
    try:
        password = urlsplit(dsn).password
    except ValueError:
        password = None
    if password:
        text = text.replace(password, "***")
    if isinstance(exc, (asyncpg.exceptions.ClientConfigurationError, ValueError)):
        return f"is not a usable PostgreSQL URL ({text}): postgresql://user:password@host:port/database"
    if isinstance(exc, asyncpg.exceptions.InvalidAuthorizationSpecificationError):
        return f"was refused by the database ({text}): check the user and password"
    if isinstance(exc, asyncpg.exceptions.InvalidCatalogNameError):
        return f"names a database that does not exist ({text})"
    if isinstance(exc, (OSError, TimeoutError)):
        return f"cannot be reached ({text}): check the host and port, and that PostgreSQL runs"
    if isinstance(exc, DB_ERRORS):
        return f"cannot be used ({text})"
    return None
