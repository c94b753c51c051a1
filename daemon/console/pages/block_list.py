"""``/console/block-list``: the callers the tenant refuses (着信拒否), for both products.

A number, or every caller who withholds theirs (非通知), on all the tenant's
numbers or on one.  The changes are :mod:`daemon.services.block_list`'s (each
audited); after each one the page says what was done.  A removal is confirmed
in the browser first (``data-confirm``, static/confirm.js).
"""

from __future__ import annotations

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors, fields
from daemon.console.pages.editing import parse
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import form_errors
from daemon.console.render import page, see_other
from daemon.console.viewer import IVR, OPERATOR, tenant_scope
from daemon.http.context import pool_of
from daemon.repositories.block_list import ANONYMOUS
from daemon.services import block_list as service
from daemon.services.block_list import TAKEN, BlockIn
from daemon.services.errors import Conflict, ServiceError

routes = web.RouteTableDef()

LIST = f"{PREFIX}/block-list"
ONE = LIST + r"/{id:\d+}"
KINDS = {"number": "電話番号を指定", ANONYMOUS: "非通知の着信すべて"}


async def _page(
    request: web.Request, tenant: int, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> web.Response:
    pool, actor = pool_of(request), actor_of(request)
    context = {
        "entries": await service.listing(pool, actor, tenant),
        "numbers": await service.numbers(pool, actor, tenant),
        "values": values,
        "errors": errors,
        "kinds": KINDS,
        "anonymous": ANONYMOUS,
    }
    return page(request, "block_list.html", context, status=status)


def _body(values: dict[str, str]) -> BlockIn:
    """The form → the operation's model; ``kind`` anonymous needs no number typed."""
    anonymous = values.get("kind") == ANONYMOUS
    if not anonymous and not values.get("caller"):
        raise FormErrors({"caller": "拒否する電話番号を入力してください"})
    data = {
        "caller": ANONYMOUS if anonymous else values.get("caller", ""),
        "number": values.get("number", ""),
        "note": values.get("note", ""),
    }
    return parse(BlockIn, data)


@routes.get(LIST)
async def block_list_page(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR, IVR)
    return await _page(request, tenant, {"kind": "number"}, {})


@routes.post(LIST)
async def add(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR, IVR)
    values = await fields(request)
    try:
        await service.add(pool_of(request), actor_of(request), tenant, _body(values))
    except FormErrors as exc:
        return await _page(request, tenant, values, exc.errors, status=422)
    except Conflict as exc:
        if exc.code != TAKEN:
            raise
        errors = {"caller": "この発信者はすでに着信拒否に登録されています"}
        return await _page(request, tenant, values, errors, status=409)
    except ServiceError as exc:
        return await _page(request, tenant, values, form_errors(exc), status=422)
    raise see_other(LIST, "block.added")


@routes.post(ONE + "/delete")
async def remove(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR, IVR)
    await service.remove(pool_of(request), actor_of(request), tenant, path_id(request))
    raise see_other(LIST, "block.removed")
