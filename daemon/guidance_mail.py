"""Guidance by e-mail: an SMTP listener of the daemon takes the recordings customers mail us.

Customers already mail their mp3/mp4/wav; they keep doing so, to the guidance
address (``guidance@<our domain>``, whose MX points at the nodes).  Why an SMTP
listener (aiosmtpd) rather than polling a mailbox over IMAP:

* no mailbox, password or poll interval to keep: a message is handled when it
  arrives, by whichever node the sender's server reaches (PostgreSQL is shared);
* the sender's server keeps the message until we answer ``250``, and we answer
  after the recording is filed and recorded: a node that dies mid-way answers
  nothing and the sender's server delivers it again (an IMAP poller must track
  what it has seen itself);
* aiosmtpd runs on the daemon's own event loop, like the HTTP and ESL servers.

The price: the port must be reachable from the internet (25, or a relay in front),
and there is no provider's spam filter in front of it.  Only mail whose ``From:``
is one of the tenant's registered addresses is taken (``guidance_mail_senders``),
and the reply goes to that registered address, so a forged ``From:`` is told to
the real owner; SPF/DKIM are not checked here (a relay in front can).

Each audio attachment (or inline part: mp3, mp4/m4a, wav … by type or name) goes
through the same ingest as an upload (:mod:`daemon.audio.ingest`), named after
its file; a guidance of that name is replaced (the next call plays the new
sound).  The sender gets one reply: each file's verdict and loudness figures, or
the reason it was not taken (unknown sender, no audio, too long, too large, not
decodable).  Settings ``CALLD_GUIDANCE_MAIL_*``; no port: no listener.
"""

from __future__ import annotations

import asyncio
import email.policy
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path, PurePosixPath

import asyncpg
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from daemon.audio import ingest
from daemon.audio.errors import AudioRejected
from daemon.audio.report import Report
from daemon.audio.verdict import verdict
from daemon.config import Settings
from daemon.logs import get_logger
from daemon.mail.sending import MailNotSent, new_message, send
from daemon.postgres.errors import DB_ERRORS
from daemon.services import guidance
from daemon.services.actor import Actor, Kind
from daemon.services.errors import Invalid, NotFound

_log = get_logger(__name__)
AUDIO_EXT = frozenset({"mp3", "mp4", "m4a", "wav", "wave", "aac", "amr", "3gp", "ogg", "opus", "flac", "webm"})
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
UNKNOWN_SENDER = "このメールアドレスはガイダンスの送信元として登録されていません。管理画面で登録してください。"
NO_AUDIO = "音声ファイル（mp3・mp4・wav）が添付されていません。"


