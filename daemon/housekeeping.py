"""Housekeeping, every ``CALLD_HEARTBEAT_SECONDS``: what keeps a node's shared state true.

* heartbeat this node (other nodes free our lines if it stops);
* free the lines of nodes silent for ``CALLD_NODE_TIMEOUT_SECONDS``;
* free this node's orphaned lines (a release lost to a database outage);
* put back the CDRs our FreeSWITCH spooled while the database was away (daemon.recovery.cdr_spool);
* finish the calls of dead nodes from their FreeSWITCH's CDRs (daemon.recovery);
* delete expired web-console sessions, and log-in waits long forgotten.

A database error skips one round (logged) and the next round tries again; any
other exception is a bug and ends the task (the daemon then stops, see app.py).
"""

from __future__ import annotations

import asyncio

from daemon.calls.services import Services
from daemon.config import Settings
from daemon.logs import get_logger
from daemon.metrics import Metrics
from daemon.postgres.errors import DB_ERRORS
from daemon.recovery.cdr_spool import SpoolReader
from daemon.recovery.reconcile import adopt_dead_nodes
from daemon.repositories import console_sessions, login_throttle, nodes
from daemon.rules.login_backoff import QUIET_S

_log = get_logger(__name__)


async def tick(settings: Settings, services: Services, metrics: Metrics, spool: SpoolReader | None = None) -> None:
    """One round; raises the database's errors."""
    pool = services.pool
    if pool is None:
        return
    s = settings
    await nodes.heartbeat(pool, s.node_id)
    freed = await nodes.reap_dead(pool, s.node_timeout_seconds)
    freed += await nodes.free_orphans(
        pool,
        s.node_id,
        list(services.live_calls),
        grace_seconds=max(10.0, 2 * s.db_timeout_seconds),
    )
    if freed:
        metrics.lines_reaped.inc(freed)
        _log.warning("lines_reaped", count=freed)
    if spool is not None:
        await spool.replay(pool)
    adopted = await adopt_dead_nodes(pool, s.node_id, s.node_timeout_seconds)
    if adopted.closed_unanswered or adopted.finished_from_cdr:
        _log.warning("dead_node_calls_finished", **vars(adopted))
    await console_sessions.purge_expired(pool)
    await login_throttle.purge(pool, QUIET_S)


async def run(settings: Settings, services: Services, metrics: Metrics, spool: SpoolReader | None = None) -> None:
    """Forever: one round every heartbeat interval."""
    while True:
        await asyncio.sleep(settings.heartbeat_seconds)
        try:
            await tick(settings, services, metrics, spool)
        except DB_ERRORS as exc:
            _log.error("housekeeping_db_error", error=repr(exc))
