"""``/console/ivr/guidance``: the IVR customer's guidance; upload a recording; hear the original and the result.

The upload goes the API's way (:mod:`daemon.http.guidance_api`): the multipart
body is streamed to a file under the guidance size limit (the app's 64 KiB
``client_max_size`` is for forms and JSON), then converted and loudness-tuned in
the child process.  So the CSRF token travels in the ``X-CSRF-Token`` header
(``static/guidance_upload.js``): the session middleware must not read the body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from daemon.console.changes import audited
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.render import page, see_other
from daemon.console.viewer import IVR, tenant_scope
from daemon.db import guidance as db
from daemon.db.errors import Conflict, NotFound
from daemon.http import guidance_api
from daemon.http.context import pool_of
from daemon.http.errors import ApiError

routes = web.RouteTableDef()

LIST = f"{PREFIX}/ivr/guidance"
ONE = LIST + r"/{guidance_id:\d+}"
RATES = ("8000", "16000")
# The original as uploaded: played by the browser with the type of its container.
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "mp4": "audio/mp4",
    "m4a": "audio/mp4",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "webm": "audio/webm",
    "amr": "audio/amr",
}


def guidance_url(guidance_id: int) -> str:
    return f"{LIST}/{guidance_id}"


def refusal(exc: ApiError) -> str:
    """The upload's refusal in Japanese (the API's own sentence kept for the details)."""
    if exc.status == 413:
        mb = guidance_api.limits().max_bytes / (1024 * 1024)
        return f"ファイルが大きすぎます（上限 {mb:g} MB）。"
    if exc.status == 415:
        return "ファイルを選んでから送信してください。"
    if exc.status == 400:
        return f"ファイルと名前を指定してください（{exc.message}）。"
    return f"この音声ファイルは使えません（{exc.message}）。"


def _guidance_id(request: web.Request) -> int:
    return path_id(request, "guidance_id")


async def _list(
    request: web.Request, tenant_id: int, *, errors: Mapping[str, str] | None = None, status: int = 200
) -> web.Response:
    context: dict[str, Any] = {
        "items": await db.all_of(pool_of(request), tenant_id),
        "max_mb": guidance_api.limits().max_bytes / (1024 * 1024),
        "values": {},
        "errors": dict(errors or {}),
    }
    return page(request, "ivr_guidance_list.html", context, status=status)


@routes.get(LIST)
async def guidance_list(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    return await _list(request, tenant_id)


@routes.post(LIST)
async def upload(request: web.Request) -> web.StreamResponse:
    _, tenant_id = tenant_scope(request, IVR)
    store = guidance_api._store(request)
    try:
        async with guidance_api._received(request, store) as received:
            if received.name is None:
                return await _list(request, tenant_id, errors={"name": "名前を入力してください"}, status=422)
            if await db.name_taken(pool_of(request), tenant_id, received.name):
                return await _list(
                    request, tenant_id, errors={"name": "この名前のガイダンスはすでにあります"}, status=422
                )
            made = await guidance_api._from_upload(received, store)
            async with audited(request) as change:
                row = await db.create(change.pool, tenant_id, received.name, made)
                await change.record(
                    "ivr.guidance.create",
                    tenant_id=tenant_id,
                    target=f"guidance {row.id}",
                    after={"name": row.name, "original_name": row.original_name, "digest": row.digest},
                )
    except ApiError as exc:
        return await _list(request, tenant_id, errors={"file": refusal(exc)}, status=422 if exc.status < 500 else 503)
    except Conflict:
        return await _list(request, tenant_id, errors={"name": "この名前のガイダンスはすでにあります"}, status=422)
    raise see_other(guidance_url(row.id))


@routes.get(ONE)
async def guidance_detail(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    row = await db.get(pool_of(request), tenant_id, _guidance_id(request))
    return page(request, "ivr_guidance_detail.html", {"g": row, "report": row.report or {}})


async def _file(path: Path, content_type: str) -> web.StreamResponse:
    if not await asyncio.to_thread(path.is_file):
        raise NotFound(f"{path.name} is missing on this node")
    return web.FileResponse(path, headers={"Content-Type": content_type, "Cache-Control": "private, no-store"})


@routes.get(ONE + "/audio")
async def processed_audio(request: web.Request) -> web.StreamResponse:
    """The processed WAV the calls play (``?rate=16000``: the wideband one)."""
    _, tenant_id = tenant_scope(request, IVR)
    row = await db.get(pool_of(request), tenant_id, _guidance_id(request))
    rate = request.query.get("rate", "8000")
    if rate not in RATES or row.digest is None:
        raise NotFound(f"guidance {row.id} has no audio at {rate}")
    return await _file(guidance_api._store(request).path(row.digest, int(rate)), "audio/wav")


@routes.get(ONE + "/original")
async def original_audio(request: web.Request) -> web.StreamResponse:
    """The recording as it was uploaded."""
    _, tenant_id = tenant_scope(request, IVR)
    found = await db.original(pool_of(request), tenant_id, _guidance_id(request))
    path = Path(found.path)
    return await _file(path, CONTENT_TYPES.get(path.suffix.lower().lstrip("."), "application/octet-stream"))
