"""``/console/counsellors/{id}/setup``: what the operator arranges for one counsellor themselves.

Their own login (for ``/console/me``), the PIN of the duty line, and their pay
rate with its history (a change applies from its date, Asia/Tokyo).  The
operations and their audit rows are :mod:`daemon.services.counsellor_self` and
:mod:`daemon.services.pay`'s.
"""

from __future__ import annotations

from datetime import date, datetime

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors, fields, number
from daemon.console.pages.counsellor_self import PIN_RULE
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.render import page, see_other
from daemon.console.viewer import OPERATOR, tenant_scope
from daemon.http.context import pool_of
from daemon.repositories import console_users, counsellors, duty_pins, pay_rates
from daemon.repositories.duty_pins import PIN
from daemon.rules.billing.pay import KIND_NAMES, KINDS, PayKind
from daemon.services import counsellor_self, pay
from daemon.services.errors import Conflict, Invalid
from daemon.services.values import TOKYO

routes = web.RouteTableDef()

SETUP = PREFIX + r"/counsellors/{id:\d+}/setup"
_CONFLICTS = {
    counsellor_self.LOGIN_TAKEN: ("login", "このログインIDは既に使われています"),
    counsellor_self.HAS_LOGIN: ("login", "この相談員のログインは作成済みです"),
}
_LOGIN_RULES = {
    "login": "ログインIDは3〜64文字の半角英小文字・数字・「._@-」で、英数字で始めてください",
    "password": f"パスワードは{console_users.MIN_PASSWORD}〜{console_users.MAX_PASSWORD}文字にしてください",
}


def _here(counsellor_id: int) -> str:
    return f"{PREFIX}/counsellors/{counsellor_id}/setup"


async def _show(
    request: web.Request,
    tenant: int,
    counsellor_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    pool = pool_of(request)
    context = {
        "counsellor": await counsellors.get(pool, tenant, counsellor_id),
        "user": await console_users.login_of_counsellor(pool, tenant, counsellor_id),
        "has_pin": await duty_pins.has_pin(pool, tenant, counsellor_id),
        "rates": list(reversed(await pay_rates.history(pool, tenant, counsellor_id))),
        "kinds": KIND_NAMES,
        "errors": errors or {},
        "values": values or {"effective_from": datetime.now(TOKYO).date().isoformat()},
        "saved": request.query.get("saved", ""),
    }
    return page(request, "counsellor_setup.html", context, status=status)


@routes.get(SETUP)
async def setup(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    return await _show(request, tenant, path_id(request))


@routes.post(SETUP + "/login")
async def make_login(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    counsellor_id = path_id(request)
    values = await fields(request)
    login = values.get("login", "").lower()
    try:
        row = await counsellors.get(pool_of(request), tenant, counsellor_id)
        await counsellor_self.grant_login(
            pool_of(request), actor_of(request), tenant, counsellor_id, login, values.get("password", ""), row.name
        )
    except console_users.Refused as exc:
        field = "password" if "password" in str(exc) else "login"
        errors = {field: _LOGIN_RULES[field]}
        return await _show(request, tenant, counsellor_id, errors=errors, values=values, status=422)
    except Conflict as exc:
        field, words = _CONFLICTS.get(exc.code, ("login", "保存できませんでした"))
        return await _show(request, tenant, counsellor_id, errors={field: words}, values=values, status=409)
    raise see_other(_here(counsellor_id) + "?saved=login")


@routes.post(SETUP + "/password")
async def new_password(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    counsellor_id = path_id(request)
    password = (await fields(request)).get("new_password", "")
    try:
        await counsellor_self.reset_password(pool_of(request), actor_of(request), tenant, counsellor_id, password)
    except console_users.Refused:
        errors = {"new_password": _LOGIN_RULES["password"]}
        return await _show(request, tenant, counsellor_id, errors=errors, status=422)
    raise see_other(_here(counsellor_id) + "?saved=password")


@routes.post(SETUP + "/pin")
async def set_pin(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    counsellor_id = path_id(request)
    pin = (await fields(request)).get("pin", "")
    if not PIN.fullmatch(pin):
        errors = {"pin": PIN_RULE}
        return await _show(request, tenant, counsellor_id, errors=errors, status=422)
    await counsellor_self.set_pin(pool_of(request), actor_of(request), tenant, counsellor_id, pin)
    raise see_other(_here(counsellor_id) + "?saved=pin")


def _rate(values: dict[str, str]) -> tuple[PayKind, int, date]:
    errors: dict[str, str] = {}
    kind = next((k for k in KINDS if k == values.get("kind")), None)
    if kind is None:
        errors["kind"] = "選択肢から選んでください"
    try:
        value = number(values.get("value"), "value")
    except FormErrors as exc:
        errors.update(exc.errors)
        value = None
    if value is None:
        errors.setdefault("value", "入力してください")
    try:
        since = date.fromisoformat(values.get("effective_from", ""))
    except ValueError:
        errors["effective_from"] = "日付の形式が正しくありません（例: 2026-12-01）"
    if errors:
        raise FormErrors(errors)
    assert kind is not None and value is not None
    return kind, value, since


@routes.post(SETUP + "/rates")
async def set_rate(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    counsellor_id = path_id(request)
    values = await fields(request)
    try:
        kind, value, since = _rate(values)
        await pay.set_rate(pool_of(request), actor_of(request), tenant, counsellor_id, kind, value, since)
    except FormErrors as exc:
        return await _show(request, tenant, counsellor_id, errors=exc.errors, values=values, status=422)
    except Invalid:
        limit = "0〜100の範囲" if values.get("kind") == "percent" else "0〜100,000円の範囲"
        errors = {"value": f"{limit}で入力してください"}
        return await _show(request, tenant, counsellor_id, errors=errors, values=values, status=422)
    raise see_other(_here(counsellor_id) + "?saved=rate")


@routes.post(SETUP + "/rates/delete")
async def remove_rate(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    counsellor_id = path_id(request)
    try:
        since = date.fromisoformat((await fields(request)).get("effective_from", ""))
    except ValueError:
        raise web.HTTPBadRequest(reason="日付の形式が正しくありません") from None
    await pay.remove_rate(pool_of(request), actor_of(request), tenant, counsellor_id, since)
    raise see_other(_here(counsellor_id) + "?saved=rate_removed")
