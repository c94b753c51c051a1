"""The daemon's aiohttp application.

    GET  /status                    liveness of this node (public, no tenant in it; 503 when the database is down)
    GET  /metrics                   Prometheus exposition (bearer: CALLD_METRICS_TOKEN or the admin token)
    GET  /api/v1/openapi.json       this API's OpenAPI 3.1 document (public)
    *    /api/v1/...                admin API, bearer token (see admin.py)
    GET  /api/v1/audit              the audit log (audit_api.py; a tenant's own: /api/v1/operator/audit)
    *    /console/...               the operator web console, login sessions (daemon/console/)

Only ``/status`` and the OpenAPI document are open; every per-tenant figure takes a token (auth.py).

It is built from the parts it serves (settings, metrics, the admin token, this
node, a pool getter), not from the daemon: the web code depends on nothing
above it, and a test can build it around any pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import SecretStr

from daemon.config import Settings
from daemon.console import app as console_app
from daemon.http import (
    admin,
    audit_api,
    auth,
    coaching_api,
    forwarded,
    guidance_api,
    invoice_api,
    ivr_api,
    openapi,
    status,
)
from daemon.http.context import METRICS, NODE, POOL, SETTINGS, NodeInfo
from daemon.http.errors import error_middleware
from daemon.http.registry import install
from daemon.http.tenant_auth import is_operator_path, tenant_token_auth
from daemon.metrics import Metrics

OPENAPI_PATH = "/api/v1/openapi.json"
MAX_BODY = 64 * 1024

_OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi")


def build_app(
    *,
    settings: Settings,
    metrics: Metrics,
    admin_token: SecretStr,
    node: NodeInfo,
    pool: Callable[[], asyncpg.Pool | None],
) -> web.Application:
    """The API and the console over these parts; handlers reach them through the keys of context.py.

    ``admin_token`` is the one in force (in demo mode generated at start, not
    the settings' own); ``pool`` is a getter: the pool comes after the app.
    """
    app = web.Application(
        middlewares=[
            forwarded.middleware(settings.trusted_proxy_networks),
            error_middleware,
            auth.bearer_auth(admin_token, settings.metrics_token),
            tenant_token_auth,
            *console_app.MIDDLEWARES,
        ],
        client_max_size=MAX_BODY,
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[NODE] = node
    app[POOL] = pool
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
        version=node.version,
        secured=lambda path: auth.requires_auth(path) or is_operator_path(path),
    )
    console_app.install(app)
    app.router.add_get("/metrics", status.metrics, name="metrics")
    app.router.add_get(OPENAPI_PATH, _openapi, name="openapi")
    return app


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[_OPENAPI])
