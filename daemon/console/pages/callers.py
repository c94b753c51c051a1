"""Callers: search, list with balance and billing, create, edit, PIN reset, detail with the ledger.

Forms are validated by the API's :class:`~daemon.http.coaching_models.CallerIn`
and saved by :mod:`daemon.db.callers`; every change is audited.  A PIN is never
shown nor written to the audit log (only that it was reset).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from daemon.console import forms
from daemon.console.changes import audited
from daemon.console.forms import FormErrors
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.render import page, see_other
from daemon.console.viewer import OPERATOR, tenant_scope
from daemon.db import callers, ledger
from daemon.db.callers import CallerRow
from daemon.db.errors import Conflict
from daemon.http.coaching_models import CallerIn
from daemon.http.context import pool_of

routes = web.RouteTableDef()
CALLERS = f"{PREFIX}/callers"
ID = r"{id:\d{1,18}}"
_SPLIT = re.compile(r"[\s,、]+")
TAKEN = "この電話番号またはPINは既に別の利用者に登録されています。"
# The API's caller rules (CallerIn, db/callers) speak English: the same rules in Japanese.
_RULES = (
    ("card payers are postpaid", "カード払いの利用者は後払いにしてください"),
    ("a credit limit applies to postpaid", "与信枠は後払いの利用者にだけ設定できます（前払いは空欄に）"),
    ("the same number is listed twice", "同じ電話番号が二度入力されています"),
    ("a prepaid balance cannot be negative", "残高がマイナスのため前払いに変更できません。先に精算してください"),
    ("phone number", "電話番号の形式が正しくありません（例: 09012345678）"),
)


def _japanese(text: str) -> str:
    return next((words for english, words in _RULES if english in text), text)


def _settings(row: CallerRow) -> dict[str, Any]:
    """What the audit log remembers of a caller (never the PIN)."""
    return {
        "name": row.name,
        "numbers": list(row.numbers),
        "billing": row.billing,
        "payment_method": row.payment_method,
        "credit_limit_yen": row.credit_limit_yen,
    }


def _values(row: CallerRow) -> dict[str, str]:
    shown = _settings(row)
    return {
        **{k: str(v) for k, v in shown.items() if isinstance(v, str)},
        "numbers": "\n".join(row.numbers),
        "credit_limit_yen": "" if row.credit_limit_yen is None else str(row.credit_limit_yen),
    }


def _read(values: dict[str, str], *, with_pin: bool) -> CallerIn:
    body: dict[str, Any] = {
        "name": values.get("name", ""),
        "numbers": [n for n in _SPLIT.split(values.get("numbers", "")) if n],
        "billing": values.get("billing", ""),
        "payment_method": values.get("payment_method", ""),
        "credit_limit_yen": forms.number(values.get("credit_limit_yen"), "credit_limit_yen"),
    }
    if with_pin and values.get("pin"):
        body["pin"] = values["pin"]
    try:
        return forms.validate(CallerIn, body)
    except FormErrors as exc:
        raise FormErrors({field: _japanese(text) for field, text in exc.errors.items()}) from None


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


def _refused(exc: Exception) -> dict[str, str]:
    return {"": TAKEN if isinstance(exc, Conflict) else f"保存できませんでした: {_japanese(str(exc))}"}


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
        async with audited(request) as change:
            caller_id = await callers.create(change.pool, tenant, **body.model_dump())
            after = _settings(await callers.get(change.pool, tenant, caller_id))
            await change.record(
                "caller.create", tenant_id=tenant, target=f"caller {caller_id}", after={**after, "pin": bool(body.pin)}
            )
    except FormErrors as exc:
        return _form(request, values, exc.errors, status=422)
    except (Conflict, ValueError) as exc:
        return _form(request, values, _refused(exc), status=409 if isinstance(exc, Conflict) else 422)
    raise see_other(f"{CALLERS}/{caller_id}")


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
        async with audited(request) as change:
            await callers.update(change.pool, tenant, old.id, **body.model_dump(), keep_pin=True)
            new = await callers.get(change.pool, tenant, old.id)
            await change.record(
                "caller.update",
                tenant_id=tenant,
                target=f"caller {old.id}",
                before=_settings(old),
                after=_settings(new),
            )
    except FormErrors as exc:
        return _form(request, values, exc.errors, caller_id=old.id, status=422)
    except (Conflict, ValueError) as exc:
        return _form(request, values, _refused(exc), caller_id=old.id, status=409 if isinstance(exc, Conflict) else 422)
    raise see_other(f"{CALLERS}/{old.id}")


@routes.post(f"{CALLERS}/{ID}/pin")
async def reset_pin(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    pool = pool_of(request)
    who = await callers.get(pool, tenant, path_id(request))
    pin = (await forms.fields(request)).get("pin", "")
    try:
        # the API's own PIN rule, checked on the caller's current settings
        forms.validate(CallerIn, {**_settings(who), "pin": pin or None})
        async with audited(request) as change:
            await callers.set_pin(change.pool, tenant, who.id, pin or None)
            await change.record(
                "caller.pin_reset",
                tenant_id=tenant,
                target=f"caller {who.id}",
                before={"pin": who.has_pin},
                after={"pin": bool(pin)},
            )
    except (FormErrors, Conflict) as exc:
        errors = exc.errors if isinstance(exc, FormErrors) else {"pin": TAKEN}
        entries = await ledger.entries(pool, tenant, who.id, 500, newest_first=True)
        shown = {"pin": errors.get("pin") or " ".join(errors.values())}
        context = {"who": who, "entries": entries, "errors": shown, "notice": ""}
        return page(request, "callers_detail.html", context, status=422)
    raise see_other(f"{CALLERS}/{who.id}")
