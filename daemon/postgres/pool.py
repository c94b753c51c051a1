"""The connection pool.

Connections carry no session state of ours (no SET, no prepared names we rely
on, listeners are removed explicitly), so a connection returned to the pool is
not reset: asyncpg's default reset costs a round trip on every release, i.e.
on every query made through ``pool.fetch…``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from daemon.postgres.deadline import within
from daemon.postgres.errors import DB_ERRORS
from daemon.postgres.types import Conn


async def _keep(conn: Conn) -> None:
    """No reset between uses (see the module docstring)."""


async def create_pool(dsn: str, *, size: int) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min(2, size),
        max_size=size,
        server_settings={"application_name": "calld"},
        command_timeout=10,
        reset=_keep,
    )
    assert pool is not None
    return pool


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
