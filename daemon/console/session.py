"""Console sessions as middleware: the cookie → a :class:`Viewer`, CSRF on every change, security headers.

* No session (or an expired one): 303 to the login page, remembering where to.
* Every POST must carry the session's CSRF token (form field ``csrf`` or
  header ``X-CSRF-Token``), compared in constant time; else 403.
* The cookie is ``HttpOnly``, ``SameSite=Strict``, ``Path=/console`` and
  ``Secure`` unless ``CALLD_CONSOLE_SECURE_COOKIES=false`` (browsers accept
  ``Secure`` cookies from http://127.0.0.1 and http://localhost, so only a
  plain-HTTP console on another host needs that).
* Every console response forbids framing and caching and allows only our own
  scripts and styles (Content-Security-Policy).
"""

from __future__ import annotations

import hmac
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from daemon.console.paths import LOGIN, is_console_path, is_open
from daemon.console.viewer import VIEWER, Viewer
from daemon.http.context import pool_of, settings_of
from daemon.repositories import console_sessions

COOKIE = "calld_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
STALE_FORM = "フォームの有効期限が切れました。ページを読み込み直してからもう一度送信してください。"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self'; script-src 'self';"
        " frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=settings_of(request).console_secure_cookies,
    )


def clear_cookie(response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path="/console")


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: also reaches streamed responses (SSE, CSV) and error pages."""
    if is_console_path(request.path):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)


def _to_login(request: web.Request) -> web.HTTPSeeOther:
    wanted = request.path_qs if request.method in _SAFE else request.path
    return web.HTTPSeeOther(f"{LOGIN}?next={quote(wanted, safe='/')}")


async def _presented_csrf(request: web.Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    form = await request.post()
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


def csrf_matches(presented: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


@web.middleware
async def console_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_console_path(request.path) or is_open(request.path):
        return await handler(request)
    token = request.cookies.get(COOKIE)
    session = await console_sessions.resume(pool_of(request), token) if token else None
    if session is None:
        raise _to_login(request)
    user = session.user
    viewer = Viewer(
        user.id, user.login, user.display_name, user.role, user.tenant_id, session.csrf_token, request.remote or ""
    )
    request[VIEWER] = viewer
    if request.method not in _SAFE and not csrf_matches(await _presented_csrf(request), viewer.csrf_token):
        raise web.HTTPForbidden(
            reason="フォームの有効期限が切れました。ページを読み込み直してからもう一度送信してください。"
        )
    return await handler(request)
