"""Bearer-token authentication of the admin API (everything under ``/api/``).

Closed by default: with no token configured every admin request gets 503
(the operator has to set ``CALLD_ADMIN_TOKEN``); a missing or wrong token gets
401 with ``WWW-Authenticate: Bearer``.  Tokens are compared in constant time.
Only the paths in :data:`PUBLIC` (the API's own description) are open.
"""

from __future__ import annotations

import hmac

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from pydantic import SecretStr

from daemon.http.errors import ApiError
from daemon.http.tenant_auth import is_operator_path
from daemon.logs import get_logger

_log = get_logger(__name__)

API_PREFIX = "/api/"
PUBLIC = frozenset({"/api/v1/openapi.json"})
_REALM = 'Bearer realm="calld admin"'


def requires_auth(path: str) -> bool:
    """Admin token needed?  Operator paths take tenant tokens instead (tenant_auth.py)."""
    return path.startswith(API_PREFIX) and path not in PUBLIC and not is_operator_path(path)


def _presented_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get(hdrs.AUTHORIZATION, "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def bearer_auth(token: SecretStr) -> Middleware:
    # surrogateescape: header values (and the environment) carry undecodable bytes as
    # surrogates; compare the original bytes instead of failing with a 500.
    expected = token.get_secret_value().encode("utf-8", "surrogateescape")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not requires_auth(request.path):
            return await handler(request)
        if not expected:
            raise ApiError(503, "the admin API is disabled: no admin token is configured (set CALLD_ADMIN_TOKEN)")
        presented = _presented_token(request)
        if presented is None:
            raise ApiError(
                401,
                "authentication required: send 'Authorization: Bearer <token>'",
                headers={hdrs.WWW_AUTHENTICATE: _REALM},
            )
        if not hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), expected):
            _log.warning("admin_auth_failed", path=request.path, peer=request.remote)
            raise ApiError(
                401,
                "invalid admin token",
                headers={hdrs.WWW_AUTHENTICATE: _REALM + ', error="invalid_token"'},
            )
        return await handler(request)

    return middleware
