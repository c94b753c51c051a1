"""``/console/``: each role's first page."""

from __future__ import annotations

from aiohttp import web

from daemon.console.paths import PREFIX
from daemon.console.viewer import ADMIN, COUNSELLOR, OPERATOR, viewer_of

routes = web.RouteTableDef()

HOME = {ADMIN: f"{PREFIX}/admin/tenants", OPERATOR: f"{PREFIX}/board", COUNSELLOR: f"{PREFIX}/me"}
IVR_HOME = f"{PREFIX}/ivr/flows"


@routes.get(PREFIX + "/")
async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(HOME.get(viewer_of(request).role, IVR_HOME))


@routes.get(PREFIX)
async def bare(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(PREFIX + "/")
