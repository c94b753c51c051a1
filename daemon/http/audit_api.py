"""``GET /api/v1/audit``: who changed what, when, before → after (the admin token sees every tenant).

A tenant's token reads its own tenant's log at ``GET /api/v1/operator/audit``
(operator paths take tenant tokens, every other path the admin token); both
are one handler over :func:`daemon.services.audit.search`, which narrows a
tenant actor to their tenant.
"""

from __future__ import annotations

from aiohttp import web

from daemon.http.actor import actor_of
from daemon.http.context import pool_of
from daemon.http.models import AuditEntry, AuditLog
from daemon.http.registry import RouteTable, read_query
from daemon.repositories.audit import Filter
from daemon.services import audit
from daemon.services.inputs import AuditQuery

admin_routes = RouteTable()
operator_routes = RouteTable()

_FILTERS = "filters: since, until (times without a zone are Asia/Tokyo), actor, actor_kind, object, action"


async def _log(request: web.Request) -> AuditLog:
    query = read_query(request, AuditQuery).in_tokyo()
    where = Filter(
        tenant_id=query.tenant_id,
        since=query.since,
        until=query.until,
        login=query.actor,
        actor_kind=query.actor_kind,
        target=query.object,
        action=query.action,
        before_id=query.before_id,
    )
    rows = await audit.search(pool_of(request), actor_of(request), where, query.limit + 1)
    shown = rows[: query.limit]
    return AuditLog(
        entries=[
            AuditEntry(
                id=r.id,
                at=r.at,
                actor=r.login,
                actor_kind=r.actor_kind,
                tenant_id=r.tenant_id,
                action=r.action,
                object=r.target,
                before=r.before,
                after=r.after,
                remote=r.remote,
            )
            for r in shown
        ],
        next_before_id=shown[-1].id if len(rows) > query.limit else None,
    )


def _register(table: RouteTable, path: str, name: str, whose: str) -> None:
    async def handler(request: web.Request) -> AuditLog:
        return await _log(request)

    handler.__name__ = name  # the operationId
    table.route(
        "GET",
        path,
        summary=f"{whose} audit log, newest first ({_FILTERS}, before_id, limit)",
        response=AuditLog,
        errors=(422,),
        query=AuditQuery,
    )(handler)


_register(admin_routes, "/api/v1/audit", "audit_log", "Every tenant's (tenant_id narrows)")
_register(operator_routes, "/api/v1/operator/audit", "operator_audit_log", "This tenant's")
