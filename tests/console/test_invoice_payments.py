"""The admin's 請求書の入金 page: overdue invoices, our statement matched and paid once, an invoice paid by hand."""

from __future__ import annotations

import re

import aiohttp

from daemon.repositories import invoices
from daemon.repositories.bank_lines import lines
from tests.bank.test_invoice_payments import TOTAL, _statement
from tests.console.client import Browser, Page
from tests.console.conftest import BrowserFactory, Console
from tests.console.shop import pool_of
from tests.db.test_invoices import AFTER_MARCH, MARCH, TERMS, jst, tenant_since


async def _upload(b: Browser, data: bytes) -> Page:
    form = aiohttp.FormData()
    form.add_field("csrf", b.csrf)
    form.add_field("file", data, filename="ours.csv", content_type="text/csv")
    async with b.session.post(b.base + "/console/admin/payments/statement", data=form) as response:
        return await b._page(response)


async def test_the_admin_pays_invoices_from_our_statement_once_and_by_hand(
    console: Console, browser: BrowserFactory
) -> None:
    pool = pool_of(console)
    numbers = []
    for name in ("株式会社アクメ", "ベータ商店"):
        tenant = await tenant_since(pool, jst(2026, 2, 10), 1, name)
        numbers.append((await invoices.close(pool, tenant, MARCH, TERMS, AFTER_MARCH)).number)
    acme, beta = numbers
    admin = await browser()
    await admin.login(console.admin)
    shown = await admin.get("/console/admin/payments")
    overdue = shown.text.split('id="overdue"')[1].split("</table>")[0]
    assert shown.status == 200 and acme in overdue and beta in overdue  # due 2026-05-02, long past

    statement = _statement(("20260420", TOTAL, f"{acme.replace('INV-', '').replace('-', '')} ｶ)ｱｸﾒ"))
    for expected_new in (1, 0):  # the same statement twice: the second brings nothing new
        page = await _upload(admin, statement)
        assert page.has(f"楽天銀行CSVの明細を取り込みました: 1件のうち新しい入金 {expected_new}件")
    [line] = await lines(pool, None)
    assert re.search(rf'<option value="{acme}" selected>', page.text) and page.has("請求番号と金額が一致")
    # the open lines (the table the deposit import shares): matched, so ticked; set aside by its own button
    assert f'name="pay" value="{line.id}" aria-label="明細 {line.id} を消し込む" checked>' in page.text
    assert f'formaction="/console/admin/payments/lines/{line.id}/ignore"' in page.text
    settled = await admin.post("/console/admin/payments/settle", {"pay": line.id, f"invoice-{line.id}": acme})
    assert settled.status == 200 and settled.has("1件の請求書を入金済みにしました")
    again = await admin.post("/console/admin/payments/settle", {"pay": line.id, f"invoice-{line.id}": acme})
    assert again.has("処理済みでした（二重には消し込んでいません）")

    marked = await admin.post(
        f"/console/admin/payments/invoices/{beta}", {"paid_on": "2026-05-10", "amount_yen": "16,280", "memo": "現金"}
    )
    assert marked.status == 200 and marked.has(f"請求書 {beta} を入金済みにしました")
    twice = await admin.post(f"/console/admin/payments/invoices/{beta}", {"paid_on": "2026-05-10", "amount_yen": "1"})
    assert twice.status == 409 and twice.has("この請求書は既に入金済みです")
    assert marked.has("支払期限を過ぎた未入金の請求書はありません")
    paid = marked.text.split('id="paid"')[1]
    assert acme in paid and beta in paid and "銀行明細" in paid and "手入力" in paid

    await _upload(admin, _statement(("20260430", 12, "ﾘｿｸ")))  # interest: no invoice's money
    [interest] = [line for line in await lines(pool, None) if line.status == "open"]
    aside = await admin.post(f"/console/admin/payments/lines/{interest.id}/ignore")
    assert aside.status == 200 and not re.search(rf'name="pay" value="{interest.id}"', aside.text)
    assert (await admin.post(f"/console/admin/payments/lines/{interest.id}/ignore")).status == 409

    log = await admin.get("/console/audit")
    assert log.has(beta) and log.has("請求書を入金済みにしました") and log.has("入出金明細を取り込みました")

    operator = await browser()
    await operator.login(console.a.operator)
    assert (await operator.get("/console/admin/payments")).status == 403
