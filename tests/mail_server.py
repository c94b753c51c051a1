"""A real SMTP server in the test process (aiosmtpd on the test's event loop).

Tests that send mail point ``CALLD_SMTP_*`` at it (``smtp_settings``) and read what
arrived, parsed, from ``MailBox.messages``.  Recipients in ``MailBox.refuse`` are
answered ``550`` as a real server refuses an unknown mailbox.
"""

from __future__ import annotations

import asyncio
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class MailBox:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        async with self._arrived:
            self.envelopes.append(envelope)
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    async def wait_for(self, count: int, within: float = 10.0) -> list[EmailMessage]:
        """The first ``count`` messages, waiting for them to arrive; TimeoutError otherwise."""
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.messages) >= count)
        return self.messages[:count]

    def settings(self) -> dict[str, Any]:
        """Overrides for ``make_settings``: this server, no TLS, our sender address."""
        return {
            "smtp_host": self.host,
            "smtp_port": self.port,
            "smtp_security": "none",
            "mail_from": "calld <noreply@calld.test>",
        }


@pytest.fixture
async def mailbox() -> AsyncIterator[MailBox]:
    box = MailBox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(box, decode_data=False, enable_SMTPUTF8=True), box.host, 0)
    box.port = server.sockets[0].getsockname()[1]
    try:
        yield box
    finally:
        server.close()
        await server.wait_closed()
