"""``/console/counsellors``: the tenant's counsellors, their state, duty on/off, create, edit, delete.

Validation is :class:`daemon.services.inputs.CounsellorIn`, the changes are
:mod:`daemon.services.counsellors`' (each with its audit row).  A counsellor in
a call cannot be deleted (the operation refuses; the list says why).  The
dial-string override stays the platform admin's.
"""

from __future__ import annotations

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors, fields
from daemon.console.pages.board import COUNSELLOR_STATES
from daemon.console.pages.editing import parse, shown
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import form_errors, japanese
from daemon.console.render import page, see_other
from daemon.console.viewer import OPERATOR, tenant_scope
from daemon.http.context import pool_of
from daemon.repositories import board, counsellors
from daemon.services import counsellors as service
from daemon.services.counsellors import settings
from daemon.services.errors import Conflict, Invalid
from daemon.services.inputs import CounsellorIn

routes = web.RouteTableDef()

LIST = PREFIX + "/counsellors"
ONE = LIST + r"/{id:\d+}"
NUMERIC = ("rate_yen_per_min",)


def _id(request: web.Request) -> int:
    return path_id(request)


async def _list(request: web.Request, tenant: int, error: str = "", status: int = 200) -> web.Response:
    pool = pool_of(request)
    rows = await counsellors.list_all(pool, tenant)
    states = {c.id: c.state for c in (await board.board(pool, tenant)).counsellors}
    listed = [
        {"row": r, "state": states.get(r.id, board.OFF), "label": COUNSELLOR_STATES[states.get(r.id, board.OFF)]}
        for r in rows
    ]
    return page(request, "counsellors_list.html", {"counsellors": listed, "error": error}, status=status)


def _form(
    request: web.Request,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    counsellor_id: int | None = None,
    status: int = 200,
    overridden: bool = False,
) -> web.Response:
    context = {"values": values, "errors": errors or {}, "counsellor_id": counsellor_id, "overridden": overridden}
    return page(request, "counsellors_form.html", context, status=status)


def _read(values: dict[str, str], *, on_duty: bool | None = None, overridden: bool = False) -> CounsellorIn:
    """The form as the API's body; ``on_duty`` None: from the checkbox (creation).

    A phone number is required unless the admin set a dial string (``overridden``).
    """
    duty = values.get("on_duty") == "on" if on_duty is None else on_duty
    typed = {**values, "on_duty": "", "phone_number": values.get("phone_number", "")}
    body = parse(CounsellorIn, typed, NUMERIC).model_copy(update={"on_duty": duty})
    if body.phone_number is None and not overridden:
        raise FormErrors({"phone_number": "電話番号を入力してください"})
    return body


@routes.get(LIST)
async def list_counsellors(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    return await _list(request, tenant)


@routes.get(LIST + "/new")
async def new(request: web.Request) -> web.Response:
    tenant_scope(request, OPERATOR)
    return _form(request, {"on_duty": "on"})


@routes.post(LIST)
async def create(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    values = await fields(request)
    try:
        await service.create_counsellor(pool_of(request), actor_of(request), tenant, _read(values))
    except FormErrors as exc:
        return _form(request, values, exc.errors, status=422)
    except (Conflict, Invalid) as exc:
        return _form(request, values, form_errors(exc), status=422)
    raise see_other(LIST, "counsellor.create")


@routes.get(ONE)
async def edit(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    row = await counsellors.get(pool_of(request), tenant, _id(request))
    return _form(request, shown(settings(row)), counsellor_id=row.id, overridden=row.dial_override is not None)


@routes.post(ONE)
async def update(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    counsellor_id = _id(request)
    values = await fields(request)
    before = await counsellors.get(pool_of(request), tenant, counsellor_id)
    try:
        body = _read(values, on_duty=before.on_duty, overridden=before.dial_override is not None)
        # duty has its own button: the operation keeps it as it is then
        await service.update_counsellor(
            pool_of(request), actor_of(request), tenant, counsellor_id, body, keep_duty=True
        )
    except FormErrors as exc:
        return _form(request, values, exc.errors, counsellor_id, status=422)
    except (Conflict, Invalid) as exc:
        return _form(request, values, form_errors(exc), counsellor_id, status=422)
    raise see_other(LIST, "counsellor.update")


@routes.post(ONE + "/duty")
async def duty(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    counsellor_id = _id(request)
    on_duty = (await fields(request)).get("on_duty") == "1"
    await service.set_duty(pool_of(request), actor_of(request), tenant, counsellor_id, on_duty)
    raise see_other(LIST, "counsellor.duty")


@routes.post(ONE + "/delete")
async def delete(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    counsellor_id = _id(request)
    try:
        await service.delete_counsellor(pool_of(request), actor_of(request), tenant, counsellor_id)
    except Conflict as exc:
        return await _list(request, tenant, japanese(exc), status=409)
    raise see_other(LIST, "counsellor.delete")
