"""Bearer-token authentication of the admin API (everything under ``/api/``) and of the per-tenant figures.

Closed by default: with no token configured every admin request gets 503
(the operator has to set ``CALLD_ADMIN_TOKEN``); a missing or wrong token gets
401 with ``WWW-Authenticate: Bearer``.  Tokens are compared in constant time.
Only the paths in :data:`PUBLIC` (the API's own description) are open.

``/metrics`` carries every tenant's live calls and revenue, so it takes a
token too: ``CALLD_METRICS_TOKEN`` (what a Prometheus scrape is given, so the
admin token need not sit in its configuration) or the admin token.  The open
liveness check is ``/status`` (no tenant in it).
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
MONITORING = frozenset({"/metrics"})  # per-tenant figures: the metrics token or the admin token
_REALM = 'Bearer realm="calld admin"'
_MONITORING_REALM = 'Bearer realm="calld metrics"'


def requires_auth(path: str) -> bool:
    """Admin token needed?  Operator paths take tenant tokens instead (tenant_auth.py)."""
    return path.startswith(API_PREFIX) and path not in PUBLIC and not is_operator_path(path)


def _presented_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get(hdrs.AUTHORIZATION, "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _raw(token: SecretStr) -> bytes:
    # surrogateescape: header values (and the environment) carry undecodable bytes as
    # surrogates; compare the original bytes instead of failing with a 500.
    return token.get_secret_value().encode("utf-8", "surrogateescape")


def _check(request: web.Request, accepted: list[bytes], realm: str, what: str) -> None:
    """Raise 503 when no token is configured, 401 when none of ``accepted`` was presented."""
    if not accepted:
        raise ApiError(503, f"the {what} is disabled: no token is configured")
    presented = _presented_token(request)
    if presented is None:
        raise ApiError(
            401, "authentication required: send 'Authorization: Bearer <token>'", headers={hdrs.WWW_AUTHENTICATE: realm}
        )
    given = presented.encode("utf-8", "surrogateescape")
    # every token compared, so the time taken does not say which one came close
    if not sum(hmac.compare_digest(given, token) for token in accepted):
        _log.warning(f"{what}_auth_failed", path=request.path, peer=request.remote)
        raise ApiError(401, f"invalid {what} token", headers={hdrs.WWW_AUTHENTICATE: realm + ', error="invalid_token"'})


def bearer_auth(token: SecretStr, metrics_token: SecretStr) -> Middleware:
    admin = _raw(token)
    monitoring = [t for t in (_raw(metrics_token), admin) if t]

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in MONITORING:
            _check(request, monitoring, _MONITORING_REALM, "metrics")
        elif requires_auth(request.path):
            if not admin:
                raise ApiError(503, "the admin API is disabled: no admin token is configured (set CALLD_ADMIN_TOKEN)")
            _check(request, [admin], _REALM, "admin")
        return await handler(request)

    return middleware
