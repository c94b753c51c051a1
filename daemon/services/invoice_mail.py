"""Mailing an issued invoice to the tenant's billing address, its PDF attached.

Only an issued (closed) invoice leaves the building, never a preview.  The
message goes through the one SMTP sender (:mod:`daemon.mail.sending`); once the
server has accepted it, the sending is recorded (``invoice_mailings``) with its
audit row.  A refusal says why: no billing address, not issued, or the SMTP
server's own answer (:class:`NotMailed`, with the reason for a person).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.config import Settings
from daemon.mail import sending
from daemon.repositories import billing_contacts, invoice_mailings
from daemon.repositories.invoices import Terms
from daemon.rules.billing import invoice_pdf
from daemon.rules.billing.invoice import Invoice, Period
from daemon.rules.billing.invoice_render import japanese_date, yen
from daemon.services import invoices
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import Conflict

NO_ADDRESS = "invoice_no_address"
NOT_ISSUED = "invoice_not_issued"
NOT_SENT = "invoice_mail_failed"


class NotMailed(Conflict):
    """The invoice was not sent; ``code`` says why (no address, not issued, the SMTP server refused)."""


@dataclass(frozen=True, slots=True)
class Mailed:
    number: str
    sent_to: str
    sent_at: datetime


def filename(found: Invoice) -> str:
    return f"{found.number}.pdf"


def body_text(found: Invoice) -> str:
    issuer = found.issuer.name or "calld"
    return (
        f"{found.addressee} 御中\n\n"
        f"いつもお世話になっております。{issuer}です。\n"
        f"{found.period_start.year}年{found.period_start.month}月分のご請求書（{found.number}）をお送りします。\n\n"
        f"ご請求金額（税込）: {yen(found.total_yen)}\n"
        f"お支払期限: {japanese_date(found.due_on)}\n\n"
        f"振込先:\n{found.issuer.bank_account or '（振込先は請求書をご覧ください）'}\n"
        f"{found.payment_note}\n\n"
        "請求書はPDFを添付しております。コンソールの「請求書」からもご覧いただけます。\n"
    )


async def send(
    pool: asyncpg.Pool, actor: Actor, settings: Settings, tenant_id: int, period: Period, terms: Terms
) -> Mailed:
    actor.require_platform()
    found = await invoices.invoice(pool, actor, tenant_id, period, terms)
    if found.status != "closed":
        raise NotMailed(f"{period} is not issued yet: only an issued invoice is mailed", code=NOT_ISSUED)
    to = (await billing_contacts.get(pool, tenant_id)).email
    if not to:
        raise NotMailed(f"tenant {tenant_id} has no billing e-mail address", code=NO_ADDRESS)
    message = sending.new_message(
        settings,
        to=to,
        subject=f"【ご請求書】{found.period_start.year}年{found.period_start.month}月分 {found.number}",
        text=body_text(found),
    )
    pdf = await asyncio.to_thread(invoice_pdf.to_pdf, found)  # CPU work, off the call loop
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename(found))
    try:
        await sending.send(settings, message)
    except sending.MailNotSent as exc:
        raise NotMailed(f"invoice {found.number} was not sent: {exc.reason}", code=NOT_SENT) from None
    async with change(pool, actor) as c:
        sent_at = await invoice_mailings.record(c.conn, tenant_id, period.first_day, to)
        await c.record("invoice.mail", tenant_id=tenant_id, target=f"invoice {found.number}", after={"sent_to": to})
    return Mailed(found.number, to, sent_at)
