"""``/console/admin/numbers``: the pool of our 03 numbers (which are free, who has the others); add and retire.

Platform admin only.  A number is given to a customer when the customer is
onboarded (``/console/admin/tenants/new``) or on the tenant's page; a number
still given to a tenant cannot be retired (the database refuses it, too).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors, fields, validate
from daemon.console.paths import PREFIX
from daemon.console.refusals import form_errors
from daemon.console.render import page, see_other
from daemon.console.viewer import ADMIN, require
from daemon.http.context import pool_of
from daemon.repositories import number_pool
from daemon.services import number_pool as service
from daemon.services.errors import Conflict, Invalid, NotFound
from daemon.services.tenant_models import PoolNumberIn

routes = web.RouteTableDef()

LIST = f"{PREFIX}/admin/numbers"


async def _list(
    request: web.Request,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        "numbers": await number_pool.listing(pool_of(request)),
        "values": dict(values or {}),
        "errors": dict(errors or {}),
    }
    return page(request, "admin_numbers.html", context, status=status)


@routes.get(LIST)
async def pool_list(request: web.Request) -> web.Response:
    require(request, ADMIN)
    return await _list(request)


@routes.post(LIST)
async def add(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    values = await fields(request)
    try:
        body = validate(PoolNumberIn, {"number": values.get("number", ""), "note": values.get("note", "")})
        await service.add(pool_of(request), actor_of(request), body)
    except FormErrors as exc:
        return await _list(request, values=values, errors=exc.errors, status=422)
    except (Conflict, Invalid) as exc:
        return await _list(request, values=values, errors=form_errors(exc), status=422)
    raise see_other(LIST, "pool.added")


@routes.post(LIST + r"/{number:\d+}/delete")
async def remove(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    try:
        await service.remove(pool_of(request), actor_of(request), request.match_info["number"])
    except (Conflict, NotFound) as exc:
        return await _list(request, errors=form_errors(exc), status=409 if isinstance(exc, Conflict) else 404)
    raise see_other(LIST, "pool.removed")
