"""Customer guidance API (``/api/v1/operator/guidance``, tenant tokens): uploads and typed text.

    POST   /api/v1/operator/guidance              multipart: name, file → 201 (processed, stored)
    POST   /api/v1/operator/guidance/speech       JSON {name, text, speed, pitch} → 201
    GET    /api/v1/operator/guidance              the tenant's guidance
    GET    /api/v1/operator/guidance/{id}         one, with the processing report
    GET    /api/v1/operator/guidance/{id}/audio   the WAV (``?rate=16000`` for the wideband one)
    PUT    /api/v1/operator/guidance/{id}         multipart: file (and name) → 200, the next call plays it
    PUT    /api/v1/operator/guidance/{id}/speech  JSON → 200
    DELETE /api/v1/operator/guidance/{id}         204; 409 while a published flow plays it

The upload is streamed to a file with its own size limit (:mod:`daemon.http.upload`; the
app's 64 KiB body limit is for JSON); the work is :mod:`daemon.services.guidance`'s, whose
decoding and synthesis run in a child process with a time limit, one at a time per daemon
(:mod:`daemon.audio.ingest`), so the event loop keeps taking calls.  Bad input is a 4xx
with nothing stored: the ingest's refusals become their status here.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from daemon.audio.errors import AudioRejected
from daemon.audio.store import GuidanceStore
from daemon.http.actor import actor_of
from daemon.http.context import pool_of, settings_of
from daemon.http.errors import ApiError
from daemon.http.registry import RouteTable
from daemon.http.tenant_auth import tenant_of
from daemon.http.upload import UploadRefused, received
from daemon.repositories.tenants import NotFound
from daemon.services import guidance
from daemon.services.guidance_models import GuidanceList, GuidanceOut, SpeechIn, out

operator_routes = RouteTable()
BASE = "/api/v1/operator/guidance"
ONE = BASE + r"/{id:\d+}"
_FORM_STATUS = {"not_multipart": 415, "nested": 400, "no_file": 400, "name_too_long": 422}


def _store(request: web.Request) -> GuidanceStore:
    return guidance.store(settings_of(request))


def _id(request: web.Request) -> int:
    value = int(request.match_info["id"])
    if not 0 < value < 2**63:
        raise NotFound(f"no guidance {request.match_info['id']}")
    return value


@contextlib.asynccontextmanager
async def _refusals() -> AsyncIterator[None]:
    """The ingest's and the form's refusals as HTTP statuses (an oversized body also closes the connection)."""
    try:
        yield
    except AudioRejected as exc:
        close = {"Connection": "close"} if exc.reason == "too_large" else None
        raise ApiError(exc.status, exc.message, headers=close) from None
    except UploadRefused as exc:
        raise ApiError(_FORM_STATUS[exc.problem], exc.message) from None


@operator_routes.route(
    "POST",
    BASE,
    summary="Upload a recording (multipart: name, file): mp3, m4a/mp4, wav, flac, ogg/webm opus, amr",
    response=GuidanceOut,
    status=201,
    errors=(400, 409, 413, 415, 422),
)
async def upload_guidance(request: web.Request) -> GuidanceOut:
    store = _store(request)
    async with _refusals(), received(request, store) as got:
        if got.name is None:
            raise ApiError(400, "the request has no 'name' field: name the guidance")
        made = await guidance.upload(
            pool_of(request), actor_of(request), store, tenant_of(request), got.name, got.upload
        )
    return out(made)


@operator_routes.route(
    "POST",
    BASE + "/speech",
    summary="Make a guidance from typed Japanese text (speech synthesis)",
    body=SpeechIn,
    response=GuidanceOut,
    status=201,
    errors=(409, 422),
)
async def speak_guidance(request: web.Request, body: SpeechIn) -> GuidanceOut:
    async with _refusals():
        made = await guidance.speak(pool_of(request), actor_of(request), _store(request), tenant_of(request), body)
    return out(made)


@operator_routes.route("GET", BASE, summary="The tenant's guidance", response=GuidanceList)
async def list_guidance(request: web.Request) -> GuidanceList:
    found = await guidance.listing(pool_of(request), actor_of(request), tenant_of(request))
    return GuidanceList(guidance=[out(g) for g in found])


@operator_routes.route(
    "GET", ONE, summary="One guidance, with its processing report", response=GuidanceOut, errors=(404,)
)
async def get_guidance(request: web.Request) -> GuidanceOut:
    return out(await guidance.get(pool_of(request), actor_of(request), tenant_of(request), _id(request)))


@operator_routes.route(
    "GET", ONE + "/audio", summary="The processed WAV (?rate=8000, the default, or 16000)", errors=(404, 422)
)
async def guidance_audio(request: web.Request) -> web.StreamResponse:
    row = await guidance.get(pool_of(request), actor_of(request), tenant_of(request), _id(request))
    rate = request.query.get("rate", "8000")
    if rate not in ("8000", "16000"):
        raise ApiError(422, "rate must be 8000 or 16000")
    if row.digest is None:
        raise NotFound(f"guidance {row.id} has no processed audio")
    path = _store(request).path(row.digest, int(rate))
    if not path.is_file():
        raise NotFound(f"the audio file of guidance {row.id} is missing")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


@operator_routes.route(
    "PUT",
    ONE,
    summary="Replace a guidance's recording (multipart: file, optional name); the next call plays it",
    response=GuidanceOut,
    errors=(400, 404, 409, 413, 415, 422),
)
async def replace_guidance(request: web.Request) -> GuidanceOut:
    store = _store(request)
    pool, actor, tenant, ident = pool_of(request), actor_of(request), tenant_of(request), _id(request)
    await guidance.get(pool, actor, tenant, ident)  # 404 before reading a large body
    async with _refusals(), received(request, store) as got:
        made = await guidance.replace(pool, actor, store, tenant, ident, got.upload, got.name)
    return out(made)


@operator_routes.route(
    "PUT",
    ONE + "/speech",
    summary="Replace a guidance with typed text (speech synthesis); the next call plays it",
    body=SpeechIn,
    response=GuidanceOut,
    errors=(404, 409, 422),
)
async def respeak_guidance(request: web.Request, body: SpeechIn) -> GuidanceOut:
    async with _refusals():
        made = await guidance.respeak(
            pool_of(request), actor_of(request), _store(request), tenant_of(request), _id(request), body
        )
    return out(made)


@operator_routes.route(
    "DELETE", ONE, summary="Remove a guidance (not while a published flow plays it)", status=204, errors=(404, 409)
)
async def delete_guidance(request: web.Request) -> None:
    await guidance.delete(pool_of(request), actor_of(request), tenant_of(request), _id(request))


__all__ = ["operator_routes"]
