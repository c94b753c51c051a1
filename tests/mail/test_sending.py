"""daemon.mail.sending against a real SMTP server in the test process."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.mail.sending import MailNotSent, configured, new_message, send
from tests.conftest import make_settings
from tests.mail_server import MailBox


async def test_a_japanese_message_with_an_attachment_arrives_intact(mailbox: MailBox, tmp_path: Path) -> None:
    settings = make_settings("postgresql://unused", tmp_path, **mailbox.settings())
    message = new_message(
        settings, to="受付 <clinic@example.jp>", subject="留守番電話が届きました", text="03-1234-5678 から"
    )
    message.add_attachment(b"RIFF....WAVE", maintype="audio", subtype="wav", filename="留守電.wav")

    await send(settings, message)

    [got] = await mailbox.wait_for(1)
    assert got["Subject"] == "留守番電話が届きました"
    assert got["Message-ID"].endswith("@calld.test>")
    assert mailbox.envelopes[0].rcpt_tos == ["clinic@example.jp"]
    body = got.get_body(("plain",))
    assert body is not None and "03-1234-5678 から" in body.get_content()
    [attachment] = list(got.iter_attachments())
    assert attachment.get_filename() == "留守電.wav"
    assert attachment.get_content() == b"RIFF....WAVE"


async def test_a_refused_recipient_is_a_reason_not_a_crash(mailbox: MailBox, tmp_path: Path) -> None:
    mailbox.refuse.add("gone@example.jp")
    settings = make_settings("postgresql://unused", tmp_path, **mailbox.settings())

    with pytest.raises(MailNotSent, match="refused the recipient"):
        await send(settings, new_message(settings, to="gone@example.jp", subject="x", text="x"))
    assert mailbox.messages == []


async def test_no_server_configured_sends_nothing_and_says_so(tmp_path: Path) -> None:
    settings = make_settings("postgresql://unused", tmp_path)
    assert not configured(settings)
    with pytest.raises(MailNotSent, match="CALLD_SMTP_HOST"):
        await send(settings, new_message(settings, to="a@example.jp", subject="x", text="x"))


async def test_a_server_that_is_not_there_is_a_reason(tmp_path: Path, unused_tcp_port: int) -> None:
    settings = make_settings(
        "postgresql://unused",
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=unused_tcp_port,
        smtp_security="none",
        mail_from="calld <noreply@calld.test>",
    )
    with pytest.raises(MailNotSent, match=r"could not talk to 127\.0\.0\.1"):
        await send(settings, new_message(settings, to="a@example.jp", subject="x", text="x"))
