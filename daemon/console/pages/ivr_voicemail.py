"""``/console/ivr/voicemail``: the IVR customer's voicemail, heard in the browser, and how they are told of it.

The recording is served only to its own tenant (another tenant's id is a 404).
Playing a message marks it heard (as on a phone); the customer may mark it
unheard again.  Below the messages: where notifications go (e-mail addresses, a
webhook with its signing secret) and the delivery log, each attempt's outcome in
words, so a customer whose receiver was down sees what was retried.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.forms import fields
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.render import page, see_other
from daemon.console.viewer import IVR, tenant_scope
from daemon.http.context import pool_of
from daemon.repositories.notifications import Delivery
from daemon.services import notifications, voicemail
from daemon.services.errors import Invalid

routes = web.RouteTableDef()

LIST = f"{PREFIX}/ivr/voicemail"
ONE = LIST + r"/{voicemail_id:\d+}"
PAGE_SIZE = 100
LOG_SIZE = 50
STATES = {
    "pending": "送信待ち（再送あり）",
    "sent": "送信済み",
    "failed": "送信できませんでした",
    "cancelled": "取り消し",
}
CHANNELS = {"email": "メール", "webhook": "Webhook"}
FIELD_WORDS = {
    "emails": "メールアドレスの形式が正しくないか、10件を超えています",
    "webhook_url": "https:// または http:// で始まるURLを入力してください（ユーザー名・空白は使えません）",
}
_SEPARATORS = re.compile(r"[\s,、，;；]+")


def outcome(d: Delivery) -> str:
    """The last attempt's result in words (the English one stays in the log for engineers)."""
    if d.state == "sent":
        return "成功" + (f"（HTTP {d.last_status}）" if d.last_status else "")
    if d.state == "cancelled":
        return "送る前にメッセージが削除されました"
    if d.last_status:
        return f"受信側が HTTP {d.last_status} を返しました"
    error = d.last_error or ""
    if not error:
        return "—"
    if "private address" in error:
        return "社内ネットワーク向けのアドレスには送れません。インターネットから届くURLにしてください"
    if "no SMTP server is configured" in error:
        return "メールの送信がまだ設定されていません（運用担当にお問い合わせください）"
    if d.channel == "email":
        return "メールを送れませんでした（メールサーバーが受け付けませんでした）"
    return "接続できませんでした（URL と受信側のサーバーをご確認ください）"


def _voicemail_id(request: web.Request) -> int:
    return path_id(request, "voicemail_id")


async def _page(
    request: web.Request,
    tenant_id: int,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    pool, actor = pool_of(request), actor_of(request)
    notify = await notifications.current(pool, actor, tenant_id)
    shown = {"emails": "\n".join(notify.emails), "webhook_url": notify.webhook_url or ""}
    context: dict[str, Any] = {
        "messages": await voicemail.listing(pool, actor, tenant_id, limit=PAGE_SIZE),
        "unheard": await voicemail.unheard(pool, actor, tenant_id),
        "notify": notify,
        "deliveries": await notifications.log(pool, actor, tenant_id, limit=LOG_SIZE),
        "states": STATES,
        "outcome": outcome,
        "channels": CHANNELS,
        "values": dict(values or shown),
        "errors": dict(errors or {}),
    }
    return page(request, "ivr_voicemail.html", context, status=status)


@routes.get(LIST)
async def voicemail_list(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    return await _page(request, tenant_id)


@routes.get(ONE + "/audio")
async def voicemail_audio(request: web.Request) -> web.StreamResponse:
    """The recording; hearing it marks the message heard."""
    _, tenant_id = tenant_scope(request, IVR)
    pool, actor, voicemail_id = pool_of(request), actor_of(request), _voicemail_id(request)
    _, path = await voicemail.recording(pool, actor, tenant_id, voicemail_id)
    await voicemail.mark(pool, actor, tenant_id, voicemail_id, heard=True)
    return web.FileResponse(path, headers={"Content-Type": "audio/wav", "Cache-Control": "private, no-store"})


@routes.post(ONE + "/heard")
async def heard(request: web.Request) -> web.StreamResponse:
    _, tenant_id = tenant_scope(request, IVR)
    wanted = (await fields(request)).get("heard") == "1"
    await voicemail.mark(pool_of(request), actor_of(request), tenant_id, _voicemail_id(request), heard=wanted)
    raise see_other(LIST)


@routes.post(LIST + "/notify")
async def notify(request: web.Request) -> web.StreamResponse:
    """Where notifications of new messages go."""
    _, tenant_id = tenant_scope(request, IVR)
    values = await fields(request)
    emails = [e for e in _SEPARATORS.split(values.get("emails", "")) if e]
    try:
        await notifications.save(
            pool_of(request),
            actor_of(request),
            tenant_id,
            emails,
            values.get("webhook_url") or None,
            renew_secret=values.get("renew_secret") == "1",
        )
    except Invalid as exc:
        errors = {field: FIELD_WORDS.get(field, "入力内容を確認してください") for field in exc.fields}
        return await _page(request, tenant_id, errors=errors, values=values, status=422)
    raise see_other(LIST, "voicemail.notify")


@routes.post(ONE + "/delete")
async def delete(request: web.Request) -> web.StreamResponse:
    _, tenant_id = tenant_scope(request, IVR)
    await voicemail.delete(pool_of(request), actor_of(request), tenant_id, _voicemail_id(request))
    raise see_other(LIST, "voicemail.delete")
