"""Customer guidance API (``/api/v1/operator/guidance``, tenant tokens): uploads and typed text.

    POST   /api/v1/operator/guidance              multipart: name, file → 201 (processed, stored)
    POST   /api/v1/operator/guidance/speech       JSON {name, text, speed, pitch} → 201
    GET    /api/v1/operator/guidance              the tenant's guidance
    GET    /api/v1/operator/guidance/{id}         one, with the processing report
    GET    /api/v1/operator/guidance/{id}/audio   the WAV (``?rate=16000`` for the wideband one)
    PUT    /api/v1/operator/guidance/{id}         multipart: file (and name) → 200, the next call plays it
    PUT    /api/v1/operator/guidance/{id}/speech  JSON → 200
    DELETE /api/v1/operator/guidance/{id}         204; 409 while a published flow plays it

The upload is streamed to a file with its own size limit (the app's 64 KiB body limit is for
JSON); decoding and synthesis run in a child process with a time limit, one at a time per
daemon (:mod:`daemon.audio.isolate`), so the event loop keeps taking calls.  Bad input is a
4xx with nothing stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import re
import tempfile
import unicodedata
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aiohttp import BodyPartReader, web
from pydantic import TypeAdapter, ValidationError

from daemon.audio import isolate
from daemon.audio.errors import AudioRejected
from daemon.audio.limits import GuidanceLimits
from daemon.audio.report import Report
from daemon.audio.store import GuidanceStore
from daemon.audio.target import VERSION
from daemon.db import guidance as db
from daemon.db.tenants import NotFound
from daemon.http.context import pool_of, settings_of
from daemon.http.errors import ApiError
from daemon.http.guidance_models import GuidanceList, GuidanceName, GuidanceOut, SpeechIn, out
from daemon.http.registry import RouteTable
from daemon.http.tenant_auth import tenant_of

operator_routes = RouteTable()
BASE = "/api/v1/operator/guidance"
ONE = BASE + r"/{id:\d+}"
_CHUNK = 64 * 1024
_NAME = TypeAdapter(GuidanceName)
_EXT = re.compile(r"^[a-z0-9]{1,8}$")
_jobs: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


@functools.cache
def limits() -> GuidanceLimits:
    return GuidanceLimits()


def _one_at_a_time() -> asyncio.Semaphore:
    """One decode/synthesis child per daemon at a time: the other core keeps taking calls."""
    loop = asyncio.get_running_loop()
    return _jobs.setdefault(loop, asyncio.Semaphore(1))


def _store(request: web.Request) -> GuidanceStore:
    return GuidanceStore(settings_of(request).prompts_path)


def _id(request: web.Request) -> int:
    value = int(request.match_info["id"])
    if not 0 < value < 2**63:
        raise NotFound(f"no guidance {request.match_info['id']}")
    return value


def _rejected(exc: AudioRejected) -> ApiError:
    return ApiError(exc.status, exc.message)


def _name(value: str) -> str:
    try:
        name: str = _NAME.validate_python(value)
    except ValidationError as exc:
        raise ApiError.invalid(exc, "name") from None
    return name


def _filename(value: str | None) -> str | None:
    if not value:
        return None
    value = urllib.parse.unquote(value)  # aiohttp's client (and some others) percent-encode non-ASCII names
    name = "".join(ch for ch in unicodedata.normalize("NFC", value) if unicodedata.category(ch)[0] != "C")
    return Path(name.replace("\\", "/")).name[-255:] or None


def _ext(filename: str | None) -> str:
    suffix = Path(filename or "").suffix.lower().lstrip(".")
    return suffix if _EXT.match(suffix) else "bin"


@dataclass
class Upload:
    path: Path
    size: int
    sha256: str
    filename: str | None
    name: str | None


def _too_large(max_bytes: int) -> ApiError:
    # Connection: close, so the rest of an oversized body is not read just to keep the connection
    return ApiError(
        413, f"the file is larger than the limit of {max_bytes / (1024 * 1024):g} MB", headers={"Connection": "close"}
    )


def _open_new(path: Path) -> BinaryIO:
    return path.open("wb")


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def _stream_part(part: BodyPartReader, into: Path, max_bytes: int) -> tuple[int, str]:
    """Copy one part to ``into`` chunk by chunk (64 KiB writes to the page cache: no thread needed)."""
    digest = hashlib.sha256()
    size = 0
    with _open_new(into) as f:
        while chunk := await part.read_chunk(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            digest.update(chunk)
            f.write(chunk)
    return size, digest.hexdigest()


async def _small_text(part: BodyPartReader, limit: int = 4096) -> str:
    """A text field, read no further than ``limit`` bytes (a huge 'name' part is refused, not buffered)."""
    raw = bytearray()
    while chunk := await part.read_chunk(1024):
        raw += chunk
        if len(raw) > limit:
            raise ApiError(422, f"name: at most {limit} bytes")
    return bytes(raw).decode("utf-8", "replace")


@contextlib.asynccontextmanager
async def _received(request: web.Request, store: GuidanceStore) -> AsyncIterator[Upload]:
    """Stream the multipart body (fields ``name`` and ``file``) to a private file; removed afterwards."""
    max_bytes = limits().max_bytes
    if request.content_length is not None and request.content_length > max_bytes + _CHUNK:
        raise _too_large(max_bytes)
    if not request.content_type.startswith("multipart/"):
        raise ApiError(415, "send the recording as multipart/form-data with a 'file' field (and 'name')")
    store.root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=store.root)
    os.close(fd)
    path = Path(tmp)
    try:
        reader = await request.multipart()
        upload: Upload | None = None
        name: str | None = None
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise ApiError(400, "nested multipart bodies are not accepted")
            if part.name == "file" and upload is None:
                size, sha = await _stream_part(part, path, max_bytes)
                upload = Upload(path, size, sha, _filename(part.filename), None)
            elif part.name == "name":
                name = _name(await _small_text(part))
            else:
                await part.release()
        if upload is None or upload.size == 0:
            raise ApiError(400, "the request has no file: send the recording in a multipart field named 'file'")
        upload.name = name
        yield upload
    finally:
        _remove(path)


async def _process(store: GuidanceStore, task: str, args: dict[str, object]) -> tuple[Report, Path]:
    staging = store.staging()
    try:
        async with _one_at_a_time():
            answer = await isolate.run(
                task,
                {**args, "staging": str(staging)},
                time_limit=limits().timeout_seconds,
                memory_bytes=limits().memory_bytes,
            )
        return Report.model_validate(answer), staging
    except AudioRejected as exc:
        store.discard(staging)
        raise _rejected(exc) from None
    except BaseException:
        store.discard(staging)
        raise


def _finish(
    store: GuidanceStore, report: Report, staging: Path, upload: Upload | None, speech: SpeechIn | None = None
) -> db.Made:
    """File the staged WAVs (and the original upload) and describe the row to write."""
    plain = store.commit(
        staging,
        report.digest,
        original=upload.path if upload else None,
        sha256=upload.sha256 if upload else "",
        ext=_ext(upload.filename) if upload else "",
    )
    outputs = [o.model_copy(update={"file": str(store.path(report.digest, o.rate))}) for o in report.outputs]
    report = report.model_copy(update={"outputs": outputs})
    return db.Made(
        kind="upload" if upload else "speech",
        path=str(plain),
        wideband_path=str(store.path(report.digest, 16000)),
        digest=report.digest,
        stage_version=VERSION,
        report=report.model_dump(mode="json"),
        original_path=str(store.original_path(upload.sha256, _ext(upload.filename))) if upload else None,
        original_sha256=upload.sha256 if upload else None,
        original_name=upload.filename if upload else None,
        speech_text=speech.text if speech else None,
        speech_speed=speech.speed if speech else None,
        speech_pitch=speech.pitch if speech else None,
    )


async def _from_upload(upload: Upload, store: GuidanceStore) -> db.Made:
    report, staging = await _process(store, "upload", {"path": str(upload.path), "max_seconds": limits().max_seconds})
    return _finish(store, report, staging, upload)


async def _from_text(store: GuidanceStore, body: SpeechIn) -> db.Made:
    if len(body.text) > limits().max_text_chars:
        raise ApiError(422, f"the text has {len(body.text)} characters; at most {limits().max_text_chars}")
    if any(unicodedata.category(ch) == "Cc" for ch in body.text.replace("\n", "")):
        raise ApiError(422, "the text must not contain control characters")
    report, staging = await _process(store, "speech", {"text": body.text, "speed": body.speed, "pitch": body.pitch})
    return _finish(store, report, staging, None, body)


async def _check_free(request: web.Request, name: str, but: int | None = None) -> None:
    """Refuse a taken name before the expensive work (the UNIQUE constraint still decides)."""
    if await db.name_taken(pool_of(request), tenant_of(request), name, but):
        raise ApiError(409, f"a guidance named {name!r} exists already; replace it with PUT")


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
    async with _received(request, store) as upload:
        if upload.name is None:
            raise ApiError(400, "the request has no 'name' field: name the guidance")
        await _check_free(request, upload.name)
        made = await _from_upload(upload, store)
        return out(await db.create(pool_of(request), tenant_of(request), upload.name, made))


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
    if body.name is None:
        raise ApiError(422, "name: a new guidance needs a name")
    await _check_free(request, body.name)
    made = await _from_text(_store(request), body)
    return out(await db.create(pool_of(request), tenant_of(request), body.name, made))


@operator_routes.route("GET", BASE, summary="The tenant's guidance", response=GuidanceList)
async def list_guidance(request: web.Request) -> GuidanceList:
    return GuidanceList(guidance=[out(g) for g in await db.all_of(pool_of(request), tenant_of(request))])


@operator_routes.route(
    "GET", ONE, summary="One guidance, with its processing report", response=GuidanceOut, errors=(404,)
)
async def get_guidance(request: web.Request) -> GuidanceOut:
    return out(await db.get(pool_of(request), tenant_of(request), _id(request)))


@operator_routes.route(
    "GET", ONE + "/audio", summary="The processed WAV (?rate=8000, the default, or 16000)", errors=(404, 422)
)
async def guidance_audio(request: web.Request) -> web.StreamResponse:
    row = await db.get(pool_of(request), tenant_of(request), _id(request))
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
    pool, tenant, ident = pool_of(request), tenant_of(request), _id(request)
    await db.get(pool, tenant, ident)  # 404 before reading a large body
    async with _received(request, store) as upload:
        if upload.name is not None:
            await _check_free(request, upload.name, but=ident)
        made = await _from_upload(upload, store)
        return out(await db.replace(pool, tenant, ident, made, upload.name))


@operator_routes.route(
    "PUT",
    ONE + "/speech",
    summary="Replace a guidance with typed text (speech synthesis); the next call plays it",
    body=SpeechIn,
    response=GuidanceOut,
    errors=(404, 409, 422),
)
async def respeak_guidance(request: web.Request, body: SpeechIn) -> GuidanceOut:
    pool, tenant, ident = pool_of(request), tenant_of(request), _id(request)
    await db.get(pool, tenant, ident)
    if body.name is not None:
        await _check_free(request, body.name, but=ident)
    made = await _from_text(_store(request), body)
    return out(await db.replace(pool, tenant, ident, made, body.name))


@operator_routes.route(
    "DELETE", ONE, summary="Remove a guidance (not while a published flow plays it)", status=204, errors=(404, 409)
)
async def delete_guidance(request: web.Request) -> None:
    await db.delete(pool_of(request), tenant_of(request), _id(request))


__all__ = ["operator_routes"]
