"""Sending voicemail notifications: e-mail and signed webhooks, retried with back-off, on every node.

The deliveries are rows (sql/023, written with the voicemail by a trigger), so
nothing pending lives only in memory: the courier claims due rows
(:func:`daemon.repositories.notifications.claim`, ``SKIP LOCKED`` and a lease, so
several nodes share the work and a node that dies mid-attempt leaves its rows to
the others), attempts them, and records the outcome.  A NOTIFY on
``calld_notify`` wakes it at once; otherwise it sleeps until the next retry is due.

Webhook: ``POST`` of JSON (UTF-8) with

    X-Calld-Event: voicemail.created
    X-Calld-Delivery: <delivery id>      the same on every retry: deduplicate by it
    X-Calld-Timestamp: <unix seconds>
    X-Calld-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the tenant's secret>

Any 2xx is delivered; anything else (an error status, no answer within the
timeout, a refused connection) is tried again after ``retry_seconds`` × 4ⁿ (at
most 6 h) until ``max_attempts``.  A URL that resolves to a loopback, private or
link-local address is refused outright (a customer's URL must not reach our own
network), unless ``CALLD_NOTIFY_ALLOW_PRIVATE_WEBHOOKS`` (tests, a closed site).

E-mail (through :mod:`daemon.mail.sending`): Japanese text, the WAV attached when
it is at most ``attach_max_bytes``, else a link to the console.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from daemon.config import Settings
from daemon.logs import get_logger
from daemon.mail.sending import MailNotSent, new_message, send
from daemon.postgres.errors import DB_ERRORS
from daemon.postgres.listen import ListenHub
from daemon.repositories import notifications as db
from daemon.repositories.notifications import Claimed
from daemon.services.values import TOKYO

_log = get_logger(__name__)
CHANNEL = "calld_notify"
EVENT = "voicemail.created"
MAX_DELAY_S = 6 * 3600.0
IDLE_S = 30.0  # at most this long asleep: a NOTIFY lost with the LISTEN connection is caught up


class Tuning(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLD_NOTIFY_", extra="ignore", frozen=True)

    retry_seconds: float = Field(30.0, gt=0, description="first retry after a failed attempt; each next one ×4")
    max_attempts: int = Field(8, ge=1, le=50, description="attempts before a delivery is given up")
    lease_seconds: float = Field(300.0, gt=0, description="an attempt's claim; then another node may retry it")
    attach_max_bytes: int = Field(5 * 1024 * 1024, ge=0, description="larger recordings are linked, not attached")
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=120)
    public_url: str = Field("", description="the console's address as customers reach it, for links in mail")
    allow_private_webhooks: bool = Field(False, description="let webhooks reach loopback/private addresses")


class Failed(Exception):
    """One attempt failed; ``final``: trying again cannot help."""

    def __init__(self, error: str, *, status: int | None = None, final: bool = False) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.final = final


def backoff(attempts: int, tuning: Tuning) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones."""
    return float(min(tuning.retry_seconds * 4 ** (attempts - 1), MAX_DELAY_S))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def payload(d: Claimed, tuning: Tuning) -> dict[str, Any]:
    assert d.voicemail_id is not None and d.created_at is not None
    base = tuning.public_url.rstrip("/")
    return {
        "event": EVENT,
        "delivery_id": d.id,
        "tenant_id": d.tenant_id,
        "voicemail": {
            "id": d.voicemail_id,
            "caller_number": d.caller_number or None,
            "dialled": d.dialled,
            "flow_node": d.flow_node,
            "duration_ms": d.duration_ms,
            "created_at": d.created_at.astimezone(UTC).isoformat(),
            "audio_url": f"{base}/api/v1/operator/ivr/voicemails/{d.voicemail_id}/audio",
        },
    }


def _length(ms: int) -> str:
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes}分{seconds}秒" if minutes else f"{seconds}秒"


def mail(settings: Settings, d: Claimed, tuning: Tuning, recording: bytes | None) -> EmailMessage:
    """The notification in Japanese; the recording attached when given."""
    assert d.created_at is not None and d.duration_ms is not None
    caller = d.caller_number or "非通知"
    page = f"{tuning.public_url.rstrip('/')}/console/ivr/voicemail" if tuning.public_url else "管理画面の「留守番電話」"
    lines = [
        f"{d.tenant_name} 様",
        "",
        "留守番電話に新しいメッセージが届きました。",
        "",
        f"日時: {d.created_at.astimezone(TOKYO):%Y-%m-%d %H:%M}（日本時間）",
        f"発信者: {caller}",
        f"着信番号: {d.dialled or '—'}",
        f"長さ: {_length(d.duration_ms)}",
        "",
        "録音をこのメールに添付しました。"
        if recording is not None
        else f"録音は大きいため添付していません。こちらでお聞きください: {page}",
        "",
        f"メッセージの一覧: {page}",
    ]
    subject = f"【留守番電話】{caller} からのメッセージ（{_length(d.duration_ms)}）"
    message = new_message(settings, to=d.target, subject=subject, text="\n".join(lines))
    if recording is not None:
        name = f"voicemail-{d.voicemail_id}.wav"
        message.add_attachment(recording, maintype="audio", subtype="wav", filename=name)
    return message


