"""``/console/invite/{token}``: a new console user sets a password with the one-time link the platform sent.

Reachable without a session (the token is the secret).  The form carries a
one-time value matched against a cookie, as the login form does, so no other
site can post it.  Unknown, used and expired links get the same page.  A
password set here logs the user in at once (a new session; any others end).
"""

from __future__ import annotations

import secrets

from aiohttp import web

from daemon.console.pages.login import NONCE_COOKIE
from daemon.console.paths import INVITE, PREFIX
from daemon.console.render import page, see_other
from daemon.console.session import COOKIE, clear_cookie, csrf_matches, set_cookie
from daemon.console.viewer import ROLE_NAMES
from daemon.http.context import pool_of
from daemon.repositories import console_sessions, console_users, invites
from daemon.services import invites as service
from daemon.services.errors import Invalid

routes = web.RouteTableDef()

UNUSABLE = (
    "このリンクは使えません。有効期限（発行から7日）が切れたか、すでに使われています。"
    "管理者に新しいリンクをご依頼ください。"
)
PASSWORD_RULE = f"パスワードは{console_users.MIN_PASSWORD}〜{console_users.MAX_PASSWORD}文字で入力してください"
EXPIRED = "フォームの有効期限が切れました。もう一度入力してください。"
MISMATCH = "確認用のパスワードが一致しません"
TOKEN = INVITE + "{token:[A-Za-z0-9_-]{20,100}}"


def _form(request: web.Request, invitee: invites.Invitee | None, *, error: str = "", status: int = 200) -> web.Response:
    nonce = secrets.token_urlsafe(24)
    context = {"invitee": invitee, "roles": ROLE_NAMES, "nonce": nonce, "error": error, "unusable": UNUSABLE}
    response = page(request, "invite.html", context, status=status if invitee else 404)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    set_cookie(request, response, NONCE_COOKIE, nonce, max_age=3600)
    return response


@routes.get(TOKEN)
async def invite_form(request: web.Request) -> web.Response:
    return _form(request, await invites.valid(pool_of(request), request.match_info["token"]))


@routes.post(TOKEN)
async def set_password(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    form = await request.post()
    invitee = await invites.valid(pool_of(request), token)
    if invitee is None:
        return _form(request, None)
    if not csrf_matches(str(form.get("nonce", "")), request.cookies.get(NONCE_COOKIE, "")):
        return _form(request, invitee, error=EXPIRED, status=403)
    password = str(form.get("password", ""))
    if password != str(form.get("again", "")):
        return _form(request, invitee, error=MISMATCH, status=422)
    try:
        used = await service.redeem(pool_of(request), token, password, request.remote or "")
    except Invalid:
        return _form(request, invitee, error=PASSWORD_RULE, status=422)
    except service.LinkUnusable:
        return _form(request, None)
    session = await console_sessions.start(pool_of(request), used.user_id)
    response = see_other(PREFIX + "/")
    set_cookie(request, response, COOKIE, session, max_age=console_sessions.MAX_SECONDS)
    clear_cookie(response, NONCE_COOKIE)
    raise response
