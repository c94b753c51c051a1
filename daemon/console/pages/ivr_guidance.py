"""``/console/ivr/guidance``: the IVR customer's guidance; upload a recording or type the words; hear, replace, delete.

The upload goes the API's way: the multipart body is streamed to a file under
the guidance size limit (:mod:`daemon.http.upload`; the app's 64 KiB
``client_max_size`` is for forms and JSON), then :mod:`daemon.services.guidance`
has it converted and loudness-tuned in the child process and records it.  So
the CSRF token travels in the ``X-CSRF-Token`` header
(``static/guidance_upload.js``): the session middleware must not read the body.

Typed words are synthesised through the same stage.  The preview (``…/preview``)
answers the WAV a call would play without storing anything, so the customer can
try speed and pitch before saving (``static/guidance_speech.js`` plays it on the
page; without JavaScript the browser opens the WAV itself).  Beside the
engineering figures the page gives the plain verdict of :mod:`daemon.audio.verdict`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from daemon.audio import ingest
from daemon.audio.errors import AudioRejected
from daemon.audio.report import Report
from daemon.audio.store import GuidanceStore
from daemon.audio.verdict import Verdict, verdict
from daemon.audio.voice import PITCH_RANGE, SPEED_RANGE
from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors, fields, validate
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import form_errors
from daemon.console.render import page, see_other
from daemon.console.viewer import IVR, tenant_scope
from daemon.guidance_mail import MailIn
from daemon.http.context import pool_of, settings_of
from daemon.http.upload import UploadRefused, received
from daemon.postgres.errors import NotFound
from daemon.services import guidance
from daemon.services.errors import Conflict, Invalid
from daemon.services.guidance_models import SpeechIn

routes = web.RouteTableDef()

LIST = f"{PREFIX}/ivr/guidance"
ONE = LIST + r"/{guidance_id:\d+}"
RATES = ("8000", "16000")
NAME_TAKEN = "この名前のガイダンスはすでにあります"
SEPARATORS = re.compile(r"[\s,、，;；]+")
RANGES = {
    "speed": f"話す速さは {SPEED_RANGE[0]:g}〜{SPEED_RANGE[1]:g} の数で入力してください",
    "pitch": f"声の高さは {PITCH_RANGE[0]:g}〜{PITCH_RANGE[1]:+g} の数で入力してください",
}
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
    request: web.Request,
    tenant_id: int,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    items = await guidance.listing(pool_of(request), actor_of(request), tenant_id)
    context: dict[str, Any] = {
        "items": items,
        "verdicts": {g.id: _verdict(g.report) for g in items},
        "max_mb": _max_mb(),
        "values": dict(values or {"speed": "1.0", "pitch": "0"}),
        "errors": dict(errors or {}),
        "senders": "\n".join(await guidance.senders(pool_of(request), actor_of(request), tenant_id)),
        "mail_address": MailIn().address,
    }
    return page(request, "ivr_guidance_list.html", context, status=status)


def _verdict(report: Mapping[str, Any] | None) -> Verdict | None:
    return verdict(Report.model_validate(report)) if report else None


def _speech(values: Mapping[str, str], *, named: bool) -> SpeechIn:
    """The typed-text form as the API's body (the API's own checks, worded for the form)."""
    body: dict[str, Any] = {"text": values.get("text", ""), "speed": values.get("speed") or "1.0"}
    body["pitch"] = values.get("pitch") or "0"
    if named or values.get("name"):
        body["name"] = values.get("name") or None
    try:
        speech = validate(SpeechIn, body)
    except FormErrors as exc:
        raise FormErrors({k: RANGES.get(k, v) for k, v in exc.errors.items()}) from None
    if named and speech.name is None:
        raise FormErrors({"name": "名前を入力してください"})
    return speech


def _speech_refusal(exc: AudioRejected) -> dict[str, str]:
    return {"text": f"この文は読み上げられません（{exc.message}）。"}


SPEECH_REFUSED = (FormErrors, AudioRejected, Conflict, Invalid)


def _speech_errors(exc: Exception) -> dict[str, str]:
    """A typed-text form's refusal, beside its field."""
    if isinstance(exc, FormErrors):
        return exc.errors
    if isinstance(exc, AudioRejected):
        return _speech_refusal(exc)
    if isinstance(exc, Conflict):  # the only one these meet: the name is taken
        return {"name": NAME_TAKEN}
    assert isinstance(exc, Invalid)
    return form_errors(exc)


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
    raise see_other(guidance_url(row.id), "guidance.created")


@routes.post(LIST + "/speech")
async def speak(request: web.Request) -> web.StreamResponse:
    """A new guidance from typed words."""
    _, tenant_id = tenant_scope(request, IVR)
    values = await fields(request)
    try:
        row = await guidance.speak(
            pool_of(request), actor_of(request), _store(request), tenant_id, _speech(values, named=True)
        )
    except SPEECH_REFUSED as exc:
        return await _list(request, tenant_id, errors=_speech_errors(exc), values=values, status=422)
    raise see_other(guidance_url(row.id), "guidance.created")