async def _public_only(url: str) -> None:
    """Refuse a URL whose host is (or resolves to) an address of a private network."""
    host = urlsplit(url).hostname or ""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Failed(f"cannot resolve {host}: {exc}") from None
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0])
        if not address.is_global:
            raise Failed(f"{host} is a private address ({address}); webhooks go to the internet only", final=True)


class Courier:
    """The background task of every node that sends the due notifications."""

    def __init__(
        self,
        settings: Settings,
        pool: Callable[[], asyncpg.Pool | None],
        listen: ListenHub,
        tuning: Tuning | None = None,
    ) -> None:
        self.settings = settings
        self.tuning = tuning or Tuning()
        self._pool = pool
        self._wake = asyncio.Event()
        listen.subscribe(CHANNEL, lambda _payload: self._wake.set(), self._wake.set)

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.tuning.webhook_timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                await self._sleep(await self._round(http))

    async def _round(self, http: aiohttp.ClientSession) -> float:
        """Send everything due; the seconds until the next retry is due."""
        pool = self._pool()
        if pool is None:
            return 1.0
        try:
            while claimed := await db.claim(pool, lease_seconds=self.tuning.lease_seconds):
                await asyncio.gather(*(self._attempt(pool, http, d) for d in claimed))
            due = await db.next_due(pool)
        except DB_ERRORS as exc:
            _log.warning("notify_db_error", error=repr(exc))
            return 5.0
        if due is None:
            return IDLE_S
        return min(max((due - datetime.now(UTC)).total_seconds(), 0.05), IDLE_S)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _attempt(self, pool: asyncpg.Pool, http: aiohttp.ClientSession, d: Claimed) -> None:
        if d.voicemail_id is None:
            await db.finish(pool, d.id, "cancelled", status=None, error="the message was deleted before it was sent")
            return
        try:
            try:
                status = await (self._webhook(http, d) if d.channel == "webhook" else self._email(d))
            except (Failed, *DB_ERRORS):
                raise
            except Exception as exc:  # a notification's bug must not stop the daemon that takes the calls
                _log.exception("notify_bug", delivery=d.id)
                raise Failed(f"internal error: {exc!r}") from exc
        except Failed as exc:
            final = exc.final or d.attempts >= self.tuning.max_attempts
            _log.warning("notify_failed", delivery=d.id, channel=d.channel, attempt=d.attempts, error=exc.error)
            if final:
                await db.finish(pool, d.id, "failed", status=exc.status, error=exc.error)
            else:
                await db.again(pool, d.id, backoff(d.attempts, self.tuning), status=exc.status, error=exc.error)
            return
        await db.finish(pool, d.id, "sent", status=status, error=None)
        _log.info("notify_sent", delivery=d.id, channel=d.channel, attempt=d.attempts)

    async def _webhook(self, http: aiohttp.ClientSession, d: Claimed) -> int:
        if not self.tuning.allow_private_webhooks:
            await _public_only(d.target)
        body = json.dumps(payload(d, self.tuning), ensure_ascii=False, separators=(",", ":")).encode()
        now = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "calld-webhook/1",
            "X-Calld-Event": EVENT,
            "X-Calld-Delivery": str(d.id),
            "X-Calld-Timestamp": str(now),
            "X-Calld-Signature": signature(d.webhook_secret or "", now, body),
        }
        try:
            async with http.post(d.target, data=body, headers=headers, allow_redirects=False) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return response.status
                raise Failed(f"the receiver answered HTTP {response.status}", status=response.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Failed(f"could not deliver: {exc!r}") from None

    async def _email(self, d: Claimed) -> None:
        assert d.path is not None
        path = Path(d.path)
        try:
            size = await asyncio.to_thread(lambda: path.stat().st_size)
            recording = await asyncio.to_thread(path.read_bytes) if size <= self.tuning.attach_max_bytes else None
        except OSError:
            recording = None  # on another node's disk (or unreadable here): linked
        try:
            await send(self.settings, mail(self.settings, d, self.tuning, recording))
        except MailNotSent as exc:
            raise Failed(exc.reason) from None
