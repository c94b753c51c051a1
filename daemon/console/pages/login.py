"""Log in and out.

The login form carries a one-time value that must match a cookie set with the
form (login CSRF: no other site can log a browser in to an account of its
choosing).  Unknown login and wrong password get the same answer; after
``console_users.MAX_FAILURES`` wrong passwords in a row the account is locked
for ``LOCK_SECONDS``, and each address may try ``throttle.ATTEMPTS`` times per
window.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from aiohttp import web

from daemon.console.paths import LOGIN, PREFIX
from daemon.console.render import page, see_other
from daemon.console.session import COOKIE, clear_cookie, csrf_matches, set_cookie
from daemon.console.throttle import LoginThrottle
from daemon.console.viewer import viewer_of
from daemon.db import console_sessions, console_users
from daemon.db.console_users import Outcome
from daemon.http.context import pool_of
from daemon.logs import get_logger

_log = get_logger(__name__)

routes = web.RouteTableDef()
NONCE_COOKIE = "calld_login"
THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("console_login_throttle", LoginThrottle)

EXPIRED = "フォームの有効期限が切れました。もう一度入力してください。"
THROTTLED = "ログインの試行が多すぎます。しばらく待ってからお試しください。"
_ANSWERS = {
    Outcome.WRONG: "ログインIDまたはパスワードが違います。",
    Outcome.LOCKED: (
        f"パスワードを{console_users.MAX_FAILURES}回続けて間違えたため、このアカウントはロックされています。"
        f"{console_users.LOCK_SECONDS // 60}分後にもう一度お試しいただくか、管理者にご連絡ください。"
    ),
    Outcome.DISABLED: "このアカウントは無効になっています。管理者にご連絡ください。",
}


def safe_next(value: str | None) -> str:
    """Only a path of our own console: never another site (open redirect)."""
    if not value or not value.startswith(PREFIX + "/") or value.startswith("//") or "\\" in value:
        return PREFIX + "/"
    parts = urlsplit(value)
    return PREFIX + "/" if parts.scheme or parts.netloc else value


def _form(request: web.Request, *, login: str = "", error: str = "", status: int = 200) -> web.Response:
    nonce = secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        {"nonce": nonce, "login": login, "error": error, "next": safe_next(request.query.get("next"))},
        status=status,
    )
    set_cookie(request, response, NONCE_COOKIE, nonce, max_age=3600)
    return response


@routes.get(LOGIN)
async def login_form(request: web.Request) -> web.Response:
    return _form(request)


@routes.post(LOGIN)
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    login_id = str(form.get("login", "")).strip().lower()
    password = str(form.get("password", ""))
    if not csrf_matches(str(form.get("nonce", "")), request.cookies.get(NONCE_COOKIE, "")):
        return _form(
            request, login=login_id, error="フォームの有効期限が切れました。もう一度入力してください。", status=403
        )
    if not request.app[THROTTLE].allow(request.remote or ""):
        _log.warning("console_login_throttled", peer=request.remote)
        return _form(
            request, login=login_id, error="ログインの試行が多すぎます。しばらく待ってからお試しください。", status=429
        )
    outcome, user = await console_users.authenticate(pool_of(request), login_id, password)
    if outcome is not Outcome.OK or user is None:
        _log.warning("console_login_refused", login=login_id, outcome=outcome.value, peer=request.remote)
        return _form(request, login=login_id, error=_ANSWERS[outcome], status=401)
    token = await console_sessions.start(pool_of(request), user.id)
    _log.info("console_login", login=user.login, role=user.role, peer=request.remote)
    response = see_other(safe_next(str(form.get("next", ""))))
    set_cookie(request, response, COOKIE, token, max_age=console_sessions.MAX_SECONDS)
    clear_cookie(response, NONCE_COOKIE)
    raise response


@routes.post(f"{PREFIX}/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(COOKIE)
    if token:
        await console_sessions.end(pool_of(request), token)
    _log.info("console_logout", login=viewer_of(request).login)
    response = see_other(LOGIN)
    clear_cookie(response, COOKIE)
    raise response
