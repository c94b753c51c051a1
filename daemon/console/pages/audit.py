"""The audit log, newest first, in sentences: a tenant's users see their own tenant's rows, the admin all.

Each row reads as who did what to which object (:mod:`daemon.console.audit_words`),
with the fields that changed, before → after, in words.  The stored action and
object stay in ``data-`` attributes for scripts.  Filters: the actor's login
and the object (``利用者 #12`` is stored as ``caller 12``; a prefix such as
``caller`` finds every caller's rows).
"""

from __future__ import annotations

from aiohttp import web

from daemon.console import audit_words
from daemon.console.changes import actor_of
from daemon.console.paths import PREFIX
from daemon.console.render import page
from daemon.console.viewer import ADMIN, IVR, OPERATOR, require
from daemon.http.context import pool_of
from daemon.repositories.audit import Filter
from daemon.services import audit

routes = web.RouteTableDef()


def _filter(values: dict[str, str]) -> Filter:
    wanted = values["object"]
    # a bare kind ("caller") lists every object of it
    target = f"{wanted} *" if wanted and " " not in wanted else wanted or None
    return Filter(login=values["actor"] or None, target=target)


@routes.get(f"{PREFIX}/audit")
async def audit_log(request: web.Request) -> web.Response:
    viewer = require(request, ADMIN, OPERATOR, IVR)
    values = {k: request.query.get(k, "").strip()[:200] for k in ("actor", "object")}
    rows = await audit.search(pool_of(request), actor_of(request), _filter(values))
    context = {"rows": rows, "all_tenants": viewer.tenant_id is None, "words": audit_words, "values": values}
    return page(request, "audit_log.html", context)
