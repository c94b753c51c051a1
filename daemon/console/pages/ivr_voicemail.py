"""``/console/ivr/voicemail``: the IVR customer's voicemail, played in the browser, deleted when dealt with.

The recording is served only to its own tenant (another tenant's id is a 404).
The repository keeps no "heard" mark, so there is none here.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from aiohttp import web

from daemon.console.changes import audited
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.render import page, see_other
from daemon.console.viewer import IVR, tenant_scope
from daemon.db import voicemail
from daemon.db.errors import NotFound
from daemon.http.context import pool_of

routes = web.RouteTableDef()

LIST = f"{PREFIX}/ivr/voicemail"
ONE = LIST + r"/{voicemail_id:\d+}"
PAGE_SIZE = 100


def _voicemail_id(request: web.Request) -> int:
    return path_id(request, "voicemail_id")


@routes.get(LIST)
async def voicemail_list(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    found = await voicemail.listing(pool_of(request), tenant_id, limit=PAGE_SIZE)
    return page(request, "ivr_voicemail.html", {"messages": found})


@routes.get(ONE + "/audio")
async def voicemail_audio(request: web.Request) -> web.StreamResponse:
    _, tenant_id = tenant_scope(request, IVR)
    found = await voicemail.get(pool_of(request), tenant_id, _voicemail_id(request))
    path = Path(found.path)
    if not await asyncio.to_thread(path.is_file):
        raise NotFound(f"the recording of voicemail {found.id} is missing on this node")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav", "Cache-Control": "private, no-store"})


@routes.post(ONE + "/delete")
async def delete(request: web.Request) -> web.StreamResponse:
    _, tenant_id = tenant_scope(request, IVR)
    async with audited(request) as change:
        gone = await voicemail.delete(change.pool, tenant_id, _voicemail_id(request))
        await change.record(
            "ivr.voicemail.delete",
            tenant_id=tenant_id,
            target=f"voicemail {gone.id}",
            before={
                "caller_number": gone.caller_number,
                "created_at": gone.created_at,
                "duration_ms": gone.duration_ms,
            },
        )
    with contextlib.suppress(FileNotFoundError):
        await asyncio.to_thread(Path(gone.path).unlink)
    raise see_other(LIST)
