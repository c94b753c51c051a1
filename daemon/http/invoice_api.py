"""Admin API for our own invoices: the forwarding add-on, the contract history, monthly invoices.

    PUT  /api/v1/tenants/{id}/forwarding                    {"enabled": true|false}
    GET  /api/v1/tenants/{id}/contract                      every change of lines and add-on
    GET  /api/v1/tenants/{id}/invoices                      closed invoices
    GET  /api/v1/tenants/{id}/invoices/{YYYY-MM}[.csv|.html|.pdf] the stored invoice, or a preview of an open month
    POST /api/v1/tenants/{id}/invoices/{YYYY-MM}/close      issue a month that is over (stored once)
    POST /api/v1/tenants/{id}/invoices/{YYYY-MM}/send       mail an issued invoice, PDF attached, to the billing address
    POST /api/v1/tenants/{id}/invoices/{YYYY-MM}/adjustments a correction line of an open month

Handlers translate only: the operations are :mod:`daemon.services.invoices` and
:mod:`daemon.services.tenants` (SQL in :mod:`daemon.repositories.invoices` and :mod:`daemon.repositories.contracts`,
money rules in :mod:`daemon.rules.billing.invoice`).
"""

from __future__ import annotations

import asyncio

from aiohttp import hdrs, web

from daemon.http.actor import actor_of
from daemon.http.admin import _tenant_id
from daemon.http.context import pool_of, settings_of
from daemon.http.errors import ApiError
from daemon.http.models import ErrorDetail
from daemon.http.registry import RouteTable, json_response
from daemon.repositories.invoices import Terms
from daemon.rules.billing import invoice_pdf, invoice_render
from daemon.rules.billing.invoice import Invoice, Period
from daemon.services import invoice_mail, invoices, tenants
from daemon.services.invoice_models import (
    AdjustmentCreate,
    AdjustmentOut,
    ContractChangeOut,
    ContractHistory,
    ForwardingChanged,
    ForwardingUpdate,
    InvoiceList,
    InvoiceMailed,
    InvoiceSummary,
)

routes = RouteTable()

TENANT = r"/api/v1/tenants/{tenant_id:\d+}"
MONTH = TENANT + "/invoices/{period:[0-9][0-9][0-9][0-9]-[0-9][0-9]}"  # no braces: OpenAPI paths


def _period(request: web.Request) -> Period:
    try:
        return Period.parse(request.match_info["period"])
    except ValueError as exc:
        raise ApiError(
            422, f"period: {exc}", [ErrorDetail(loc=["path", "period"], msg=str(exc), type="period")]
        ) from None


def _terms(request: web.Request) -> Terms:
    return Terms.from_settings(settings_of(request))


async def _invoice(request: web.Request) -> Invoice:
    tenant_id, period = _tenant_id(request), _period(request)
    return await invoices.invoice(pool_of(request), actor_of(request), tenant_id, period, _terms(request))


# -- contract --------------------------------------------------------------------


@routes.route(
    "PUT",
    TENANT + "/forwarding",
    summary="Turn the forwarding add-on on or off (+10,000 yen for any month it was on)",
    body=ForwardingUpdate,
    response=ForwardingChanged,
    errors=(404,),
)
async def set_forwarding_addon(request: web.Request, body: ForwardingUpdate) -> ForwardingChanged:
    tenant_id = _tenant_id(request)
    previous = await tenants.set_forwarding(pool_of(request), actor_of(request), tenant_id, body.enabled)
    return ForwardingChanged(tenant_id=tenant_id, forwarding=body.enabled, previous_forwarding=previous)


@routes.route(
    "GET",
    TENANT + "/contract",
    summary="Every change of the tenant's lines and add-on, with its time (what invoices are computed from)",
    response=ContractHistory,
    errors=(404,),
)
async def contract_history(request: web.Request) -> ContractHistory:
    tenant_id = _tenant_id(request)
    changes = await invoices.contract_history(pool_of(request), actor_of(request), tenant_id)
    return ContractHistory(
        tenant_id=tenant_id, changes=[ContractChangeOut.model_validate(c, from_attributes=True) for c in changes]
    )


