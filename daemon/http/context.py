"""What handlers reach through ``request.app``: typed keys, each one thing, and their accessors.

``build_app`` fills them from the parts it is given (never the whole daemon, so
nothing here imports the daemon and the web code stays testable on its own).
Handlers take what they need: ``pool_of`` (503 while the database is down),
``settings_of``, ``metrics_of``, ``node_of`` (this process: version, start
time, ESL sessions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from daemon.config import Settings
from daemon.http.errors import ApiError
from daemon.metrics import Metrics


@dataclass(frozen=True)
class NodeInfo:
    """This daemon process, as /status reports it."""

    version: str
    started_at: float  # time.time()
    esl_sessions: Callable[[], int]


SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)
NODE: web.AppKey[NodeInfo] = web.AppKey("node", NodeInfo)
# A getter, not the pool: the pool comes (and may be swapped) after the app is built.
POOL: web.AppKey[Callable[[], asyncpg.Pool | None]] = web.AppKey("pool")


def settings_of(request: web.Request) -> Settings:
    return request.app[SETTINGS]


def metrics_of(request: web.Request) -> Metrics:
    return request.app[METRICS]


def node_of(request: web.Request) -> NodeInfo:
    return request.app[NODE]


def pool_or_none(request: web.Request) -> asyncpg.Pool | None:
    """The pool, or None while the database has not come up."""
    return request.app[POOL]()


def pool_of(request: web.Request) -> asyncpg.Pool:
    """The daemon's pool; 503 while the database has not come up."""
    pool = pool_or_none(request)
    if pool is None:
        raise ApiError(503, "the database is unavailable; try again shortly")
    return pool
