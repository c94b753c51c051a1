"""Issued invoices in the console as PDFs (admin and customer) and mailed to the billing address (real SMTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from daemon.repositories import billing_contacts
from daemon.repositories.billing_contacts import BillingContact
from daemon.rules.billing.invoice import Period
from daemon.services import invoices as invoice_service
from tests.console.conftest import BrowserFactory, Console
from tests.mail_server import MailBox
from tests.services.test_invoice_mail import pdf_text


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def test_an_issued_invoice_is_downloaded_as_a_pdf_and_mailed_once_confirmed(
    console: Console, browser: BrowserFactory, monkeypatch: pytest.MonkeyPatch, mailbox: MailBox
) -> None:
    this_month = str(Period.containing(datetime.now(UTC)))
    settings = console.daemon.settings
    monkeypatch.setattr(settings, "invoice_issuer_name", "株式会社コールディー")
    monkeypatch.setattr(settings, "invoice_registration_number", "T7000012050002")
    for key, value in mailbox.settings().items():
        monkeypatch.setattr(settings, key, value)
    await billing_contacts.set_contact(
        _pool(console),
        console.a.tenant_id,
        BillingContact("株式会社アルファ", "東京都港区1-1", "keiri@alpha.example.jp"),
    )
    admin = await browser()
    await admin.login(console.admin)
    page = await admin.get(f"/console/admin/invoices?period={this_month}")
    assert "/close" not in page.text  # the current month is not offered for closing
    assert (await admin.post(f"/console/admin/invoices/{console.a.tenant_id}/{this_month}/close")).status == 409

    later = datetime.now(UTC) + timedelta(days=40)
    monkeypatch.setattr(invoice_service, "clock", lambda: later)
    page = await admin.get(f"/console/admin/invoices?period={this_month}")
    assert f"/console/admin/invoices/{console.a.tenant_id}/{this_month}/close" in page.text
    page = await admin.post(f"/console/admin/invoices/{console.a.tenant_id}/{this_month}/close")
    assert page.status == 200 and page.has("請求書を確定しました。")

    async with admin.session.get(f"{admin.base}/console/admin/invoices/{console.a.tenant_id}/{this_month}.pdf") as r:
        assert r.status == 200 and r.content_type == "application/pdf"
        text = pdf_text(await r.read())
    assert "株式会社アルファ 御中" in text and "登録番号: T7000012050002" in text

    page = await admin.post(f"/console/admin/invoices/{console.a.tenant_id}/{this_month}/send")
    assert page.status == 200 and page.has("請求書をメールで送付しました。") and page.has("keiri@alpha.example.jp")
    [message] = await mailbox.wait_for(1)
    assert message["To"] == "keiri@alpha.example.jp" and len(list(message.iter_attachments())) == 1

    page = await admin.post(f"/console/admin/invoices/{console.b.tenant_id}/{this_month}/send")  # not issued
    assert page.status == 409 and page.has("確定前の請求書は送付できません。")

    customer = await browser()
    await customer.login(console.a.ivr)
    async with customer.session.get(f"{customer.base}/console/ivr/invoices/{this_month}.pdf") as r:
        assert r.status == 200 and "株式会社アルファ 御中" in pdf_text(await r.read())
    other = await browser()
    await other.login(console.b.ivr)
    async with other.session.get(f"{other.base}/console/ivr/invoices/{this_month}.pdf") as r:
        assert r.status == 404
