"""Who is calling the API, as the service layer's :class:`~daemon.services.actor.Actor`.

Authentication has already happened (auth.py, tenant_auth.py): an operator path
carries the tenant its token belongs to, every other API path the admin token.
"""

from __future__ import annotations

from aiohttp import web

from daemon.http.tenant_auth import TENANT_ID
from daemon.services.actor import Actor


def actor_of(request: web.Request) -> Actor:
    remote = request.remote or ""
    tenant_id = request.get(TENANT_ID)
    return Actor.admin_token(remote) if tenant_id is None else Actor.tenant_token(tenant_id, remote)
