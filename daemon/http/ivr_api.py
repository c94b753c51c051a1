"""The IVR API: a tenant's operator edits, publishes and rolls back its flow, and hears its voicemail.

Operator routes (``/api/v1/operator/ivr/…``, tenant token): save a version
(its shape checked: 422), publish a version (the graph checked against the
tenant: 422 naming each node, nothing changed), roll back by publishing an
earlier version; voicemail listed, downloaded, deleted.  Admin route: the
forwarding tariff per tenant (the add-on itself is ``PUT /api/v1/tenants/{id}/forwarding``
of :mod:`daemon.http.invoice_api`, with its contract history).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from daemon.http.actor import actor_of
from daemon.http.context import pool_of
from daemon.http.errors import ApiError
from daemon.http.models import ErrorDetail
from daemon.http.registry import RouteTable
from daemon.http.tenant_auth import tenant_of
from daemon.repositories import tenants
from daemon.repositories.ivr_flows import Version
from daemon.repositories.voicemail import Voicemail
from daemon.rules.ivr.models import Flow
from daemon.rules.ivr.tariff import ForwardTariff
from daemon.services import forwarding, ivr_flows, voicemail
from daemon.services.ivr_flows import FlowRefused
from daemon.services.ivr_models import (
    ContractOut,
    ForwardedList,
    ForwardedQuery,
    TariffIn,
    TariffOut,
    VersionList,
    VersionOut,
    VersionSummary,
    VoicemailList,
    VoicemailOut,
    VoicemailQuery,
)

operator_routes = RouteTable()
admin_routes = RouteTable()
IVR = "/api/v1/operator/ivr"
MAX_ID = 2**63 - 1


def _number(request: web.Request, name: str) -> int:
    value = int(request.match_info[name])
    if not 0 < value <= MAX_ID:
        raise tenants.NotFound(f"no such {name} {request.match_info[name]}")
    return value


def _summary(v: Version) -> VersionSummary:
    return VersionSummary(version=v.version, live=v.live, created_at=v.created_at, published_at=v.published_at)


def _full(v: Version) -> VersionOut:
    return VersionOut(**_summary(v).model_dump(), definition=v.definition)


@operator_routes.route("GET", f"{IVR}/flows", summary="The flow's versions", response=VersionList)
async def list_flow_versions(request: web.Request) -> VersionList:
    found = await ivr_flows.versions(pool_of(request), actor_of(request), tenant_of(request))
    return VersionList(versions=[_summary(v) for v in found])


@operator_routes.route(
    "POST", f"{IVR}/flows", summary="Save a new flow version (not live yet)", body=Flow, response=VersionOut, status=201
)
async def save_flow_version(request: web.Request, body: Flow) -> VersionOut:
    return _full(await ivr_flows.save(pool_of(request), actor_of(request), tenant_of(request), body))


@operator_routes.route(
    "GET", IVR + r"/flows/{version:\d+}", summary="One flow version", response=VersionOut, errors=(404,)
)
async def get_flow_version(request: web.Request) -> VersionOut:
    number = _number(request, "version")
    return _full(await ivr_flows.version(pool_of(request), actor_of(request), tenant_of(request), number))


@operator_routes.route(
    "POST",
    IVR + r"/flows/{version:\d+}/publish",
    summary="Make a version live for the next call (publishing an earlier one rolls back)",
    response=VersionOut,
    errors=(404, 422),
)
async def publish_flow_version(request: web.Request) -> VersionOut:
    number = _number(request, "version")
    try:
        done = await ivr_flows.publish(pool_of(request), actor_of(request), tenant_of(request), number)
    except FlowRefused as exc:
        detail = [ErrorDetail(loc=["flow", p.node], msg=p.message, type="flow_refused") for p in exc.refused]
        said = "; ".join(f"{p.node}: {p.message}" for p in exc.refused)
        raise ApiError(422, f"the flow cannot be published: {said}", detail) from None
    return _full(done)


@operator_routes.route("GET", f"{IVR}/voicemails", summary="Voicemail, newest first", response=VoicemailList)
async def list_voicemails(request: web.Request) -> VoicemailList:
    try:
        query = VoicemailQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        raise ApiError.invalid(exc, "query") from None
    found = await voicemail.listing(
        pool_of(request), actor_of(request), tenant_of(request), limit=query.limit, offset=query.offset
    )
    return VoicemailList(voicemails=[_voicemail(v) for v in found])


def _voicemail(v: Voicemail) -> VoicemailOut:
    return VoicemailOut(
        id=v.id,
        call_uuid=v.call_uuid,
        flow_node=v.flow_node,
        caller_number=v.caller_number,
        dialled=v.dialled,
        duration_ms=v.duration_ms,
        created_at=v.created_at,
    )


@operator_routes.route(
    "GET", IVR + r"/voicemails/{voicemail:\d+}/audio", summary="The recording (audio/wav)", errors=(404,)
)
async def download_voicemail(request: web.Request) -> web.StreamResponse:
    number = _number(request, "voicemail")
    found, path = await voicemail.recording(pool_of(request), actor_of(request), tenant_of(request), number)
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "audio/wav",
            "Content-Disposition": f'attachment; filename="voicemail-{found.id}.wav"',
        },
    )


@operator_routes.route(
    "DELETE", IVR + r"/voicemails/{voicemail:\d+}", summary="Delete a voicemail", status=204, errors=(404,)
)
async def delete_voicemail(request: web.Request) -> None:
    await voicemail.delete(pool_of(request), actor_of(request), tenant_of(request), _number(request, "voicemail"))


@operator_routes.route(
    "GET", f"{IVR}/forwarded-calls", summary="Forwarded legs with their charges, newest first", response=ForwardedList
)
async def list_forwarded_calls(request: web.Request) -> ForwardedList:
    try:
        query = ForwardedQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        raise ApiError.invalid(exc, "query") from None
    legs = await forwarding.forwarded(pool_of(request), actor_of(request), tenant_of(request), query)
    return ForwardedList(legs=legs)


@operator_routes.route(
    "GET", f"{IVR}/forwarding", summary="The forwarding add-on and tariff of this tenant", response=ContractOut
)
async def get_forwarding(request: web.Request) -> ContractOut:
    found = await forwarding.contract(pool_of(request), actor_of(request), tenant_of(request))
    return ContractOut(
        enabled=found.forwarding, unit_seconds=found.tariff.unit_seconds, yen_per_unit=found.tariff.yen_per_unit
    )


@admin_routes.route(
    "PUT",
    r"/api/v1/tenants/{tenant_id:\d+}/forwarding/tariff",
    summary="The tariff of forwarded calls (applies to the next forwarded call)",
    body=TariffIn,
    response=TariffOut,
    errors=(404, 422),
)
async def set_forwarding_tariff(request: web.Request, body: TariffIn) -> TariffOut:
    tenant_id = _number(request, "tenant_id")
    tariff = ForwardTariff(body.unit_seconds, body.yen_per_unit)
    await forwarding.set_tariff(pool_of(request), actor_of(request), tenant_id, tariff)
    return TariffOut(tenant_id=tenant_id, unit_seconds=body.unit_seconds, yen_per_unit=body.yen_per_unit)
