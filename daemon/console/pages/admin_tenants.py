"""``/console/admin/tenants``: every tenant (numbers, lines, live calls); one tenant's numbers, lines and add-on.

``/console/admin/tenants/new`` onboards a customer in one step (billing name and
address, product, a number of the pool, lines, add-on, the first console user);
the one-time link that sets that user's password is shown once, on the page
that follows, and e-mailed to the user when an address is given (a mail that
does not leave is said on that page; the link works all the same).  A tenant's
page changes its billing contact and invites more users.

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
from daemon.console.viewer import ADMIN, ROLE_NAMES, require
from daemon.http.call_safety_models import ForwardGuardUpdate
from daemon.http.context import pool_of, settings_of
from daemon.ivr import published
from daemon.repositories import billing_contacts, console_users, contracts, forwarding, number_pool, tenants
from daemon.services import invites
from daemon.services import tenants as service
from daemon.services.errors import Conflict, Invalid, NotFound
from daemon.services.inputs import LinesUpdate, NumberCreate
from daemon.services.tenant_models import BillingContactIn, InviteIn, Onboarding

routes = web.RouteTableDef()

LIST = f"{PREFIX}/admin/tenants"
NEW = f"{LIST}/new"


def tenant_url(tenant_id: int) -> str:
    return f"{LIST}/{tenant_id}"


@routes.get(LIST)
async def tenant_list(request: web.Request) -> web.Response:
    require(request, ADMIN)
    return page(request, "admin_tenants_list.html", {"tenants": await tenants.list_tenants(pool_of(request))})


async def _new_form(
    request: web.Request,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        "free": await number_pool.listing(pool_of(request), free_only=True),
        "values": dict(values or {"lines": "1", "product": "ivr"}),
        "errors": dict(errors or {}),
    }
    return page(request, "admin_tenants_new.html", context, status=status)


def _onboarding(values: Mapping[str, str]) -> Onboarding:
    """The onboarding form as the service's model (Japanese errors by field, as :class:`FormErrors`)."""
    typed: dict[str, str] = {}
    try:
        lines = number(values.get("lines"), "lines")
    except FormErrors as exc:
        typed, lines = exc.errors, None
    login = values.get("login", "")
    first_user = {"login": login, "display_name": values.get("display_name", ""), "role": values.get("product")}
    first_user["email"] = values.get("email", "")
    if login:
        try:
            validate(InviteIn, first_user)
        except FormErrors as exc:  # each beside its own field (the onboarding's model names only first_user)
            typed |= {k: v for k, v in exc.errors.items() if k != "role"}
    body = {
        "name": values.get("name", ""),
        "billing_name": values.get("billing_name", ""),
        "billing_address": values.get("billing_address", ""),
        "billing_email": values.get("billing_email", ""),
        "product": values.get("product", ""),
        "number": values.get("number") or None,
        "lines": lines,
        "forwarding": values.get("forwarding") == "on",
        "first_user": first_user if login else None,
    }
    try:
        found = validate(Onboarding, body)
    except FormErrors as exc:
        raise FormErrors({("login" if k == "first_user" else k): v for k, v in exc.errors.items()} | typed) from None
    if typed:
        raise FormErrors(typed)
    return found


@routes.get(NEW)
async def new_tenant(request: web.Request) -> web.Response:
    require(request, ADMIN)
    return await _new_form(request)


