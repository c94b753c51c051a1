"""Monitoring: ``GET /status`` (open liveness of this node) and ``GET /metrics`` (Prometheus, with a token).

``/status`` is for load balancers and systemd-style probes that hold no
secret, so it tells nothing about any tenant: version, node, uptime, whether
the database answers, open event-socket sessions.  Lines and live calls per
tenant are in the admin API (``GET /api/v1/tenants``), revenue per tenant in
``/metrics`` (auth.py).
"""

from __future__ import annotations

import time

from aiohttp import hdrs, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from daemon.http.context import metrics_of, node_of, pool_or_none, settings_of
from daemon.http.models import Status
from daemon.http.registry import RouteTable, json_response
from daemon.postgres.pool import reachable

routes = RouteTable()


@routes.route(
    "GET",
    "/status",
    summary="Liveness of this node, no tenant detail (503: database unreachable)",
    response=Status,
    also={503: Status},
)
async def status(request: web.Request) -> web.Response:
    node = node_of(request)
    pool = pool_or_none(request)
    up = pool is not None and await reachable(pool)
    body = Status(
        version=node.version,
        node=settings_of(request).node_id,
        uptime_seconds=round(max(0.0, time.time() - node.started_at), 3),
        db_reachable=up,
        esl_sessions=node.esl_sessions(),
    )
    return json_response(body, 200 if up else 503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this daemon's registry."""
    body = generate_latest(metrics_of(request).registry)
    return web.Response(body=body, headers={hdrs.CONTENT_TYPE: CONTENT_TYPE_LATEST})
