"""Voicemail notifications: e-mail to a real SMTP server, signed webhooks to a real HTTP receiver, retried, durable."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web

from daemon.repositories import notifications as notify_db
from daemon.repositories import tenants
from daemon.repositories.notifications import NotifySettings
from daemon.services import notifications
from daemon.services.actor import Actor
from daemon.services.errors import Invalid
from tests.conftest import DaemonFactory
from tests.mail.voicemails import left
from tests.mail_server import MailBox


@dataclass
class Receiver:
    """A webhook receiver: answers the queued statuses in turn (then 200), keeps what arrived."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((dict(request.headers), await request.read()))
        self.arrived.set()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    async def wait_for(self, count: int, within: float = 15.0) -> None:
        async with asyncio.timeout(within):
            while len(self.got) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    got = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/voicemail", got.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    got.url = f"http://127.0.0.1:{port}/hooks/voicemail"
    yield got
    await runner.cleanup()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLD_NOTIFY_RETRY_SECONDS", "0.3")
    monkeypatch.setenv("CALLD_NOTIFY_ALLOW_PRIVATE_WEBHOOKS", "1")
    monkeypatch.setenv("CALLD_NOTIFY_PUBLIC_URL", "https://console.calld.test")


async def _shop(
    start_daemon: DaemonFactory, mailbox: MailBox, name: str, emails: list[str], url: str
) -> tuple[asyncpg.Pool, int, NotifySettings]:
    """A daemon sending mail to the test's SMTP server, and a tenant told of its messages there and at ``url``."""
    daemon = await start_daemon(**mailbox.settings())
    pool = daemon.pool
    assert pool is not None
    tenant_id = await tenants.create_tenant(pool, name, 1)
    saved = await notifications.save(pool, Actor.tenant_token(tenant_id), tenant_id, emails, url)
    return pool, tenant_id, saved


async def _deliveries(pool: asyncpg.Pool, tenant_id: int, count: int, within: float = 15.0) -> list[notify_db.Delivery]:
    """The tenant's deliveries once ``count`` of them are over (sent or failed)."""
    async with asyncio.timeout(within):
        while True:
            found = await notify_db.log(pool, tenant_id)
            if sum(d.state != "pending" for d in found) >= count:
                return sorted(found, key=lambda d: d.id)
            await asyncio.sleep(0.1)


@pytest.mark.usefixtures("quick_retries")
async def test_a_new_message_is_mailed_with_its_recording_and_posted_signed_and_retried_after_a_500(
    start_daemon: DaemonFactory, mailbox: MailBox, receiver: Receiver, tmp_path: Path
) -> None:
    pool, tenant_id, saved = await _shop(
        start_daemon, mailbox, "山田クリニック", ["Uketsuke@Clinic.example.jp"], receiver.url
    )
    receiver.statuses = [500]  # the receiver is down for the first attempt

    vm, recording = await left(pool, tenant_id, tmp_path)

    [mail] = await mailbox.wait_for(1)
    assert mailbox.envelopes[0].rcpt_tos == ["uketsuke@clinic.example.jp"]
    assert mail["Subject"] == "【留守番電話】09011112222 からのメッセージ（12秒）"
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "山田クリニック 様" in text and "長さ: 12秒" in text and "添付しました" in text
    assert "https://console.calld.test/console/ivr/voicemail" in text
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == f"voicemail-{vm}.wav"
    assert attachment.get_content() == recording.read_bytes()

    await receiver.wait_for(2)
    (first, _), (headers, raw) = receiver.got
    assert first["X-Calld-Delivery"] == headers["X-Calld-Delivery"]  # the receiver can tell a retry
    signed = f"{headers['X-Calld-Timestamp']}.".encode() + raw
    expected = hmac.new(saved.webhook_secret.encode(), signed, hashlib.sha256)
    assert headers["X-Calld-Signature"] == "sha256=" + expected.hexdigest()
    assert headers["X-Calld-Event"] == "voicemail.created"
    sent = json.loads(raw)
    assert sent["event"] == "voicemail.created" and sent["tenant_id"] == tenant_id
    assert sent["voicemail"]["id"] == vm and sent["voicemail"]["caller_number"] == "09011112222"
    assert sent["voicemail"]["duration_ms"] == 12_400
    assert sent["voicemail"]["audio_url"] == f"https://console.calld.test/api/v1/operator/ivr/voicemails/{vm}/audio"

    email, hook = await _deliveries(pool, tenant_id, 2)
    assert (email.channel, email.state, email.attempts) == ("email", "sent", 1)
    assert (hook.channel, hook.state, hook.attempts, hook.last_status) == ("webhook", "sent", 2, 200)


@pytest.mark.usefixtures("quick_retries")
async def test_a_large_recording_is_linked_and_a_webhook_that_keeps_failing_is_given_up(
    start_daemon: DaemonFactory,
    mailbox: MailBox,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLD_NOTIFY_ATTACH_MAX_BYTES", "1000")
    monkeypatch.setenv("CALLD_NOTIFY_MAX_ATTEMPTS", "2")
    pool, tenant_id, _ = await _shop(start_daemon, mailbox, "shop", ["a@shop.example.jp"], receiver.url)
    receiver.statuses = [503, 503, 503]

    await left(pool, tenant_id, tmp_path)

    [mail] = await mailbox.wait_for(1)
    assert list(mail.iter_attachments()) == []
    body = mail.get_body(("plain",))
    assert body is not None and "大きいため添付していません" in body.get_content()
    _, hook = await _deliveries(pool, tenant_id, 2)
    assert (hook.state, hook.attempts, hook.last_status) == ("failed", 2, 503)
    assert len(receiver.got) == 2


@pytest.mark.usefixtures("quick_retries")
async def test_a_notification_pending_while_no_daemon_runs_is_sent_by_the_next_one(
    start_daemon: DaemonFactory, mailbox: MailBox, receiver: Receiver, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    tenant_id = await tenants.create_tenant(pool, "shop", 1)
    await notifications.save(pool, Actor.tenant_token(tenant_id), tenant_id, [], receiver.url)
    vm, _ = await left(pool, tenant_id, tmp_path)  # the daemon that recorded it died before sending
    [pending] = await notify_db.log(pool, tenant_id)
    assert pending.state == "pending"

    await start_daemon(**mailbox.settings())

    await receiver.wait_for(1)
    assert json.loads(receiver.got[0][1])["voicemail"]["id"] == vm
    [done] = await _deliveries(pool, tenant_id, 1)
    assert (done.state, done.attempts) == ("sent", 1)


async def test_a_webhook_to_our_own_network_is_refused_and_bad_settings_change_nothing(
    start_daemon: DaemonFactory, mailbox: MailBox, receiver: Receiver, tmp_path: Path
) -> None:
    daemon = await start_daemon(**mailbox.settings())
    pool = daemon.pool
    assert pool is not None
    tenant_id = await tenants.create_tenant(pool, "shop", 1)
    actor = Actor.tenant_token(tenant_id)
    with pytest.raises(Invalid) as refused:
        await notifications.save(pool, actor, tenant_id, ["not-an-address"], "ftp://x")
    assert set(refused.value.fields) == {"emails", "webhook_url"}
    assert await notify_db.settings(pool, tenant_id) is None

    await notifications.save(pool, actor, tenant_id, [], receiver.url)
    await left(pool, tenant_id, tmp_path)
    [refusal] = await _deliveries(pool, tenant_id, 1)
    assert refusal.state == "failed" and refusal.attempts == 1 and "private address" in (refusal.last_error or "")
    assert receiver.got == []
