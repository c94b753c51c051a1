"""Invoices in the console: the admin's month view and closing; the IVR customer's own issued invoices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from daemon.repositories import audit, invoices
from daemon.rules.billing.invoice import Period
from daemon.services import invoices as invoice_service
from tests.console.conftest import BrowserFactory, Console


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def test_the_admin_closes_a_month_and_the_tenant_sees_only_its_own_invoice(
    console: Console, browser: BrowserFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = _pool(console)
    this_month = str(Period.containing(datetime.now(UTC)))
    later = datetime.now(UTC) + timedelta(days=40)
    monkeypatch.setattr(invoice_service, "clock", lambda: later)  # the service layer's seam for the time
    # the issuer a real deployment configures (CALLD_INVOICE_ISSUER_NAME, …)
    monkeypatch.setattr(console.daemon.settings, "invoice_issuer_name", "株式会社コールディー")
    monkeypatch.setattr(console.daemon.settings, "invoice_registration_number", "T1234567890123")
    admin = await browser()
    await admin.login(console.admin)
    page = await admin.get(f"/console/admin/invoices?period={this_month}")
    assert page.status == 200 and page.has("alpha") and page.has("未確定")
    page = await admin.post(f"/console/admin/invoices/{console.a.tenant_id}/{this_month}/close")
    assert page.status == 200 and page.has("確定")
    [closed] = await invoices.closed_invoices(pool, console.a.tenant_id)
    assert closed.period == this_month
    row = (await audit.recent(pool))[0]
    assert (row.action, row.tenant_id, row.after["total_yen"]) == (
        "invoice.close",
        console.a.tenant_id,
        closed.total_yen,
    )
    document = await admin.get(f"/console/admin/invoices/{console.a.tenant_id}/{this_month}.html")
    assert document.status == 200 and document.has(closed.number)
    again = await admin.post(f"/console/admin/invoices/{console.a.tenant_id}/{this_month}/close")
    assert again.status == 409

    customer = await browser()
    await customer.login(console.a.ivr)
    mine = await customer.get("/console/ivr/invoices")
    assert mine.has(closed.number)
    assert (await customer.get(f"/console/ivr/invoices/{this_month}.html")).has(closed.number)
    other = await browser()
    await other.login(console.b.ivr)
    assert not (await other.get("/console/ivr/invoices")).has(closed.number)
    assert (await other.get(f"/console/ivr/invoices/{this_month}.html")).status == 404  # beta's is not issued
    assert (await other.get("/console/admin/invoices")).status == 403
