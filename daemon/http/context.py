"""What handlers reach through ``request.app``: the daemon, and its pool when the database is up."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

from daemon.http.errors import ApiError

if TYPE_CHECKING:
    from daemon.app import Daemon

DAEMON: web.AppKey[Daemon] = web.AppKey("daemon")


def daemon_of(request: web.Request) -> Daemon:
    return request.app[DAEMON]


def pool_of(request: web.Request) -> asyncpg.Pool:
    """The daemon's pool; 503 while the database has not come up."""
    pool = request.app[DAEMON].pool
    if pool is None:
        raise ApiError(503, "the database is unavailable; try again shortly")
    return pool
