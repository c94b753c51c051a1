"""``/console/ivr/voicemail``: the IVR customer's voicemail, played in the browser, deleted when dealt with.

The recording is served only to its own tenant (another tenant's id is a 404).
The repository keeps no "heard" mark, so there is none here.
"""

from __future__ import annotations

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.render import page, see_other
from daemon.console.viewer import IVR, tenant_scope
from daemon.http.context import pool_of
from daemon.services import voicemail

routes = web.RouteTableDef()

LIST = f"{PREFIX}/ivr/voicemail"
ONE = LIST + r"/{voicemail_id:\d+}"
PAGE_SIZE = 100


def _voicemail_id(request: web.Request) -> int:
    return path_id(request, "voicemail_id")


@routes.get(LIST)
async def voicemail_list(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    found = await voicemail.listing(pool_of(request), actor_of(request), tenant_id, limit=PAGE_SIZE)
    return page(request, "ivr_voicemail.html", {"messages": found})


@routes.get(ONE + "/audio")
async def voicemail_audio(request: web.Request) -> web.StreamResponse:
    _, tenant_id = tenant_scope(request, IVR)
    _, path = await voicemail.recording(pool_of(request), actor_of(request), tenant_id, _voicemail_id(request))
    return web.FileResponse(path, headers={"Content-Type": "audio/wav", "Cache-Control": "private, no-store"})


@routes.post(ONE + "/delete")
async def delete(request: web.Request) -> web.StreamResponse:
    _, tenant_id = tenant_scope(request, IVR)
    await voicemail.delete(pool_of(request), actor_of(request), tenant_id, _voicemail_id(request))
    raise see_other(LIST, "voicemail.delete")
