"""Our monthly invoices: the platform admin's view of every tenant (and closing a month), and a tenant's own.

    /console/admin/invoices?period=YYYY-MM                 every tenant's invoice of a month (preview or issued)
    /console/admin/invoices/{tenant}/{YYYY-MM}.html        the printable invoice
    /console/admin/invoices/{tenant}/{YYYY-MM}.pdf         the same as a PDF
    POST /console/admin/invoices/{tenant}/{YYYY-MM}/close  issue one tenant's month (only a month that is over)
    POST /console/admin/invoices/{tenant}/{YYYY-MM}/send   mail an issued invoice, PDF attached, to the billing address
    /console/ivr/invoices                                  the IVR customer's issued invoices
    /console/ivr/invoices/{YYYY-MM}.html|.pdf              one of them, printable or as a PDF

The money comes from :mod:`daemon.services.invoices` and the document from
:mod:`daemon.rules.billing.invoice_render`, as in the admin API (invoice_api.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import rule
from daemon.console.render import page, see_other
from daemon.console.viewer import ADMIN, IVR, require, tenant_scope
from daemon.http.context import pool_of, settings_of
from daemon.postgres.errors import NotFound
from daemon.repositories import invoice_mailings, tenants
from daemon.repositories.invoices import Terms
from daemon.rules.billing import invoice_pdf, invoice_render
from daemon.rules.billing.invoice import Invoice, Period
from daemon.services import invoice_mail, invoices
from daemon.services.errors import Conflict

routes = web.RouteTableDef()

ADMIN_LIST = f"{PREFIX}/admin/invoices"
IVR_LIST = f"{PREFIX}/ivr/invoices"
MONTH = "{period:[0-9][0-9][0-9][0-9]-[0-9][0-9]}"
REFUSED = "この月の請求書は確定できません"
NOT_MAILED = {
    invoice_mail.NO_ADDRESS: "請求書の送付先メールアドレスが未設定です。テナントの画面の「請求先」で設定してください。",
    invoice_mail.NOT_ISSUED: "確定前の請求書は送付できません。",
}


def _terms(request: web.Request) -> Terms:
    return Terms.from_settings(settings_of(request))


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError:
        raise NotFound(f"no month {text}") from None


def last_month() -> Period:
    now = Period.containing(invoices.clock())
    return Period(now.year - 1, 12) if now.month == 1 else Period(now.year, now.month - 1)


async def _invoice(request: web.Request, tenant_id: int, period: Period) -> Invoice:
    try:
        return await invoices.invoice(pool_of(request), actor_of(request), tenant_id, period, _terms(request))
    except (Conflict, invoices.NoContractThen):
        raise NotFound(f"no invoice of tenant {tenant_id} for {period}") from None


async def _pdf(found: Invoice) -> web.Response:
    return web.Response(
        body=await asyncio.to_thread(invoice_pdf.to_pdf, found),  # CPU work, off the call loop
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{invoice_mail.filename(found)}"',
            "Cache-Control": "no-store",
        },
    )


def _document(found: Invoice) -> web.Response:
    # the document's own styles are inline: its own policy (the console's would strip them)
    return web.Response(
        text=invoice_render.to_html(found),
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": invoice_render.HTML_POLICY, "Cache-Control": "no-store"},
    )


@routes.get(ADMIN_LIST)
async def admin_month(request: web.Request) -> web.Response:
    require(request, ADMIN)
    wanted = request.query.get("period", "")
    period = _period(wanted) if wanted else last_month()
    rows: list[tuple[tenants.TenantDetail, Invoice | None, str]] = []
    for tenant in await tenants.list_tenants(pool_of(request)):
        try:
            found = await invoices.invoice(
                pool_of(request), actor_of(request), tenant.tenant_id, period, _terms(request)
            )
            rows.append((tenant, found, ""))
        except (Conflict, invoices.NoContractThen) as exc:
            rows.append((tenant, None, "まだ計算できません" if isinstance(exc, Conflict) else "契約がありません"))
    return await _month_page(request, period, rows)


async def _month_page(
    request: web.Request,
    period: Period,
    rows: Sequence[tuple[tenants.TenantDetail, Invoice | None, str]],
    *,
    error: str = "",
    status: int = 200,
) -> web.Response:
    context = {
        "period": str(period),
        "rows": rows,
        "error": error,
        # only a month that is over can be closed: the button is not offered for this month
        "closable": period < Period.containing(invoices.clock()),
        "mailed": await invoice_mailings.last_sent(pool_of(request), period.first_day),
    }
    return page(request, "invoices_admin.html", context, status=status)


@routes.get(ADMIN_LIST + r"/{tenant_id:\d+}/" + MONTH + ".html")
async def admin_document(request: web.Request) -> web.Response:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    return _document(await _invoice(request, tenant_id, _period(request.match_info["period"])))


@routes.post(ADMIN_LIST + r"/{tenant_id:\d+}/" + MONTH + "/close")
async def close(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    period = _period(request.match_info["period"])
    try:
        await invoices.close(pool_of(request), actor_of(request), tenant_id, period, _terms(request))
    except (Conflict, invoices.NoContractThen) as exc:
        rows = [(await tenants.get_tenant(pool_of(request), tenant_id), None, rule(str(exc)))]
        return await _month_page(request, period, rows, error=REFUSED, status=409)
    raise see_other(f"{ADMIN_LIST}?period={period}", "invoice.closed")


@routes.get(ADMIN_LIST + r"/{tenant_id:\d+}/" + MONTH + ".pdf")
async def admin_pdf(request: web.Request) -> web.Response:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    return await _pdf(await _invoice(request, tenant_id, _period(request.match_info["period"])))


@routes.post(ADMIN_LIST + r"/{tenant_id:\d+}/" + MONTH + "/send")
async def send(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    period = _period(request.match_info["period"])
    try:
        await invoice_mail.send(
            pool_of(request), actor_of(request), settings_of(request), tenant_id, period, _terms(request)
        )
    except invoice_mail.NotMailed as exc:
        error = NOT_MAILED.get(
            exc.code, f"メールを送信できませんでした（{exc}）。設定を確認してもう一度お試しください。"
        )
        rows = [(await tenants.get_tenant(pool_of(request), tenant_id), await _invoice(request, tenant_id, period), "")]
        return await _month_page(request, period, rows, error=error, status=409)
    raise see_other(f"{ADMIN_LIST}?period={period}", "invoice.sent")


@routes.get(IVR_LIST)
async def own_invoices(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    found = await invoices.closed(pool_of(request), actor_of(request), tenant_id)
    return page(request, "invoices_own.html", {"invoices": found})


@routes.get(IVR_LIST + "/" + MONTH + ".html")
async def own_document(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    found = await _invoice(request, tenant_id, _period(request.match_info["period"]))
    if found.status != "closed":  # a tenant sees issued invoices only, not our previews
        raise NotFound("not issued yet")
    return _document(found)


@routes.get(IVR_LIST + "/" + MONTH + ".pdf")
async def own_pdf(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    found = await _invoice(request, tenant_id, _period(request.match_info["period"]))
    if found.status != "closed":
        raise NotFound("not issued yet")
    return await _pdf(found)
