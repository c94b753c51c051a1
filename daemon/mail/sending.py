"""Sending one message through the configured SMTP server (aiosmtplib).

Every mail the daemon sends goes through :func:`send`, so the server, its security
(STARTTLS on 587, implicit TLS on 465, or none for a local relay), the login and the
``From:`` are configured once (``CALLD_SMTP_*``, ``CALLD_MAIL_FROM``).  A message that
cannot be sent raises :class:`MailNotSent` with a sentence a person can act on; the
caller decides whether to retry (a notification queue) or to tell the user (a button
in the console).  Nothing here keeps state: durable retries belong to whoever owns
the message.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from daemon.config import Settings


class MailNotSent(Exception):
    """The message did not leave: ``reason`` says why in one English sentence (logs, API)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def configured(settings: Settings) -> bool:
    """True when an SMTP server and a sender address are set."""
    return bool(settings.smtp_host and settings.mail_from)


def new_message(settings: Settings, *, to: str, subject: str, text: str) -> EmailMessage:
    """A plain-text UTF-8 message from ``CALLD_MAIL_FROM`` with a Message-ID; add attachments to it."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    domain = settings.mail_from.rpartition("@")[2].strip(" >") or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text, charset="utf-8")
    return message


async def send(settings: Settings, message: EmailMessage) -> None:
    """Hand ``message`` to the SMTP server; :class:`MailNotSent` if it was not accepted."""
    if not configured(settings):
        raise MailNotSent("no SMTP server is configured (CALLD_SMTP_HOST and CALLD_MAIL_FROM)")
    password = settings.smtp_password.get_secret_value()
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            username=settings.smtp_username or None,
            password=password or None,
            timeout=settings.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise MailNotSent(f"the server refused the recipient: {exc.recipients[0].message}") from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise MailNotSent(f"the server answered {exc.code}: {exc.message}") from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise MailNotSent(f"could not talk to {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc
