"""Callers: search, list with balance and billing, create, edit, PIN reset, detail with the ledger.

Forms are validated by :class:`~daemon.services.inputs.CallerIn` and saved by
:mod:`daemon.services.callers` (every change audited).  A PIN is never shown
nor written to the audit log (only that it was reset).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from daemon.console import forms
from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import form_errors, rule, status_of
from daemon.console.render import page, see_other
from daemon.console.viewer import OPERATOR, tenant_scope
from daemon.http.context import pool_of
from daemon.repositories import callers, ledger
from daemon.repositories.callers import CallerRow
from daemon.rules.numbers import loose_numbers
from daemon.services import callers as service
from daemon.services.callers import settings
from daemon.services.errors import Conflict, Invalid
from daemon.services.inputs import CallerIn

routes = web.RouteTableDef()
CALLERS = f"{PREFIX}/callers"
ID = r"{id:\d{1,18}}"


def _values(row: CallerRow) -> dict[str, str]:
    shown = settings(row)
    return {
        **{k: str(v) for k, v in shown.items() if isinstance(v, str)},
        "numbers": "\n".join(row.numbers),
        "credit_limit_yen": "" if row.credit_limit_yen is None else str(row.credit_limit_yen),
    }


def _read(values: dict[str, str], *, with_pin: bool) -> CallerIn:
    body: dict[str, Any] = {
        "name": values.get("name", ""),
        "furigana": values.get("furigana", ""),
        "numbers": loose_numbers(values.get("numbers", "")),  # 03-1234-5678, full-width digits …
        "billing": values.get("billing", ""),
        "payment_method": values.get("payment_method", ""),
        "credit_limit_yen": forms.number(values.get("credit_limit_yen"), "credit_limit_yen"),
    }
    if with_pin and values.get("pin"):
        body["pin"] = values["pin"]
    try:
        return forms.validate(CallerIn, body)
    except FormErrors as exc:
        raise FormErrors({field: rule(text) for field, text in exc.errors.items()}) from None


def _form(
    request: web.Request,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    *,
    caller_id: int | None = None,
    status: int = 200,
) -> web.Response:
    action = f"{CALLERS}/{caller_id}/edit" if caller_id else f"{CALLERS}/new"
    context = {"values": values, "errors": errors or {}, "action": action, "caller_id": caller_id}
    return page(request, "callers_form.html", context, status=status)


@routes.get(CALLERS)
async def list_callers(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    text = request.query.get("q", "").strip()
    pool = pool_of(request)
    rows = await callers.search(pool, tenant, text, limit=500) if text else await callers.list_all(pool, tenant)
    return page(request, "callers_list.html", {"q": text, "rows": rows})


@routes.get(f"{CALLERS}/new")
async def new_form(request: web.Request) -> web.Response:
    tenant_scope(request, OPERATOR)
    return _form(request, {"billing": "prepaid", "payment_method": "bank_transfer"})


@routes.post(f"{CALLERS}/new")
async def create(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    values = await forms.fields(request)
    try:
        body = _read(values, with_pin=True)
        caller_id = await service.create_caller(pool_of(request), actor_of(request), tenant, body)
    except FormErrors as exc:
        return _form(request, values, exc.errors, status=422)
    except (Conflict, Invalid) as exc:
        return _form(request, values, form_errors(exc), status=status_of(exc))
    raise see_other(f"{CALLERS}/{caller_id}", "caller.create")


@routes.get(f"{CALLERS}/{ID}")
async def detail(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    pool, caller_id = pool_of(request), path_id(request)
    who = await callers.get(pool, tenant, caller_id)
    entries = await ledger.entries(pool, tenant, caller_id, 500, newest_first=True)
    return page(request, "callers_detail.html", {"who": who, "entries": entries, "errors": {}, "notice": ""})


@routes.get(f"{CALLERS}/{ID}/edit")
async def edit_form(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    who = await callers.get(pool_of(request), tenant, path_id(request))
    return _form(request, _values(who), caller_id=who.id)


@routes.post(f"{CALLERS}/{ID}/edit")
async def update(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    old = await callers.get(pool_of(request), tenant, path_id(request))
    values = await forms.fields(request)
    try:
        body = _read(values, with_pin=False)
        await service.update_caller(pool_of(request), actor_of(request), tenant, old.id, body, keep_pin=True)
    except FormErrors as exc:
        return _form(request, values, exc.errors, caller_id=old.id, status=422)
    except (Conflict, Invalid) as exc:
        return _form(request, values, form_errors(exc), caller_id=old.id, status=status_of(exc))
    raise see_other(f"{CALLERS}/{old.id}", "caller.update")


@routes.post(f"{CALLERS}/{ID}/pin")
async def reset_pin(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    pool = pool_of(request)
    who = await callers.get(pool, tenant, path_id(request))
    pin = (await forms.fields(request)).get("pin", "")
    try:
        # the PIN rule, checked on the caller's current settings, in Japanese before anything is written
        forms.validate(CallerIn, {**settings(who), "pin": pin or None})
        await service.reset_pin(pool, actor_of(request), tenant, who.id, pin or None)
    except (FormErrors, Conflict, Invalid) as exc:
        errors = exc.errors if isinstance(exc, FormErrors) else form_errors(exc)
        entries = await ledger.entries(pool, tenant, who.id, 500, newest_first=True)
        shown = {"pin": errors.get("pin") or " ".join(errors.values())}
        context = {"who": who, "entries": entries, "errors": shown, "notice": ""}
        return page(request, "callers_detail.html", context, status=422)
    raise see_other(f"{CALLERS}/{who.id}", "caller.pin")
