"""The daemon's aiohttp application.

    GET  /status                    health and line usage (public; 503 when the database is down)
    GET  /metrics                   Prometheus exposition (public)
    GET  /api/v1/openapi.json       this API's OpenAPI 3.1 document (public)
    *    /api/v1/...                admin API, bearer token (see admin.py)
    GET  /api/v1/audit              the audit log (audit_api.py; a tenant's own: /api/v1/operator/audit)
    *    /console/...               the operator web console, login sessions (daemon/console/)

Bind it to a private interface: ``/status`` and ``/metrics`` need no token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from daemon.console import app as console_app
from daemon.http import admin, audit_api, auth, coaching_api, guidance_api, invoice_api, ivr_api, openapi, status
from daemon.http.context import DAEMON, METRICS, NODE, POOL, SETTINGS, NodeInfo
from daemon.http.errors import error_middleware
from daemon.http.registry import install
from daemon.http.tenant_auth import is_operator_path, tenant_token_auth

if TYPE_CHECKING:
    from daemon.app import Daemon

OPENAPI_PATH = "/api/v1/openapi.json"
MAX_BODY = 64 * 1024

_OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi")


def build_app(daemon: Daemon) -> web.Application:
    """The application over this daemon; handlers reach its parts through the keys of context.py."""
    app = web.Application(
        middlewares=[
            error_middleware,
            auth.bearer_auth(daemon.admin_token),
            tenant_token_auth,
            *console_app.MIDDLEWARES,
        ],
        client_max_size=MAX_BODY,
    )
    app[DAEMON] = daemon
    app[SETTINGS] = daemon.settings
    app[METRICS] = daemon.metrics
    app[NODE] = NodeInfo(daemon.version, daemon.started_at, lambda: len(daemon.outbound.sessions))
    app[POOL] = lambda: daemon.pool
    operations = install(
        app,
        status.routes,
        admin.routes,
        audit_api.admin_routes,
        audit_api.operator_routes,
        coaching_api.admin_routes,
        coaching_api.operator_routes,
        guidance_api.operator_routes,
        invoice_api.routes,
        ivr_api.admin_routes,
        ivr_api.operator_routes,
    )
    app[_OPENAPI] = openapi.document(
        operations,
        title="calld admin and operator API",
        version=daemon.version,
        secured=lambda path: auth.requires_auth(path) or is_operator_path(path),
    )
    console_app.install(app)
    app.router.add_get("/metrics", status.metrics, name="metrics")
    app.router.add_get(OPENAPI_PATH, _openapi, name="openapi")
    return app


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[_OPENAPI])