# -- invoices --------------------------------------------------------------------


@routes.route("GET", TENANT + "/invoices", summary="A tenant's closed invoices", response=InvoiceList, errors=(404,))
async def list_invoices(request: web.Request) -> InvoiceList:
    tenant_id = _tenant_id(request)
    closed = await invoices.closed(pool_of(request), actor_of(request), tenant_id)
    return InvoiceList(
        tenant_id=tenant_id, invoices=[InvoiceSummary.model_validate(c, from_attributes=True) for c in closed]
    )


@routes.route(
    "GET",
    MONTH,
    summary="A month's invoice: the stored one once closed, else a preview (status open)",
    response=Invoice,
    errors=(404, 409, 422),
)
async def get_invoice(request: web.Request) -> Invoice:
    return await _invoice(request)


@routes.route("GET", MONTH + ".csv", summary="A month's invoice as CSV (UTF-8 with BOM)", errors=(404, 409, 422))
async def invoice_csv(request: web.Request) -> web.Response:
    found = await _invoice(request)
    return web.Response(
        body=invoice_render.to_csv(found).encode(),
        content_type="text/csv",
        charset="utf-8",
        headers={hdrs.CONTENT_DISPOSITION: f'attachment; filename="{found.number}.csv"'},
    )


@routes.route(
    "GET", MONTH + ".html", summary="A month's invoice as a printable Japanese document", errors=(404, 409, 422)
)
async def invoice_html(request: web.Request) -> web.Response:
    found = await _invoice(request)
    return web.Response(
        text=invoice_render.to_html(found),
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": invoice_render.HTML_POLICY},
    )


@routes.route(
    "GET", MONTH + ".pdf", summary="A month's invoice as a PDF (Japanese font embedded)", errors=(404, 409, 422)
)
async def invoice_as_pdf(request: web.Request) -> web.Response:
    found = await _invoice(request)
    return web.Response(
        body=await asyncio.to_thread(invoice_pdf.to_pdf, found),  # CPU work, off the call loop
        content_type="application/pdf",
        headers={hdrs.CONTENT_DISPOSITION: f'attachment; filename="{invoice_mail.filename(found)}"'},
    )


@routes.route(
    "POST",
    MONTH + "/send",
    summary="Mail an issued invoice, its PDF attached, to the tenant's billing e-mail address",
    response=InvoiceMailed,
    errors=(404, 409, 422),
)
async def send_invoice(request: web.Request) -> InvoiceMailed:
    tenant_id, period = _tenant_id(request), _period(request)
    mailed = await invoice_mail.send(
        pool_of(request), actor_of(request), settings_of(request), tenant_id, period, _terms(request)
    )
    return InvoiceMailed(number=mailed.number, sent_to=mailed.sent_to, sent_at=mailed.sent_at)


@routes.route(
    "POST",
    MONTH + "/close",
    summary="Close a month that is over: the invoice is issued, stored once and never changes",
    response=Invoice,
    status=201,
    errors=(404, 409, 422),
)
async def close_invoice(request: web.Request) -> Invoice:
    tenant_id, period = _tenant_id(request), _period(request)
    return await invoices.close(pool_of(request), actor_of(request), tenant_id, period, _terms(request))


@routes.route(
    "POST",
    MONTH + "/adjustments",
    summary="Add a correction line (before tax; negative credits) to an open month, with its reason",
    body=AdjustmentCreate,
    response=AdjustmentOut,
    status=201,
    errors=(404, 409),
    also={200: AdjustmentOut},
)
async def add_invoice_adjustment(request: web.Request, body: AdjustmentCreate) -> web.Response:
    tenant_id, period = _tenant_id(request), _period(request)
    added = await invoices.add_adjustment(pool_of(request), actor_of(request), tenant_id, period, body, _terms(request))
    out = AdjustmentOut.model_validate(added, from_attributes=True)
    return json_response(out, 200 if added.replayed else 201)
