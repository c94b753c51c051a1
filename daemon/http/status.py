"""Monitoring: ``GET /status`` (JSON health and line usage) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

import time

from aiohttp import hdrs, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from daemon.db import tenants
from daemon.db.deadline import within
from daemon.db.errors import DB_ERRORS
from daemon.db.pool import reachable
from daemon.http.context import metrics_of, node_of, pool_or_none, settings_of
from daemon.http.models import Status, TenantStatus
from daemon.http.registry import RouteTable, json_response
from daemon.logs import get_logger

_log = get_logger(__name__)

routes = RouteTable()

# A monitor must get an answer even when the database hangs.
STATUS_DB_TIMEOUT = 2.0


@routes.route(
    "GET",
    "/status",
    summary="Health of this node, and every tenant's lines and live calls (503: database unreachable)",
    response=Status,
    also={503: Status},
)
async def status(request: web.Request) -> web.Response:
    node = node_of(request)
    pool = pool_or_none(request)
    up = pool is not None and await reachable(pool)
    overview: list[tenants.TenantLines] = []
    if up and pool is not None:
        try:
            overview = await within(STATUS_DB_TIMEOUT, tenants.lines_overview(pool))
        except DB_ERRORS as exc:
            _log.error("status_db_error", error=repr(exc))
            up = False
    body = Status(
        version=node.version,
        node=settings_of(request).node_id,
        uptime_seconds=round(max(0.0, time.time() - node.started_at), 3),
        db_reachable=up,
        esl_sessions=node.esl_sessions(),
        tenants=[
            TenantStatus(tenant_id=t.tenant_id, name=t.name, lines=t.lines, live_calls=t.live_calls) for t in overview
        ],
    )
    return json_response(body, 200 if up else 503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this daemon's registry."""
    body = generate_latest(metrics_of(request).registry)
    return web.Response(body=body, headers={hdrs.CONTENT_TYPE: CONTENT_TYPE_LATEST})