class MailIn(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLD_GUIDANCE_MAIL_", extra="ignore", frozen=True)

    port: int | None = Field(None, ge=0, le=65535, description="SMTP port for guidance by mail; unset: no listener")
    host: str = Field("0.0.0.0", description="address to listen on")  # mail comes from the internet
    hostname: str = Field("calld", description="the name the listener greets with")
    address: str = Field("", max_length=254, description="the address customers mail to, shown in the console")
    max_message_bytes: int = Field(80 * 1024 * 1024, ge=1024, description="larger messages are refused (552)")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attachment: the guidance it became, or why it did not."""

    filename: str
    name: str | None = None
    replaced: bool = False
    report: Report | None = None
    reason: str | None = None


def _filename(part: EmailMessage, index: int) -> str:
    raw = part.get_filename() or ""
    name = _UNSAFE.sub("", PurePosixPath(raw.replace("\\", "/")).name).strip()[:200]
    return name or f"音声{index}"


def is_audio(part: EmailMessage) -> bool:
    if part.is_multipart():
        return False
    kind = part.get_content_type()
    ext = PurePosixPath(part.get_filename() or "").suffix.lower().lstrip(".")
    return kind.startswith("audio/") or kind == "video/mp4" or ext in AUDIO_EXT


def _name(filename: str) -> str:
    """The guidance's name: the file's name without its extension (NFKC, as typed names are)."""
    stem = PurePosixPath(filename).stem if "." in filename else filename
    return unicodedata.normalize("NFKC", stem).strip()[:100] or filename


def refusal(exc: AudioRejected) -> str:
    """The reason in the sender's words."""
    limits = ingest.limits()
    if exc.reason == "too_large":
        return f"ファイルが大きすぎます（上限 {limits.max_bytes / 1024 / 1024:g} MB）。"
    if exc.reason == "too_long":
        return f"録音が長すぎます（上限 {limits.max_seconds / 60:g} 分）。"
    if exc.reason in ("silent", "too_short"):
        return "音が入っていないか、短すぎます。"
    return "音声として読み取れませんでした（壊れているか、対応していない形式です）。"


def _figures(report: Report) -> list[str]:
    before = report.before
    out = report.outputs[0] if report.outputs else None
    lines = [f"  判定: {verdict(report).words}"]
    advice = verdict(report).advice
    if advice:
        lines.append(f"  {advice}")
    if before.loudness_lufs is not None:
        lines.append(f"  元のラウドネス: {before.loudness_lufs:.1f} LUFS → 調整 {report.gain_db:+.1f} dB")
    if out is not None:
        level = f"{out.loudness_lufs:.1f} LUFS" if out.loudness_lufs is not None else "—"
        lines.append(f"  変換後: {level}、{out.duration_s:.1f} 秒（電話用 {out.rate} Hz）")
    return lines


def reply_text(tenant_name: str, outcomes: list[Outcome], problem: str | None) -> str:
    lines = [
        f"{tenant_name} 様" if tenant_name else "お客様",
        "",
        "ガイダンスの音声をお送りいただきありがとうございます。",
        "",
    ]
    if problem:
        lines += ["受け付けできませんでした。", f"理由: {problem}"]
    for o in outcomes:
        if o.reason:
            lines += [f"■ {o.filename}: 登録できませんでした", f"  理由: {o.reason}"]
        else:
            done = "差し替えました（次の着信から新しい音声が流れます）" if o.replaced else "登録しました"
            lines += [f"■ {o.filename}: ガイダンス「{o.name}」を{done}"]
            if o.report is not None:
                lines += _figures(o.report)
        lines.append("")
    lines += ["", "登録したガイダンスは管理画面の「ガイダンス」で試聴・差し替えできます。"]
    return "\n".join(lines)


class GuidanceMail:
    """The aiosmtpd handler: each message's audio becomes the sender's tenant's guidance."""

    def __init__(self, settings: Settings, pool: Callable[[], asyncpg.Pool | None]) -> None:
        self.settings = settings
        self._pool = pool  # None until the database is ready: mail is deferred (451) meanwhile

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        pool = self._pool()
        if pool is None:
            return "451 4.3.0 not ready, try again later"
        raw = envelope.original_content or b""
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        sender = parseaddr(str(message.get("From", "")))[1].strip().lower()
        if not sender or "@" not in sender:
            return "550 5.1.7 a From: address is needed"
        try:
            outcomes, tenant_name, problem = await self._take(pool, sender, message)
        except DB_ERRORS as exc:
            _log.error("guidance_mail_db_error", error=repr(exc))
            return "451 4.3.0 temporary failure, try again later"
        await self._reply(sender, message, tenant_name, outcomes, problem)
        return "250 2.0.0 OK"

    async def _take(
        self, pool: asyncpg.Pool, sender: str, message: EmailMessage
    ) -> tuple[list[Outcome], str, str | None]:
        found = await guidance.sender_tenant(pool, sender)
        if found is None:
            _log.info("guidance_mail_unknown_sender", sender=sender)
            return (
                [],
                "",
                "このメールアドレスはガイダンスの送信元として登録されていません。管理画面で登録してください。",
            )
        tenant_id, tenant_name = found
        parts = [p for p in message.walk() if isinstance(p, EmailMessage) and is_audio(p)]
        if not parts:
            return [], tenant_name, NO_AUDIO
        actor = Actor(Kind.SYSTEM, f"mail:{sender}", tenant_id)
        outcomes = [await self._one(pool, actor, tenant_id, part, i) for i, part in enumerate(parts, 1)]
        return outcomes, tenant_name, None

    async def _one(self, pool: asyncpg.Pool, actor: Actor, tenant_id: int, part: EmailMessage, index: int) -> Outcome:
        filename = _filename(part, index)
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        limits = ingest.limits()
        if len(data) > limits.max_bytes:
            return Outcome(filename, reason=refusal(AudioRejected("too_large", "too large")))
        if not data:
            return Outcome(filename, reason=refusal(AudioRejected("corrupt", "empty")))
        store = guidance.store(self.settings)
        path = await asyncio.to_thread(_write, store.root, data)
        upload = ingest.Upload(path, len(data), hashlib.sha256(data).hexdigest(), filename)
        name = _name(filename)
        try:
            try:
                made, replaced = await guidance.from_mail(pool, actor, store, tenant_id, name, upload)
            except Invalid:
                name = f"メールの音声 {index}"
                made, replaced = await guidance.from_mail(pool, actor, store, tenant_id, name, upload)
        except AudioRejected as exc:
            _log.info("guidance_mail_refused", tenant=tenant_id, file=filename, reason=exc.reason)
            return Outcome(filename, reason=refusal(exc))
        except NotFound:  # deleted between the lookup and the replace
            return Outcome(filename, reason="同じ名前のガイダンスが同時に削除されました。もう一度お送りください。")
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        _log.info("guidance_mail_taken", tenant=tenant_id, guidance=made.id, replaced=replaced)
        report = Report.model_validate(made.report) if made.report else None
        return Outcome(filename, name=made.name, replaced=replaced, report=report)

    async def _reply(
        self, sender: str, original: EmailMessage, tenant_name: str, outcomes: list[Outcome], problem: str | None
    ) -> None:
        subject = str(original.get("Subject", "")).strip()
        reply = new_message(
            self.settings,
            to=sender,
            subject=f"Re: {subject}" if subject else "ガイダンスの受付結果",
            text=reply_text(tenant_name, outcomes, problem),
        )
        if original.get("Message-ID"):
            reply["In-Reply-To"] = str(original["Message-ID"])
            reply["References"] = str(original["Message-ID"])
        reply["Auto-Submitted"] = "auto-replied"  # RFC 3834: no auto-reply loops
        try:
            await send(self.settings, reply)
        except MailNotSent as exc:
            _log.warning("guidance_mail_reply_not_sent", to=sender, reason=exc.reason)


def _write(root: Path, data: bytes) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".mail-", dir=root)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return Path(tmp)


class GuidanceMailServer:
    """The listener on the daemon's loop (no thread): start once configured, stop with the daemon."""

    def __init__(
        self, settings: Settings, pool: Callable[[], asyncpg.Pool | None], config: MailIn | None = None
    ) -> None:
        self.config = config or MailIn()
        self.handler = GuidanceMail(settings, pool)
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def enabled(self) -> bool:
        return self.config.port is not None

    async def start(self) -> int:
        c = self.config
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(
                self.handler,
                hostname=c.hostname,
                data_size_limit=c.max_message_bytes,
                decode_data=False,
                enable_SMTPUTF8=True,
            ),
            c.host,
            c.port or 0,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        _log.info("guidance_mail_listening", host=c.host, port=self.port)
        return self.port

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
