"""The admin API: tenants, their line counts, their numbers and call safety (bearer token, see auth.py).

Onboarding, as in the console: ``POST /api/v1/onboardings`` (tenant, billing
contact, a pool number, lines, add-on and the first user's one-time link in one
transaction), the pool of our 03 numbers, billing contacts and invitations.

Handlers only translate: the operations (check, write, audit, one transaction)
are :mod:`daemon.services.tenants`', reads the repository's; unknown ids
surface as 404 and duplicates as 409 through the error middleware.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from pydantic_core import PydanticCustomError

from daemon.calls.cutoff import wall_us
from daemon.http.actor import actor_of
from daemon.http.call_safety_models import CallSafety, ForwardGuardUpdate, InternationalUpdate, RefusalCount
from daemon.http.context import pool_of, settings_of
from daemon.http.errors import ApiError
from daemon.http.models import ErrorDetail, LinesChanged, NumberAssigned, NumberOut, Tenant, TenantList
from daemon.http.onboarding_models import (
    BillingContactOut,
    InvitationOut,
    NumberPool,
    Onboarded,
    PoolNumberOut,
)
from daemon.http.registry import RouteTable, json_response
from daemon.repositories import billing_contacts, forwarding, number_pool, tenants
from daemon.rules.numbers import loose_number, normalise_number
from daemon.services import invites
from daemon.services import number_pool as pool_service
from daemon.services import tenants as service
from daemon.services.inputs import LinesUpdate, NumberCreate, TenantCreate
from daemon.services.tenant_models import BillingContactIn, InviteIn, Onboarding, PoolNumberIn
from daemon.services.values import MAX_TENANT_ID

routes = RouteTable()


def _tenant_id(request: web.Request) -> int:
    tenant_id = int(request.match_info["tenant_id"])  # the route admits digits only
    if not 0 < tenant_id <= MAX_TENANT_ID:
        raise tenants.NotFound(f"no tenant with id {request.match_info['tenant_id']}")
    return tenant_id


def _number(request: web.Request) -> str:
    try:
        return normalise_number(loose_number(request.match_info["number"]))  # as the bodies read it
    except PydanticCustomError as exc:
        detail = ErrorDetail(loc=["path", "number"], msg=exc.message(), type=exc.type)
        raise ApiError(422, f"number: {exc.message()}", [detail]) from None


def _tenant(t: tenants.TenantDetail) -> Tenant:
    return Tenant(
        id=t.tenant_id,
        name=t.name,
        lines=t.lines,
        live_calls=t.live_calls,
        numbers=[NumberOut.model_validate(n, from_attributes=True) for n in t.numbers],
    )


@routes.route(
    "POST",
    "/api/v1/tenants",
    summary="Create a tenant with its lines",
    body=TenantCreate,
    response=Tenant,
    status=201,
    errors=(409,),
)
async def create_tenant(request: web.Request, body: TenantCreate) -> web.Response:
    tenant_id = await service.create_tenant(pool_of(request), actor_of(request), body)
    created = Tenant(id=tenant_id, name=body.name, lines=body.lines, live_calls=0, numbers=[])
    response = json_response(created, 201)
    response.headers[hdrs.LOCATION] = str(request.app.router["get_tenant"].url_for(tenant_id=str(tenant_id)))
    return response


@routes.route("GET", "/api/v1/tenants", summary="List tenants with lines, live calls and numbers", response=TenantList)
async def list_tenants(request: web.Request) -> TenantList:
    return TenantList(tenants=[_tenant(t) for t in await tenants.list_tenants(pool_of(request))])


@routes.route("GET", r"/api/v1/tenants/{tenant_id:\d+}", summary="One tenant", response=Tenant, errors=(404,))
async def get_tenant(request: web.Request) -> Tenant:
    return _tenant(await tenants.get_tenant(pool_of(request), _tenant_id(request)))


@routes.route(
    "PUT",
    r"/api/v1/tenants/{tenant_id:\d+}/lines",
    summary="Change a tenant's lines; the next call is admitted against the new count",
    body=LinesUpdate,
    response=LinesChanged,
    errors=(404,),
)
async def set_lines(request: web.Request, body: LinesUpdate) -> LinesChanged:
    tenant_id = _tenant_id(request)
    previous = await service.set_lines(pool_of(request), actor_of(request), tenant_id, body)
    return LinesChanged(tenant_id=tenant_id, lines=body.lines, previous_lines=previous)


@routes.route(
    "POST",
    r"/api/v1/tenants/{tenant_id:\d+}/numbers",
    summary="Assign a number to a tenant's product",
    body=NumberCreate,
    response=NumberAssigned,
    status=201,
    errors=(404, 409),
)
async def add_number(request: web.Request, body: NumberCreate) -> NumberAssigned:
    tenant_id = _tenant_id(request)
    await service.add_number(pool_of(request), actor_of(request), tenant_id, body)
    return NumberAssigned(number=body.number, tenant_id=tenant_id, product=body.product)


@routes.route(
    "DELETE",
    "/api/v1/numbers/{number}",
    summary="Take a number out of service",
    status=204,
    errors=(404, 422),
)
async def remove_number(request: web.Request) -> None:
    await service.remove_number(pool_of(request), actor_of(request), _number(request))


async def _safety(request: web.Request, tenant_id: int) -> CallSafety:
    found = await forwarding.safety(pool_of(request), tenant_id, wall_us())
    return CallSafety(
        tenant_id=tenant_id,
        international=found.international,
        max_legs=found.guard.max_legs,
        max_minutes_per_day=found.guard.max_minutes,
        open_legs=found.used.open_legs,
        minutes_today=found.used.talk_seconds_today // 60,
        refused_today=[RefusalCount(reason=k, count=v) for k, v in found.refused_today.items()],
    )


@routes.route(
    "GET",
    r"/api/v1/tenants/{tenant_id:\d+}/call_safety",
    summary="International calls, the forwarding fraud guard, today's forwarded use and refusals",
    response=CallSafety,
    errors=(404,),
)
async def get_call_safety(request: web.Request) -> CallSafety:
    return await _safety(request, _tenant_id(request))


@routes.route(
    "PUT",
    r"/api/v1/tenants/{tenant_id:\d+}/international",
    summary="Allow or forbid international forwarding for a tenant (off by default; audited)",
    body=InternationalUpdate,
    response=CallSafety,
    errors=(404,),
)
async def set_international(request: web.Request, body: InternationalUpdate) -> CallSafety:
    tenant_id = _tenant_id(request)
    await service.set_international(pool_of(request), actor_of(request), tenant_id, body.enabled)
    return await _safety(request, tenant_id)


@routes.route(
    "PUT",
    r"/api/v1/tenants/{tenant_id:\d+}/forward_guard",
    summary="Set a tenant's forwarding fraud guard: legs at once, minutes a day (audited)",
    body=ForwardGuardUpdate,
    response=CallSafety,
    errors=(404,),
)
async def set_forward_guard(request: web.Request, body: ForwardGuardUpdate) -> CallSafety:
    tenant_id = _tenant_id(request)
    guard = forwarding.Guard(body.max_legs, body.max_minutes_per_day)
    await service.set_forward_guard(pool_of(request), actor_of(request), tenant_id, guard)
    return await _safety(request, tenant_id)


# Onboarding.


async def _invitation(request: web.Request, found: invites.Invitation) -> InvitationOut:
    """The link, shown once, and e-mailed to the invitee who has an address (what became of the mail)."""
    url = str(request.url.origin()) + found.path
    mailing = await invites.mail_link(pool_of(request), actor_of(request), settings_of(request), found, url)
    return InvitationOut(
        user_id=found.user_id,
        login=found.login,
        url=url,
        expires_at=found.expires_at,
        mailed_to=None if mailing is None or mailing.failure else mailing.to,
        mail_error=None if mailing is None else mailing.failure or None,
    )


async def _billing(request: web.Request, tenant_id: int) -> BillingContactOut:
    found = await billing_contacts.get(pool_of(request), tenant_id)
    return BillingContactOut(
        tenant_id=tenant_id, billing_name=found.name, billing_address=found.address, billing_email=found.email
    )


@routes.route(
    "POST",
    "/api/v1/onboardings",
    summary="Onboard a customer in one step: tenant, billing contact, a pool number, lines, add-on, first user",
    body=Onboarding,
    response=Onboarded,
    status=201,
    errors=(404, 409),
)
async def onboard(request: web.Request, body: Onboarding) -> web.Response:
    done = await service.onboard(pool_of(request), actor_of(request), body)
    tenant = _tenant(await tenants.get_tenant(pool_of(request), done.tenant_id))
    answer = Onboarded(
        tenant=tenant,
        billing=await _billing(request, done.tenant_id),
        invitation=None if done.invitation is None else await _invitation(request, done.invitation),
    )
    response = json_response(answer, 201)
    response.headers[hdrs.LOCATION] = str(request.app.router["get_tenant"].url_for(tenant_id=str(done.tenant_id)))
    response.headers[hdrs.CACHE_CONTROL] = "no-store"
    return response


@routes.route(
    "PUT",
    r"/api/v1/tenants/{tenant_id:\d+}/billing",
    summary="Set the invoice's addressee and address and where invoices are e-mailed",
    body=BillingContactIn,
    response=BillingContactOut,
    errors=(404,),
)
async def set_billing(request: web.Request, body: BillingContactIn) -> BillingContactOut:
    tenant_id = _tenant_id(request)
    await service.set_billing(pool_of(request), actor_of(request), tenant_id, body)
    return await _billing(request, tenant_id)


@routes.route(
    "POST",
    r"/api/v1/tenants/{tenant_id:\d+}/invitations",
    summary="Invite a console user of the tenant: a one-time link that sets the password (7 days)",
    body=InviteIn,
    response=InvitationOut,
    status=201,
    errors=(404, 409),
)
async def invite(request: web.Request, body: InviteIn) -> web.Response:
    found = await invites.invite(pool_of(request), actor_of(request), _tenant_id(request), body)
    response = json_response(await _invitation(request, found), 201)
    response.headers[hdrs.CACHE_CONTROL] = "no-store"
    return response


@routes.route(
    "GET",
    "/api/v1/number_pool",
    summary="Our 03 numbers: free ones and whom the others are given to",
    response=NumberPool,
)
async def list_pool(request: web.Request) -> NumberPool:
    found = await number_pool.listing(pool_of(request))
    return NumberPool(numbers=[PoolNumberOut.model_validate(n, from_attributes=True) for n in found])


@routes.route(
    "POST",
    "/api/v1/number_pool",
    summary="Add one of our 03 numbers to the pool",
    body=PoolNumberIn,
    response=PoolNumberOut,
    status=201,
    errors=(409,),
)
async def add_to_pool(request: web.Request, body: PoolNumberIn) -> web.Response:
    added_at = await pool_service.add(pool_of(request), actor_of(request), body)
    return json_response(PoolNumberOut(number=body.number, note=body.note, added_at=added_at, tenant_id=None), 201)


@routes.route(
    "DELETE",
    "/api/v1/number_pool/{number}",
    summary="Retire a free number from the pool (one given to a tenant: 409)",
    status=204,
    errors=(404, 409, 422),
)
async def remove_from_pool(request: web.Request) -> None:
    await pool_service.remove(pool_of(request), actor_of(request), _number(request))
