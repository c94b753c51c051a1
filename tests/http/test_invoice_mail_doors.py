"""Issued invoices as PDFs and by mail through the CLI and the admin API (real SMTP server in the test)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from daemon.repositories import billing_contacts
from daemon.repositories.billing_contacts import BillingContact
from daemon.rules.billing.invoice import JST
from tests.conftest import DaemonFactory
from tests.http.test_cli import env, run
from tests.http.test_invoices_cli import ISSUER_ENV, backdated_tenant
from tests.http.test_status_admin import ADMIN, call, url
from tests.mail_server import MailBox
from tests.services.test_invoice_mail import pdf_text

__all__ = ["env"]  # the CLI tests' fixture, used here by name
CONTACT = BillingContact("アクメ商事株式会社", "東京都千代田区1-1", "keiri@acme.example.jp")


async def test_the_cli_closes_and_mails_a_month_and_writes_a_pdf(
    env: str,
    pool: asyncpg.Pool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    mailbox: MailBox,
    tmp_path: Path,
) -> None:
    acme = await backdated_tenant(pool, "acme", datetime(2026, 3, 10, tzinfo=JST), 1)
    silent = await backdated_tenant(pool, "silent", datetime(2026, 3, 10, tzinfo=JST), 1)
    await billing_contacts.set_contact(pool, acme, CONTACT)
    for key, value in ISSUER_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CALLD_SMTP_HOST", mailbox.host)
    monkeypatch.setenv("CALLD_SMTP_PORT", str(mailbox.port))
    monkeypatch.setenv("CALLD_SMTP_SECURITY", "none")
    monkeypatch.setenv("CALLD_MAIL_FROM", "calld <billing@calld.test>")

    code, out, err = await run(capsys, "invoice", "close", "2026-03", "--send")
    assert code == 1 and "1 of 2 invoices for 2026-03 were not closed or sent" in err
    assert f"tenant {acme}: INV-{acme}-202603 sent to keiri@acme.example.jp" in out
    assert f"tenant {silent}: not sent: tenant {silent} has no billing e-mail address" in out
    [message] = await mailbox.wait_for(1)
    assert message["To"] == "keiri@acme.example.jp"

    code, out, _ = await run(capsys, "invoice", "send", "2026-03", "--tenant", str(acme))
    assert code == 0 and len(await mailbox.wait_for(2)) == 2

    target = tmp_path / "acme.pdf"
    code, out, _ = await run(capsys, "invoice", "pdf", str(acme), "2026-03", str(target))
    assert code == 0 and "issued" in out
    assert "アクメ商事株式会社 御中" in pdf_text(target.read_bytes())


async def test_the_api_serves_the_pdf_and_mails_an_issued_invoice(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool, mailbox: MailBox
) -> None:
    acme = await backdated_tenant(pool, "acme", datetime(2026, 3, 10, tzinfo=JST), 1)
    await billing_contacts.set_contact(pool, acme, CONTACT)
    daemon = await start_daemon(
        invoice_issuer_name="calld株式会社", invoice_registration_number="T7000012050002", **mailbox.settings()
    )
    month = f"/api/v1/tenants/{acme}/invoices/2026-03"
    status, _ = await call(http, daemon, "POST", month + "/send")
    assert status == 409  # not issued yet
    status, _ = await call(http, daemon, "POST", month + "/close")
    assert status == 201
    async with http.get(url(daemon, month + ".pdf"), headers=ADMIN) as resp:
        assert resp.status == 200 and resp.content_type == "application/pdf"
        assert "登録番号: T7000012050002" in pdf_text(await resp.read())
    status, body = await call(http, daemon, "POST", month + "/send")
    assert status == 200 and isinstance(body, dict) and body["sent_to"] == "keiri@acme.example.jp"
    [message] = await mailbox.wait_for(1)
    assert [a.get_filename() for a in message.iter_attachments()] == [f"INV-{acme}-202603.pdf"]