@routes.post(NEW)
async def onboard(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    values = await fields(request)
    try:
        done = await service.onboard(pool_of(request), actor_of(request), _onboarding(values))
    except FormErrors as exc:
        return await _new_form(request, values=values, errors=exc.errors, status=422)
    except (Conflict, Invalid) as exc:
        return await _new_form(request, values=values, errors=form_errors(exc), status=422)
    except NotFound:
        errors = {"number": "この番号は番号在庫にありません"}
        return await _new_form(request, values=values, errors=errors, status=422)
    tenant = await tenants.get_tenant(pool_of(request), done.tenant_id)
    return await _invited(request, tenant, done.invitation, created=True)


async def _invited(
    request: web.Request, tenant: tenants.TenantDetail, invitation: invites.Invitation | None, *, created: bool
) -> web.Response:
    """The one time the link is shown (it is not stored, only its hash), and what became of its e-mail."""
    link = str(request.url.origin()) + invitation.path if invitation else ""
    mailing = None
    if invitation is not None:
        mailing = await invites.mail_link(pool_of(request), actor_of(request), settings_of(request), invitation, link)
    context = {"tenant": tenant, "invitation": invitation, "link": link, "created": created, "mailing": mailing}
    response = page(request, "admin_tenants_invited.html", context, status=201 if created else 200)
    response.headers["Cache-Control"] = "no-store"
    return response


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
    contact = await billing_contacts.get(pool, tenant_id)
    context = {
        "tenant": tenant,
        "history": list(reversed(history)),
        "forwarding": history[-1].forwarding if history else False,
        "users": await console_users.list_all(pool, tenant_id),
        "roles": ROLE_NAMES,
        "safety": safety,
        "blocked": await published.refused(pool, tenant_id),
        "reasons": REFUSALS,
        "values": dict(values or {"lines": str(tenant.lines)} | guard | _billing_values(contact)),
        "errors": dict(errors or {}),
        "contact": contact,
    }
    return page(request, "admin_tenants_detail.html", context, status=status)


def _billing_values(contact: billing_contacts.BillingContact) -> dict[str, str]:
    return {"billing_name": contact.name, "billing_address": contact.address, "billing_email": contact.email}


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
    raise see_other(tenant_url(tenant_id), "tenant.lines")


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
    raise see_other(tenant_url(tenant_id), "tenant.number_added")


@routes.post(LIST + r"/{tenant_id:\d+}/numbers/{number:\d+}/delete")
async def remove_number(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    # only this tenant's own numbers are removed from its page
    await service.remove_number(pool_of(request), actor_of(request), request.match_info["number"], tenant_id=tenant_id)
    raise see_other(tenant_url(tenant_id), "tenant.number_removed")


@routes.post(LIST + r"/{tenant_id:\d+}/forwarding")
async def set_forwarding(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    enabled = (await fields(request)).get("forwarding") == "on"
    await service.set_forwarding(pool_of(request), actor_of(request), tenant_id, enabled)
    raise see_other(tenant_url(tenant_id), "tenant.forwarding")


@routes.post(LIST + r"/{tenant_id:\d+}/international")
async def set_international(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    enabled = (await fields(request)).get("international") == "on"
    await service.set_international(pool_of(request), actor_of(request), tenant_id, enabled)
    raise see_other(tenant_url(tenant_id), "tenant.international")


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
    await service.set_forward_guard(pool_of(request), actor_of(request), tenant_id, guard)
    raise see_other(tenant_url(tenant_id), "tenant.guard")


@routes.post(LIST + r"/{tenant_id:\d+}/billing")
async def set_billing(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    values = await fields(request)
    wanted = {k: values.get(k, "") for k in ("billing_name", "billing_address", "billing_email")}
    try:
        await service.set_billing(pool_of(request), actor_of(request), tenant_id, validate(BillingContactIn, wanted))
    except FormErrors as exc:
        return await _detail(request, tenant_id, values=values, errors=exc.errors, status=422)
    raise see_other(tenant_url(tenant_id), "tenant.billing")


@routes.post(LIST + r"/{tenant_id:\d+}/invite")
async def invite(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    values = await fields(request)
    wanted = {k: values.get(k, "") for k in ("login", "display_name", "role", "email")}
    try:
        invitation = await invites.invite(pool_of(request), actor_of(request), tenant_id, validate(InviteIn, wanted))
    except FormErrors as exc:
        return await _detail(request, tenant_id, values=values, errors=exc.errors, status=422)
    except (Conflict, Invalid) as exc:
        return await _detail(request, tenant_id, values=values, errors=form_errors(exc), status=422)
    return await _invited(request, await tenants.get_tenant(pool_of(request), tenant_id), invitation, created=False)


@routes.post(LIST + r"/{tenant_id:\d+}/users/{user_id:\d+}/reinvite")
async def reinvite(request: web.Request) -> web.StreamResponse:
    """A new one-time link for one of the tenant's users (an expired or lost one); earlier links stop working."""
    require(request, ADMIN)
    tenant_id = path_id(request, "tenant_id")
    user = await console_users.get(pool_of(request), path_id(request, "user_id"))
    if user.tenant_id != tenant_id:
        raise NotFound(f"console user {user.id} is not a user of tenant {tenant_id}")
    invitation = await invites.reinvite(pool_of(request), actor_of(request), user.id)
    return await _invited(request, await tenants.get_tenant(pool_of(request), tenant_id), invitation, created=False)
