"""Operator authentication: ``/api/v1/operator/…`` takes a token scoped to one tenant.

The tenant comes from the token, never from the URL, so an operator cannot even
name another tenant's objects (their ids are "not found").  Tokens are created
by the admin (``POST /api/v1/tenants/{id}/tokens``) and stored as SHA-256.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from daemon.http.context import pool_of
from daemon.http.errors import ApiError
from daemon.logs import get_logger
from daemon.repositories import tokens

_log = get_logger(__name__)

OPERATOR_PREFIX = "/api/v1/operator/"
_REALM = 'Bearer realm="calld operator"'
TENANT_ID: web.RequestKey[int] = web.RequestKey("tenant_id", int)


def is_operator_path(path: str) -> bool:
    return path.startswith(OPERATOR_PREFIX)


def tenant_of(request: web.Request) -> int:
    return request[TENANT_ID]


@web.middleware
async def tenant_token_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_operator_path(request.path):
        return await handler(request)
    scheme, _, token = request.headers.get(hdrs.AUTHORIZATION, "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "authentication required: send 'Authorization: Bearer <operator token>'",
            headers={hdrs.WWW_AUTHENTICATE: _REALM},
        )
    tenant_id = await tokens.tenant_of(pool_of(request), token)
    if tenant_id is None:
        _log.warning("operator_auth_failed", path=request.path, peer=request.remote)
        raise ApiError(
            401,
            "invalid or revoked operator token",
            headers={hdrs.WWW_AUTHENTICATE: _REALM + ', error="invalid_token"'},
        )
    request[TENANT_ID] = tenant_id
    return await handler(request)
