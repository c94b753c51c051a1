"""Log in and out.

The login form carries a one-time value that must match a cookie set with the
form (login CSRF: no other site can log a browser in to an account of its
choosing).  Unknown login and wrong password get the same answer, after the
same argon2 work.  Guessing is slowed, never the account locked
(:mod:`daemon.rules.login_backoff`): an attempt first takes its place on the keys
"this address" and "this address and this login" (atomically, in PostgreSQL),
and only then is the password checked; a key that must wait answers 429 with
the wait, whoever the login belongs to.
"""

from __future__ import annotations

import math
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from daemon.console.paths import LOGIN, PREFIX
from daemon.console.render import page, see_other
from daemon.console.session import COOKIE, clear_cookie, csrf_matches, set_cookie
from daemon.console.viewer import viewer_of
from daemon.http.context import pool_of
from daemon.logs import get_logger
from daemon.repositories import console_sessions, console_users, login_throttle
from daemon.repositories.console_users import Outcome
from daemon.repositories.login_throttle import Key
from daemon.rules.login_backoff import BY_ADDRESS, BY_LOGIN, client_key, login_key

_log = get_logger(__name__)

routes = web.RouteTableDef()
NONCE_COOKIE = "calld_login"

EXPIRED = "フォームの有効期限が切れました。もう一度入力してください。"
_ANSWERS = {
    Outcome.WRONG: "ログインIDまたはパスワードが違います。",
    Outcome.DISABLED: "このアカウントは無効になっています。管理者にご連絡ください。",
}


def throttled(wait_s: float) -> str:
    """The 429 answer: how long to wait, rounded up to what a person reads."""
    seconds = math.ceil(max(wait_s, 1.0) / 10) * 10  # "30秒ほど", not 27 or 28 by the moment it was asked
    when = f"{seconds}秒" if seconds < 60 else f"{math.ceil(seconds / 60)}分"
    return f"ログインの試行が多すぎます。{when}ほど待ってからもう一度お試しください。"


def safe_next(value: str | None) -> str:
    """Only a path of our own console: never another site (open redirect)."""
    if not value or not value.startswith(PREFIX + "/") or value.startswith("//") or "\\" in value:
        return PREFIX + "/"
    parts = urlsplit(value)
    return PREFIX + "/" if parts.scheme or parts.netloc else value


def _form(
    request: web.Request, *, login: str = "", error: str = "", status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    nonce = secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        {"nonce": nonce, "login": login, "error": error, "next": safe_next(request.query.get("next"))},
        status=status,
    )
    response.headers.update(headers or {})
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
        return _form(request, login=login_id, error=EXPIRED, status=403)
    pool = pool_of(request)
    address, typed = client_key(request.remote), login_key(login_id)
    verdict = await login_throttle.attempt(pool, [Key(address, b"", BY_ADDRESS), Key(address, typed, BY_LOGIN)])
    if not verdict.allowed:
        _log.warning("console_login_throttled", login=login_id, peer=request.remote, wait_s=round(verdict.wait_s))
        retry = {"Retry-After": str(math.ceil(verdict.wait_s))}
        return _form(request, login=login_id, error=throttled(verdict.wait_s), status=429, headers=retry)
    outcome, user = await console_users.authenticate(pool, login_id, password)
    if outcome is not Outcome.OK or user is None:
        _log.warning("console_login_refused", login=login_id, outcome=outcome.value, peer=request.remote)
        return _form(request, login=login_id, error=_ANSWERS[outcome], status=401)
    await login_throttle.succeeded(pool, address, typed)
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
