"""``/console/groups``: the tenant's counsellor groups (keypad code, tariff, members in hunting order).

Validation is :class:`daemon.services.inputs.GroupIn`, the changes are
:mod:`daemon.services.groups`' (each with its audit row).  Members are
chosen by giving each counsellor a place in the hunting order (1, 2, 3 …;
empty: not a member), so the form works without JavaScript.
"""

from __future__ import annotations

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors, fields, number
from daemon.console.pages.editing import parse, shown
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import form_errors
from daemon.console.render import page, see_other
from daemon.console.viewer import OPERATOR, tenant_scope
from daemon.http.context import pool_of
from daemon.repositories import counsellors, groups
from daemon.services import groups as service
from daemon.services.errors import Conflict, Invalid
from daemon.services.inputs import GroupIn

routes = web.RouteTableDef()

LIST = PREFIX + "/groups"
ONE = LIST + r"/{id:\d+}"
NUMERIC = (
    "rate_yen_per_min",
    "ring_timeout_s",
    "free_seconds",
    "minimum_charge_yen",
    "max_missed",
    "wrapup_seconds",
    "warning_seconds",
    "queue_max_wait_s",
    "queue_max_length",
    "queue_announce_s",
    "minimum_talk_seconds",
)
#: The waiting line's switch: a checkbox ("on" when ticked, absent when not).
QUEUE_SWITCH = "queue_enabled"
STRATEGIES = {
    "longest_idle": "待ち時間が最も長い人から",
    "sequential": "登録順",
    "round_robin": "順番に回す",
    "random": "ランダム",
    "ring_all": "全員を同時に呼び出す",
}


def _id(request: web.Request) -> int:
    return path_id(request)


def member_field(counsellor_id: int) -> str:
    return f"member-{counsellor_id}"


def _members(values: dict[str, str], people: list[counsellors.CounsellorRow]) -> list[int]:
    """The tenant's counsellors given a place, in that order (ties: as listed)."""
    placed: list[tuple[int, int]] = []
    errors: dict[str, str] = {}
    for person in people:
        name = member_field(person.id)
        try:
            place = number(values.get(name), name)
        except FormErrors as exc:
            errors.update(exc.errors)
            continue
        if place is not None:
            placed.append((place, person.id))
    if errors:
        raise FormErrors(errors)
    return [person for _, person in sorted(placed)]


def _values(row: groups.GroupRow) -> dict[str, str]:
    values = shown({name: getattr(row, name) for name in groups.SETTINGS})
    values[QUEUE_SWITCH] = "on" if row.queue_enabled else ""
    values.update({member_field(m): str(place) for place, m in enumerate(row.members, 1)})
    return values


def _read(values: dict[str, str], people: list[counsellors.CounsellorRow]) -> GroupIn:
    errors: dict[str, str] = {}
    members: list[int] = []
    try:
        members = _members(values, people)
    except FormErrors as exc:
        errors.update(exc.errors)
    try:
        body = parse(GroupIn, {**values, QUEUE_SWITCH: ""}, NUMERIC)
    except FormErrors as exc:
        raise FormErrors({**exc.errors, **errors}) from None
    if errors:
        raise FormErrors(errors)
    return body.model_copy(update={"members": members, QUEUE_SWITCH: values.get(QUEUE_SWITCH) == "on"})


async def _form(
    request: web.Request,
    tenant: int,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    group_id: int | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        "values": values,
        "errors": errors or {},
        "group_id": group_id,
        "people": await counsellors.list_all(pool_of(request), tenant),
        "strategies": STRATEGIES,
        "member_field": member_field,
    }
    return page(request, "groups_form.html", context, status=status)


@routes.get(LIST)
async def list_groups(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    pool = pool_of(request)
    names = {c.id: c.name for c in await counsellors.list_all(pool, tenant)}
    context = {"groups": await groups.list_all(pool, tenant), "names": names, "strategies": STRATEGIES}
    return page(request, "groups_list.html", context)


@routes.get(LIST + "/new")
async def new(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    defaults = {name: GroupIn.model_fields[name].default for name in groups.SETTINGS if name not in ("code", "name")}
    defaults["rate_yen_per_min"] = ""
    defaults[QUEUE_SWITCH] = ""
    return await _form(request, tenant, shown(defaults))


@routes.post(LIST)
async def create(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    values = await fields(request)
    pool = pool_of(request)
    try:
        body = _read(values, await counsellors.list_all(pool, tenant))
        await service.create_group(pool, actor_of(request), tenant, body)
    except FormErrors as exc:
        return await _form(request, tenant, values, exc.errors, status=422)
    except (Conflict, Invalid) as exc:
        return await _form(request, tenant, values, form_errors(exc), status=422)
    raise see_other(LIST)


@routes.get(ONE)
async def edit(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    row = await groups.get(pool_of(request), tenant, _id(request))
    return await _form(request, tenant, _values(row), group_id=row.id)


@routes.post(ONE)
async def update(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    group_id = _id(request)
    values = await fields(request)
    pool = pool_of(request)
    try:
        body = _read(values, await counsellors.list_all(pool, tenant))
        await service.update_group(pool, actor_of(request), tenant, group_id, body)
    except FormErrors as exc:
        return await _form(request, tenant, values, exc.errors, group_id, status=422)
    except (Conflict, Invalid) as exc:
        return await _form(request, tenant, values, form_errors(exc), group_id, status=422)
    raise see_other(LIST)


@routes.post(ONE + "/delete")
async def delete(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    group_id = _id(request)
    await service.delete_group(pool_of(request), actor_of(request), tenant, group_id)
    raise see_other(LIST)
