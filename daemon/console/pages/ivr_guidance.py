"""``/console/ivr/guidance``: the IVR customer's guidance; upload a recording; hear the original and the result.

The upload goes the API's way: the multipart body is streamed to a file under
the guidance size limit (:mod:`daemon.http.upload`; the app's 64 KiB
``client_max_size`` is for forms and JSON), then :mod:`daemon.services.guidance`
has it converted and loudness-tuned in the child process and records it.  So
the CSRF token travels in the ``X-CSRF-Token`` header
(``static/guidance_upload.js``): the session middleware must not read the body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from daemon.audio import ingest
from daemon.audio.errors import AudioRejected
from daemon.audio.store import GuidanceStore
from daemon.console.changes import actor_of
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import form_errors
from daemon.console.render import page, see_other
from daemon.console.viewer import IVR, tenant_scope
from daemon.http.context import pool_of, settings_of
from daemon.http.upload import UploadRefused, received
from daemon.postgres.errors import NotFound
from daemon.services import guidance
from daemon.services.errors import Conflict, Invalid

routes = web.RouteTableDef()

LIST = f"{PREFIX}/ivr/guidance"
ONE = LIST + r"/{guidance_id:\d+}"
RATES = ("8000", "16000")
NAME_TAKEN = "この名前のガイダンスはすでにあります"
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


def refusal(exc: AudioRejected | UploadRefused) -> tuple[str, str]:
    """The upload's refusal in Japanese, with the field it is about (the ingest's sentence kept for details)."""
    if isinstance(exc, UploadRefused):
        if exc.problem == "not_multipart":
            return "file", "ファイルを選んでから送信してください。"
        if exc.problem == "name_too_long":
            return "name", "名前が長すぎます。"
        return "file", f"ファイルと名前を指定してください（{exc.message}）。"
    if exc.reason == "too_large":
        return "file", f"ファイルが大きすぎます（上限 {_max_mb():g} MB）。"
    return "file", f"この音声ファイルは使えません（{exc.message}）。"


def _max_mb() -> float:
    return ingest.limits().max_bytes / (1024 * 1024)


def _store(request: web.Request) -> GuidanceStore:
    return guidance.store(settings_of(request))


def _guidance_id(request: web.Request) -> int:
    return path_id(request, "guidance_id")


async def _list(
    request: web.Request, tenant_id: int, *, errors: Mapping[str, str] | None = None, status: int = 200
) -> web.Response:
    context: dict[str, Any] = {
        "items": await guidance.listing(pool_of(request), actor_of(request), tenant_id),
        "max_mb": _max_mb(),
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
    store = _store(request)
    try:
        async with received(request, store) as got:
            if got.name is None:
                return await _list(request, tenant_id, errors={"name": "名前を入力してください"}, status=422)
            row = await guidance.upload(pool_of(request), actor_of(request), store, tenant_id, got.name, got.upload)
    except (AudioRejected, UploadRefused) as exc:
        return await _list(request, tenant_id, errors=dict([refusal(exc)]), status=422)
    except Conflict:  # the only one an upload meets: the name is taken
        return await _list(request, tenant_id, errors={"name": NAME_TAKEN}, status=422)
    except Invalid as exc:
        return await _list(request, tenant_id, errors=form_errors(exc), status=422)
    raise see_other(guidance_url(row.id), "guidance.upload")


@routes.get(ONE)
async def guidance_detail(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    row = await guidance.get(pool_of(request), actor_of(request), tenant_id, _guidance_id(request))
    return page(request, "ivr_guidance_detail.html", {"g": row, "report": row.report or {}})


async def _file(path: Path, content_type: str) -> web.StreamResponse:
    if not await asyncio.to_thread(path.is_file):
        raise NotFound(f"{path.name} is missing on this node")
    return web.FileResponse(path, headers={"Content-Type": content_type, "Cache-Control": "private, no-store"})


@routes.get(ONE + "/audio")
async def processed_audio(request: web.Request) -> web.StreamResponse:
    """The processed WAV the calls play (``?rate=16000``: the wideband one)."""
    _, tenant_id = tenant_scope(request, IVR)
    row = await guidance.get(pool_of(request), actor_of(request), tenant_id, _guidance_id(request))
    rate = request.query.get("rate", "8000")
    if rate not in RATES or row.digest is None:
        raise NotFound(f"guidance {row.id} has no audio at {rate}")
    return await _file(_store(request).path(row.digest, int(rate)), "audio/wav")


@routes.get(ONE + "/original")
async def original_audio(request: web.Request) -> web.StreamResponse:
    """The recording as it was uploaded."""
    _, tenant_id = tenant_scope(request, IVR)
    found = await guidance.original(pool_of(request), actor_of(request), tenant_id, _guidance_id(request))
    path = Path(found.path)
    return await _file(path, CONTENT_TYPES.get(path.suffix.lower().lstrip("."), "application/octet-stream"))
