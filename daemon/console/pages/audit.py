"""The audit log, newest first: a tenant's users see their tenant's rows, the platform admin every tenant's."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from daemon.console.paths import PREFIX
from daemon.console.render import page
from daemon.console.viewer import ADMIN, IVR, OPERATOR, require
from daemon.db import audit
from daemon.http.context import pool_of

routes = web.RouteTableDef()


def shown(value: Any) -> str:
    return "—" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


@routes.get(f"{PREFIX}/audit")
async def audit_log(request: web.Request) -> web.Response:
    viewer = require(request, ADMIN, OPERATOR, IVR)
    rows = await audit.recent(pool_of(request), viewer.tenant_id)
    context = {"rows": rows, "all_tenants": viewer.tenant_id is None, "shown": shown}
    return page(request, "audit_log.html", context)
