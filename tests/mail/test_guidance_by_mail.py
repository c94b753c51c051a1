"""Guidance by e-mail: a real SMTP client mails the daemon's listener; the sender gets the report or the reason."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from daemon.app import Daemon
from daemon.audio import ingest
from daemon.audio.limits import GuidanceLimits
from daemon.repositories import audit, guidance, tenants
from daemon.services import guidance as guidance_service
from daemon.services.actor import Actor
from tests.audio.media import FORMATS, encode, speech_like
from tests.conftest import DaemonFactory
from tests.mail_server import MailBox

CLINIC = "uketsuke@clinic.example.jp"


@pytest.fixture
async def daemon(start_daemon: DaemonFactory, mailbox: MailBox, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    monkeypatch.setenv("CALLD_GUIDANCE_MAIL_PORT", "0")  # any free port
    monkeypatch.setenv("CALLD_GUIDANCE_MAIL_HOST", "127.0.0.1")
    return await start_daemon(**mailbox.settings())


async def _clinic(daemon: Daemon) -> int:
    assert daemon.pool is not None
    tenant_id = await tenants.create_tenant(daemon.pool, "山田クリニック", 1)
    await guidance_service.set_senders(
        daemon.pool, Actor.tenant_token(tenant_id), tenant_id, ["Uketsuke@Clinic.example.jp"]
    )
    return tenant_id


def _mail(sender: str, files: dict[str, tuple[bytes, str]], subject: str = "ガイダンスです") -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"山田 <{sender}>"
    message["To"] = "guidance@calld.test"
    message["Subject"] = subject
    message["Message-ID"] = "<original-1@clinic.example.jp>"
    message.set_content("よろしくお願いします。")
    for name, (data, kind) in files.items():
        main, sub = kind.split("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return message


async def _send(daemon: Daemon, message: EmailMessage) -> None:
    await aiosmtplib.send(message, hostname="127.0.0.1", port=daemon.guidance_mail.port, timeout=120)


def _reply_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert isinstance(text, str)
    return text


async def test_a_registered_sender_s_mp3_becomes_guidance_and_the_reply_carries_the_report(
    daemon: Daemon, mailbox: MailBox, tmp_path: Path
) -> None:
    pool = daemon.pool
    assert pool is not None
    tenant_id = await _clinic(daemon)
    mp3 = encode(tmp_path / "greeting.mp3", speech_like(2.0, 16000, lead=0.2) * 0.5, 16000, FORMATS["mp3"])
    files = {"受付.mp3": (mp3.read_bytes(), "audio/mpeg"), "壊れた.wav": (b"RIFF but not really" * 50, "audio/wav")}

    await _send(daemon, _mail(CLINIC, files))

    [made] = await guidance.all_of(pool, tenant_id)
    assert (made.name, made.kind, made.original_name) == ("受付", "upload", "受付.mp3")
    [reply] = await mailbox.wait_for(1)
    assert mailbox.envelopes[0].rcpt_tos == [CLINIC]
    assert reply["Subject"] == "Re: ガイダンスです" and reply["In-Reply-To"] == "<original-1@clinic.example.jp>"
    assert reply["Auto-Submitted"] == "auto-replied"
    text = _reply_text(reply)
    assert "山田クリニック 様" in text
    assert "■ 受付.mp3: ガイダンス「受付」を登録しました" in text and "判定: 聞き取りやすい" in text
    assert made.report is not None and f"{made.report['outputs'][0]['loudness_lufs']:.1f} LUFS" in text
    assert "■ 壊れた.wav: 登録できませんでした" in text and "音声として読み取れませんでした" in text
    row = (await audit.recent(pool))[0]
    assert (row.action, row.login, row.tenant_id) == ("ivr.guidance.create", f"mail:{CLINIC}", tenant_id)

    # the same file name again: the guidance keeps its id and gets the new sound
    wav = encode(tmp_path / "new.wav", speech_like(1.5, 16000, seed=3, lead=0.2) * 0.5, 16000, FORMATS["wav16"])
    await _send(daemon, _mail(CLINIC, {"受付.wav": (wav.read_bytes(), "audio/wav")}))
    [again] = await guidance.all_of(pool, tenant_id)
    assert again.id == made.id and again.digest != made.digest and again.original_name == "受付.wav"
    [_, second] = await mailbox.wait_for(2)
    assert "ガイダンス「受付」を差し替えました" in _reply_text(second)


async def test_an_unknown_sender_and_a_mail_without_audio_get_the_reason_and_store_nothing(
    daemon: Daemon, mailbox: MailBox, tmp_path: Path
) -> None:
    pool = daemon.pool
    assert pool is not None
    tenant_id = await _clinic(daemon)
    mp3 = encode(tmp_path / "greeting.mp3", speech_like(1.0, 16000) * 0.5, 16000, FORMATS["mp3"])

    await _send(daemon, _mail("stranger@example.com", {"受付.mp3": (mp3.read_bytes(), "audio/mpeg")}))
    [unknown] = await mailbox.wait_for(1)
    assert mailbox.envelopes[0].rcpt_tos == ["stranger@example.com"]
    assert "送信元として登録されていません" in _reply_text(unknown)

    await _send(daemon, _mail(CLINIC, {"メモ.txt": (b"hello", "text/plain")}))
    [_, no_audio] = await mailbox.wait_for(2)
    assert "音声ファイル（mp3・mp4・wav）が添付されていません" in _reply_text(no_audio)
    assert await guidance.all_of(pool, tenant_id) == []


async def test_too_large_and_too_long_recordings_are_refused_in_the_reply(
    daemon: Daemon, mailbox: MailBox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = daemon.pool
    assert pool is not None
    tenant_id = await _clinic(daemon)
    wav = encode(tmp_path / "long.wav", speech_like(3.0, 16000) * 0.5, 16000, FORMATS["wav16"])
    monkeypatch.setattr(ingest, "limits", lambda: GuidanceLimits(max_bytes=len(wav.read_bytes()) - 1))
    await _send(daemon, _mail(CLINIC, {"大きい.wav": (wav.read_bytes(), "audio/wav")}))
    [large] = await mailbox.wait_for(1)
    assert "■ 大きい.wav: 登録できませんでした" in _reply_text(large) and "ファイルが大きすぎます" in _reply_text(large)

    monkeypatch.setattr(ingest, "limits", lambda: GuidanceLimits(max_seconds=1.0))
    await _send(daemon, _mail(CLINIC, {"長い.wav": (wav.read_bytes(), "audio/wav")}))
    [_, long] = await mailbox.wait_for(2)
    assert "録音が長すぎます" in _reply_text(long)
    assert await guidance.all_of(pool, tenant_id) == []