@routes.post(LIST + "/preview")
async def preview(request: web.Request) -> web.Response:
    """The typed words as a call would play them: a WAV, nothing stored (a refusal: its words, as text)."""
    _, tenant_id = tenant_scope(request, IVR)
    values = await fields(request)
    try:
        wav = await guidance.hear(_store(request), actor_of(request), tenant_id, _speech(values, named=False))
    except FormErrors as exc:
        return web.Response(status=422, text="\n".join(exc.errors.values()))
    except AudioRejected as exc:
        return web.Response(status=422, text=_speech_refusal(exc)["text"])
    return web.Response(body=wav, headers={"Content-Type": "audio/wav", "Cache-Control": "private, no-store"})


async def _detail(
    request: web.Request,
    tenant_id: int,
    guidance_id: int,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    pool, actor = pool_of(request), actor_of(request)
    row = await guidance.get(pool, actor, tenant_id, guidance_id)
    spoken = {
        "text": row.speech_text or "",
        "speed": f"{row.speech_speed or 1.0:g}",
        "pitch": f"{row.speech_pitch or 0:g}",
    }
    context: dict[str, Any] = {
        "g": row,
        "report": row.report or {},
        "verdict": _verdict(row.report),
        "used_by": await guidance.used_by(pool, actor, tenant_id, guidance_id),
        "max_mb": _max_mb(),
        "values": dict(values or spoken),
        "errors": dict(errors or {}),
    }
    return page(request, "ivr_guidance_detail.html", context, status=status)


@routes.get(ONE)
async def guidance_detail(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    return await _detail(request, tenant_id, _guidance_id(request))


@routes.post(ONE)
async def replace_upload(request: web.Request) -> web.StreamResponse:
    """New sound from a recording (multipart, streamed like the upload); the name may change too."""
    _, tenant_id = tenant_scope(request, IVR)
    guidance_id = _guidance_id(request)
    pool, actor, store = pool_of(request), actor_of(request), _store(request)
    await guidance.get(pool, actor, tenant_id, guidance_id)  # not found before reading a large body
    try:
        async with received(request, store) as got:
            await guidance.replace(pool, actor, store, tenant_id, guidance_id, got.upload, got.name or None)
    except (AudioRejected, UploadRefused) as exc:
        return await _detail(request, tenant_id, guidance_id, errors=dict([refusal(exc)]), status=422)
    except Conflict:
        return await _detail(request, tenant_id, guidance_id, errors={"name": NAME_TAKEN}, status=422)
    except Invalid as exc:
        return await _detail(request, tenant_id, guidance_id, errors=form_errors(exc), status=422)
    raise see_other(guidance_url(guidance_id), "guidance.replaced")


@routes.post(ONE + "/speech")
async def respeak(request: web.Request) -> web.StreamResponse:
    """New sound from typed words (an upload becomes a typed guidance, keeping its name and id)."""
    _, tenant_id = tenant_scope(request, IVR)
    guidance_id = _guidance_id(request)
    values = await fields(request)
    try:
        await guidance.respeak(
            pool_of(request), actor_of(request), _store(request), tenant_id, guidance_id, _speech(values, named=False)
        )
    except SPEECH_REFUSED as exc:
        return await _detail(request, tenant_id, guidance_id, errors=_speech_errors(exc), values=values, status=422)
    raise see_other(guidance_url(guidance_id), "guidance.replaced")


@routes.post(ONE + "/delete")
async def delete(request: web.Request) -> web.StreamResponse:
    """Remove a guidance; refused in words while a published flow version plays it."""
    _, tenant_id = tenant_scope(request, IVR)
    guidance_id = _guidance_id(request)
    pool, actor = pool_of(request), actor_of(request)
    try:
        await guidance.delete(pool, actor, tenant_id, guidance_id)
    except Conflict as exc:
        if exc.code != guidance.IN_USE:
            raise
        versions = "、".join(str(v) for v in await guidance.used_by(pool, actor, tenant_id, guidance_id))
        words = (
            f"公開した通話フロー（バージョン {versions}）で使われているため削除できません。"
            "このガイダンスを使わないフローを公開しても、以前のバージョンに戻せるよう残しています。"
            "音声を変えたいときは「差し替え」をお使いください。"
        )
        return await _detail(request, tenant_id, guidance_id, errors={"delete": words}, status=409)
    raise see_other(LIST, "guidance.deleted")


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


@routes.post(LIST + "/senders")
async def senders(request: web.Request) -> web.StreamResponse:
    """The addresses whose mailed recordings become this tenant's guidance."""
    _, tenant_id = tenant_scope(request, IVR)
    values = await fields(request)
    addresses = [a for a in SEPARATORS.split(values.get("senders", "")) if a]
    try:
        await guidance.set_senders(pool_of(request), actor_of(request), tenant_id, addresses)
    except Invalid:
        words = "メールアドレスの形式が正しくないか、10件を超えています"
        return await _list(request, tenant_id, errors={"senders": words}, values=values, status=422)
    except Conflict:
        words = "ほかのお客様が登録しているアドレスが含まれています"
        return await _list(request, tenant_id, errors={"senders": words}, values=values, status=422)
    raise see_other(LIST, "guidance.senders")
