"""An issued invoice as a PDF (text extracted with pypdf) mailed to the billing address through a real SMTP server."""

from __future__ import annotations

import io
from datetime import datetime

import asyncpg
import pytest
from pypdf import PdfReader

from daemon.repositories import audit, billing_contacts
from daemon.repositories.billing_contacts import BillingContact
from daemon.rules.billing import invoice_pdf
from daemon.rules.billing.invoice import Invoice
from daemon.services import invoice_mail, invoices
from daemon.services.actor import Actor
from tests.conftest import make_settings
from tests.db.test_invoices import AFTER_MARCH, MARCH, TERMS, jst, lines_at, tenant_since
from tests.mail_server import MailBox

ADMIN = Actor.cli("root")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def in_april(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invoices, "clock", lambda: AFTER_MARCH)


async def _issued(pool: asyncpg.Pool, contact: BillingContact) -> tuple[int, Invoice]:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1, name="さくら歯科")
    await lines_at(pool, tenant_id, 3, jst(2026, 3, 15, 12))  # two lines added mid-month: the whole month
    await billing_contacts.set_contact(pool, tenant_id, contact)
    return tenant_id, await invoices.close(pool, ADMIN, tenant_id, MARCH, TERMS)


CONTACT = BillingContact("医療法人さくら会", "東京都渋谷区神宮前1-2-3", "office@sakura.example.jp")


async def test_the_pdf_keeps_every_qualified_invoice_field_in_japanese(pool: asyncpg.Pool, in_april: None) -> None:
    _, issued = await _issued(pool, CONTACT)
    text = pdf_text(invoice_pdf.to_pdf(issued))
    for wanted in (
        "請 求 書",
        "医療法人さくら会 御中",
        "東京都渋谷区神宮前1-2-3",
        "calld株式会社",
        "登録番号: T7000012050002",
        "INV-",
        "2026年3月1日〜2026年3月31日",
        "基本料金（1回線を含む）",
        "追加回線",
        "34,800円",  # 14,800 + 2 × 10,000, before tax
        "10%対象（税抜）",
        "3,480円",  # the tax, once for the rate
        "38,280円",
        "みずほ銀行 本店 普通 1234567",
        "振込手数料はお客様のご負担となります",
    ):
        assert wanted in text, wanted
    assert issued.addressee == "医療法人さくら会" and issued.total_yen == 38_280
    assert "未確定" not in text


async def test_an_issued_invoice_is_mailed_with_its_pdf_and_recorded(
    pool: asyncpg.Pool, in_april: None, mailbox: MailBox, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = make_settings("postgresql://unused", tmp_path_factory.mktemp("p"), **mailbox.settings())
    tenant_id, issued = await _issued(pool, CONTACT)
    mailed = await invoice_mail.send(pool, ADMIN, settings, tenant_id, MARCH, TERMS)
    assert mailed.sent_to == "office@sakura.example.jp" and isinstance(mailed.sent_at, datetime)
    [message] = await mailbox.wait_for(1)
    assert message["To"] == "office@sakura.example.jp"
    assert message["Subject"] == f"【ご請求書】2026年3月分 {issued.number}"
    body = message.get_body(("plain",))
    assert body is not None and "38,280円" in body.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{issued.number}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert "登録番号: T7000012050002" in pdf_text(attachment.get_content())
    assert await pool.fetchval("SELECT sent_to FROM invoice_mailings WHERE tenant_id = $1", tenant_id) == mailed.sent_to
    assert (await audit.recent(pool))[0].action == "invoice.mail"


async def test_nothing_is_recorded_when_the_invoice_cannot_or_did_not_leave(
    pool: asyncpg.Pool, in_april: None, mailbox: MailBox, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = make_settings("postgresql://unused", tmp_path_factory.mktemp("p"), **mailbox.settings())
    tenant_id, _ = await _issued(pool, BillingContact("医療法人さくら会", "", ""))
    with pytest.raises(invoice_mail.NotMailed) as no_address:
        await invoice_mail.send(pool, ADMIN, settings, tenant_id, MARCH, TERMS)
    assert no_address.value.code == invoice_mail.NO_ADDRESS

    await billing_contacts.set_contact(pool, tenant_id, CONTACT)
    mailbox.refuse.add("office@sakura.example.jp")
    with pytest.raises(invoice_mail.NotMailed) as refused:
        await invoice_mail.send(pool, ADMIN, settings, tenant_id, MARCH, TERMS)
    assert refused.value.code == invoice_mail.NOT_SENT and "no such mailbox" in str(refused.value)

    with pytest.raises(invoice_mail.NotMailed) as preview:  # April is not over: a preview is never mailed
        await invoice_mail.send(pool, ADMIN, settings, tenant_id, MARCH.next(), TERMS)
    assert preview.value.code == invoice_mail.NOT_ISSUED
    assert await pool.fetchval("SELECT count(*) FROM invoice_mailings") == 0
    assert mailbox.messages == []
