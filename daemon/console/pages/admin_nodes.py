"""``/console/admin/nodes``: every daemon node's heartbeat and live calls, and this process's version and uptime."""

from __future__ import annotations

import time

from aiohttp import web

from daemon.console.paths import PREFIX
from daemon.console.render import page
from daemon.console.viewer import ADMIN, require
from daemon.http.context import node_of, pool_of, settings_of
from daemon.repositories import nodes

routes = web.RouteTableDef()


@routes.get(f"{PREFIX}/admin/nodes")
async def node_list(request: web.Request) -> web.Response:
    require(request, ADMIN)
    settings = settings_of(request)
    me = node_of(request)
    context = {
        "nodes": await nodes.overview(pool_of(request)),
        "timeout": settings.node_timeout_seconds,
        "this_node": settings.node_id,
        "version": me.version,
        "uptime": int(time.time() - me.started_at),
        "esl_sessions": me.esl_sessions(),
    }
    return page(request, "admin_nodes.html", context)
