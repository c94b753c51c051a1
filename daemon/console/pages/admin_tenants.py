"""``/console/admin/tenants``: every tenant (numbers, lines, live calls); one tenant's numbers, lines and add-on.

Also the tenant's call safety: international calls (off by default), the
forwarding fraud guard and today's use, forwards refused, and numbers of the
live flow that the destination policy refuses.

Platform admin only.  Values are validated with the operations' own models
(:mod:`daemon.services.inputs`); the changes are :mod:`daemon.services.tenants`'
(each with its audit row, before → after, in one transaction).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from daemon.calls.cutoff import wall_us
from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors, fields, number, validate
from daemon.console.pages.ivr_forwarding import REFUSALS
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import form_errors
from daemon.console.render import page, see_other
from daemon.console.viewer import ADMIN, require
from daemon.http.call_safety_models import ForwardGuardUpdate
from daemon.http.context import pool_of
from daemon.ivr import published
from daemon.repositories import console_users, contracts, forwarding, tenants
from daemon.services import tenants as service
from daemon.services.errors import Conflict, Invalid
from daemon.services.inputs import LinesUpdate, NumberCreate

routes = web.RouteTableDef()

LIST = f"{PREFIX}/admin/tenants"


def tenant_url(tenant_id: int) -> str:
    return f"{LIST}/{tenant_id}"


@routes.get(LIST)
async def tenant_list(request: web.Request) -> web.Response:
    require(request, ADMIN)
    return page(request, "admin_tenants_list.html", {"tenants": await tenants.list_tenants(pool_of(request))})


async def _detail(
    request: web.Request,
    tenant_id: int,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    pool = pool_of(request)
    tenant = await tenants.get_tenant(pool, tenant_id)
    history = await contracts.changes(pool, tenant_id)
    safety = await forwarding.safety(pool, tenant_id, wall_us())
    guard = {"max_legs": str(safety.guard.max_legs), "max_minutes_per_day": str(safety.guard.max_minutes)}
    context = {
        "tenant": tenant,
        "history": list(reversed(history)),
        "forwarding": history[-1].forwarding if history else False,
        "users": await console_users.list_all(pool, tenant_id),
        "safety": safety,
        "blocked": await published.refused(pool, tenant_id),
        "reasons": REFUSALS,
        "values": dict(values or {"lines": str(tenant.lines)} | guard),
        "errors": dict(errors or {}),
    }
    return page(request, "admin_tenants_detail.html", context, status=status)


@routes.get(LIST + r"/{tenant_id:\d+}")
async def tenant_detail(request: web.Request) -> web.Response:
    require(request, ADMIN)
    return await _detail(request, path_id(request, "tenant_id"))


@routes.post(LIST + r"/{tenant_id:\d+}/lines")
async def change_lines(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    values = await fields(request)
    try:
        body = validate(LinesUpdate, {"lines": number(values.get("lines"), "lines")})
    except FormErrors as exc:
        return await _detail(request, tenant_id, values=values, errors=exc.errors, status=422)
    await service.set_lines(pool_of(request), actor_of(request), tenant_id, body)
    raise see_other(tenant_url(tenant_id))


@routes.post(LIST + r"/{tenant_id:\d+}/numbers")
async def add_number(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    values = await fields(request)
    try:
        body = validate(NumberCreate, {"number": values.get("number", ""), "product": values.get("product", "")})
        await service.add_number(pool_of(request), actor_of(request), tenant_id, body)
    except FormErrors as exc:
        return await _detail(request, tenant_id, values=values, errors=exc.errors, status=422)
    except (Conflict, Invalid) as exc:
        return await _detail(request, tenant_id, values=values, errors=form_errors(exc), status=422)
    raise see_other(tenant_url(tenant_id))


@routes.post(LIST + r"/{tenant_id:\d+}/numbers/{number:\d+}/delete")
async def remove_number(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    # only this tenant's own numbers are removed from its page
    await service.remove_number(pool_of(request), actor_of(request), request.match_info["number"], tenant_id=tenant_id)
    raise see_other(tenant_url(tenant_id))


@routes.post(LIST + r"/{tenant_id:\d+}/forwarding")
async def set_forwarding(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    enabled = (await fields(request)).get("forwarding") == "on"
    await service.set_forwarding(pool_of(request), actor_of(request), tenant_id, enabled)
    raise see_other(tenant_url(tenant_id))


@routes.post(LIST + r"/{tenant_id:\d+}/international")
async def set_international(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    enabled = (await fields(request)).get("international") == "on"
    await contracts.set_international(pool_of(request), tenant_id, enabled, actor=actor_of(request))
    raise see_other(tenant_url(tenant_id))


@routes.post(LIST + r"/{tenant_id:\d+}/forward_guard")
async def set_forward_guard(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    values = await fields(request)
    try:
        body = validate(
            ForwardGuardUpdate,
            {
                "max_legs": number(values.get("max_legs"), "max_legs"),
                "max_minutes_per_day": number(values.get("max_minutes_per_day"), "max_minutes_per_day"),
            },
        )
    except FormErrors as exc:
        return await _detail(request, tenant_id, values=values, errors=exc.errors, status=422)
    guard = forwarding.Guard(body.max_legs, body.max_minutes_per_day)
    await contracts.set_forward_guard(pool_of(request), tenant_id, guard, actor=actor_of(request))
    raise see_other(tenant_url(tenant_id))
