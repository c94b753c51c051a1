"""``/console/admin/users``: every tenant's console users; create one, lift its login wait, set a new password.

Platform admin only.  The rules are :mod:`daemon.repositories.console_users`' own
(login pattern, password length, role ↔ tenant); this page only says them in
Japanese.  The changes are :mod:`daemon.services.users`' (audited; a password
never reaches the audit log).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors, fields, number
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import form_errors
from daemon.console.render import page, see_other
from daemon.console.viewer import ADMIN, ALL_ROLE_NAMES, ROLE_NAMES, require
from daemon.http.context import pool_of
from daemon.repositories import console_users, login_throttle, tenants
from daemon.rules.login_backoff import login_key
from daemon.services import users
from daemon.services.errors import Conflict, Invalid, NotFound

routes = web.RouteTableDef()

LIST = f"{PREFIX}/admin/users"
LOGIN_RULE = "ログインIDは半角英小文字・数字・「._@-」の3〜64文字で、英数字で始めてください"
PASSWORD_RULE = f"パスワードは{console_users.MIN_PASSWORD}〜{console_users.MAX_PASSWORD}文字で入力してください"
TENANT_RULE = "運営者とIVRお客様はテナントを1つ選び、管理者はテナントなしにしてください"


def user_url(user_id: int) -> str:
    return f"{LIST}/{user_id}"


def _password(values: Mapping[str, str], errors: dict[str, str]) -> str:
    password = values.get("password", "")
    if not console_users.MIN_PASSWORD <= len(password) <= console_users.MAX_PASSWORD:
        errors["password"] = PASSWORD_RULE
    return password


def _new_user(values: Mapping[str, str]) -> tuple[str, str, str, int | None, str]:
    """(login, password, role, tenant, display name) by console_users' rules, or FormErrors in Japanese."""
    errors: dict[str, str] = {}
    login = values.get("login", "").lower()
    if not console_users.LOGIN.fullmatch(login):
        errors["login"] = LOGIN_RULE
    password = _password(values, errors)
    role = values.get("role", "")
    tenant_id: int | None = None
    try:
        tenant_id = number(values.get("tenant_id"), "tenant_id")
    except FormErrors as exc:
        errors.update(exc.errors)
    if role not in console_users.ROLES:
        errors["role"] = "選択肢から選んでください"
    elif "tenant_id" not in errors:
        try:
            console_users.check_role(role, tenant_id)
        except console_users.Refused:
            errors["tenant_id"] = TENANT_RULE
    display_name = values.get("display_name", "")
    if len(display_name) > 200:
        errors["display_name"] = "長すぎます"
    if errors:
        raise FormErrors(errors)
    return login, password, role, tenant_id, display_name


async def _list(
    request: web.Request,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    pool = pool_of(request)
    context = {
        "users": await console_users.list_all(pool),
        "tenants": {t.tenant_id: t.name for t in await tenants.list_tenants(pool)},
        "roles": ROLE_NAMES,  # what the platform may create
        "role_names": ALL_ROLE_NAMES,  # what a listed user may be (a counsellor's login too)
        "values": dict(values or {}),
        "errors": dict(errors or {}),
    }
    return page(request, "admin_users_list.html", context, status=status)


@routes.get(LIST)
async def user_list(request: web.Request) -> web.Response:
    require(request, ADMIN)
    return await _list(request)


@routes.post(LIST)
async def create_user(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    values = await fields(request)
    kept = {k: v for k, v in values.items() if k != "password"}
    try:
        login, password, role, tenant_id, display_name = _new_user(values)
        user_id = await users.create_user(
            pool_of(request), actor_of(request), login, password, role, tenant_id, display_name
        )
    except FormErrors as exc:
        return await _list(request, values=kept, errors=exc.errors, status=422)
    except (Conflict, Invalid) as exc:
        return await _list(request, values=kept, errors=form_errors(exc), status=422)
    except NotFound:
        return await _list(request, values=kept, errors={"tenant_id": "そのテナントはありません"}, status=422)
    raise see_other(user_url(user_id))


async def _detail(
    request: web.Request, user_id: int, *, errors: Mapping[str, str] | None = None, status: int = 200
) -> web.Response:
    pool = pool_of(request)
    user = await console_users.get(pool, user_id)
    tenant = await tenants.get_tenant(pool, user.tenant_id) if user.tenant_id is not None else None
    context = {
        "user": user,
        "tenant": tenant,
        "role_names": ALL_ROLE_NAMES,
        "waiting": await login_throttle.waiting(pool, login_key(user.login)),
        "values": {},
        "errors": dict(errors or {}),
    }
    return page(request, "admin_users_detail.html", context, status=status)


@routes.get(LIST + r"/{user_id:\d+}")
async def user_detail(request: web.Request) -> web.Response:
    require(request, ADMIN)
    return await _detail(request, path_id(request, "user_id"))


@routes.post(LIST + r"/{user_id:\d+}/unlock")
async def unlock(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    user_id = path_id(request, "user_id")
    await users.unlock_user(pool_of(request), actor_of(request), user_id)
    raise see_other(user_url(user_id))


@routes.post(LIST + r"/{user_id:\d+}/password")
async def set_password(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    user = await console_users.get(pool_of(request), path_id(request, "user_id"))
    errors: dict[str, str] = {}
    password = _password(await fields(request), errors)
    if errors:
        return await _detail(request, user.id, errors=errors, status=422)
    await users.set_password(pool_of(request), actor_of(request), user.id, password)
    raise see_other(user_url(user.id))
