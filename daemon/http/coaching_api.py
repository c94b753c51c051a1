"""The Coaching Dial operator API (``/api/v1/operator/…``, tenant tokens) and token admin.

Handlers translate only: every change is an operation of the service layer
(:mod:`daemon.services.callers`, ``counsellors``, ``groups``, ``money``,
``tokens``: checked, written and audited in one transaction, the token's tenant
as the actor's scope); reads are the repositories' and
:mod:`daemon.repositories.operator_queries`' (call records).  A deposit NOTIFYs the
daemons, so it extends the caller's live calls at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from daemon.http import calls_csv
from daemon.http.actor import actor_of
from daemon.http.coaching_models import (
    CallerList,
    CallerOut,
    CallList,
    CallOut,
    CounsellorList,
    CounsellorOut,
    EntryOut,
    GroupList,
    GroupOut,
    Ledger,
    TokenCreated,
)
from daemon.http.context import pool_of, settings_of
from daemon.http.registry import RouteTable, json_response, read_query
from daemon.http.tenant_auth import tenant_of
from daemon.logs import get_logger
from daemon.postgres.errors import NotFound
from daemon.repositories import callers, counsellors, groups, ledger
from daemon.repositories import operator_queries as q
from daemon.services import callers as caller_service
from daemon.services import counsellors as counsellor_service
from daemon.services import groups as group_service
from daemon.services import money, tokens
from daemon.services.actor import Actor
from daemon.services.inputs import (
    AdjustmentIn,
    CallerIn,
    CallQuery,
    CounsellorIn,
    DepositIn,
    DialOverrideIn,
    DutyIn,
    GroupIn,
    MembersIn,
    PayoutIn,
    RefundIn,
    TokenCreate,
)

_log = get_logger(__name__)

admin_routes = RouteTable()
operator_routes = RouteTable()
OP = "/api/v1/operator"
ID = r"{id:\d+}"


MAX_ID = 2**63 - 1  # bigserial


def _id(request: web.Request, name: str = "id") -> int:
    value = int(request.match_info[name])
    if not 0 < value <= MAX_ID:
        raise NotFound(f"no such {name.removesuffix('_id') or 'object'} {request.match_info[name]}")
    return value


# -- tokens (admin) --------------------------------------------------------------


@admin_routes.route(
    "POST",
    r"/api/v1/tenants/{tenant_id:\d+}/tokens",
    summary="Create an operator token for one tenant",
    body=TokenCreate,
    response=TokenCreated,
    status=201,
    errors=(404,),
)
async def create_token(request: web.Request, body: TokenCreate) -> TokenCreated:
    tenant_id = _id(request, "tenant_id")
    token_id, token = await tokens.create_token(pool_of(request), actor_of(request), tenant_id, body)
    return TokenCreated(id=token_id, tenant_id=tenant_id, token=token)


@admin_routes.route(
    "DELETE",
    r"/api/v1/tenants/{tenant_id:\d+}/tokens/{id:\d+}",
    summary="Revoke an operator token",
    status=204,
    errors=(404,),
)
async def revoke_token(request: web.Request) -> None:
    await tokens.revoke_token(pool_of(request), actor_of(request), _id(request, "tenant_id"), _id(request))


# -- counsellors, groups, callers: the same five routes each -------------------


Row = Any  # one of the repositories' frozen rows (CallerRow, CounsellorRow, GroupRow)


@dataclass(frozen=True)
class Resource:
    """One kind of object the operator manages: its operations, its reads, and how a row is shown."""

    singular: str
    plural: str
    body: type[BaseModel]
    out: type[BaseModel]
    listing: type[BaseModel]
    create: Callable[[asyncpg.Pool, Actor, int, Any], Awaitable[int]]  # (pool, actor, tenant_id, body)
    read: Callable[[asyncpg.Pool, int, int], Awaitable[Row]]
    read_all: Callable[[asyncpg.Pool, int], Awaitable[list[Row]]]
    update: Callable[[asyncpg.Pool, Actor, int, int, Any], Awaitable[None]]  # (pool, actor, tenant_id, id, body)
    delete: Callable[[asyncpg.Pool, Actor, int, int], Awaitable[None]]
    delete_note: str = ""
    show: Callable[[web.Request, Row], BaseModel] | None = None  # default: the out model from the row's fields

    def present(self, request: web.Request, row: Row) -> BaseModel:
        if self.show is not None:
            return self.show(request, row)
        return self.out.model_validate(row, from_attributes=True)


def _named(handler: Any, name: str) -> Any:
    handler.__name__ = name
    return handler


def register(table: RouteTable, r: Resource) -> None:
    """List, create, read, replace and delete routes for ``r`` under ``/api/v1/operator/<plural>``."""
    base, one = f"{OP}/{r.plural}", f"{OP}/{r.plural}/{ID}"

    async def read(request: web.Request, ident: int | None = None) -> BaseModel:
        return r.present(request, await r.read(pool_of(request), tenant_of(request), ident or _id(request)))

    async def list_all(request: web.Request) -> BaseModel:
        rows = await r.read_all(pool_of(request), tenant_of(request))
        return r.listing(**{r.plural: [r.present(request, row) for row in rows]})

    async def create(request: web.Request, body: BaseModel) -> BaseModel:
        new_id = await r.create(pool_of(request), actor_of(request), tenant_of(request), body)
        return await read(request, new_id)

    async def replace(request: web.Request, body: BaseModel) -> BaseModel:
        await r.update(pool_of(request), actor_of(request), tenant_of(request), _id(request), body)
        return await read(request)

    async def delete(request: web.Request) -> None:
        await r.delete(pool_of(request), actor_of(request), tenant_of(request), _id(request))

    table.route("GET", base, summary=f"List {r.plural}", response=r.listing)(_named(list_all, f"list_{r.plural}"))
    table.route(
        "POST", base, summary=f"Register a {r.singular}", body=r.body, response=r.out, status=201, errors=(404, 409)
    )(_named(create, f"create_{r.singular}"))
    table.route("GET", one, summary=f"One {r.singular}", response=r.out, errors=(404,))(
        _named(read, f"get_{r.singular}")
    )
    table.route(
        "PUT", one, summary=f"Replace a {r.singular}'s settings", body=r.body, response=r.out, errors=(404, 409)
    )(_named(replace, f"update_{r.singular}"))
    table.route("DELETE", one, summary=f"Remove a {r.singular}{r.delete_note}", status=204, errors=(404, 409))(
        _named(delete, f"delete_{r.singular}")
    )


def _counsellor_out(request: web.Request, row: counsellors.CounsellorRow) -> CounsellorOut:
    template = settings_of(request).counsellor_dial_template
    return CounsellorOut(
        id=row.id,
        name=row.name,
        phone_number=row.phone_number,
        dial_string=row.dial_string(template),
        dial_override=row.dial_override is not None,
        rate_yen_per_min=row.rate_yen_per_min,
        on_duty=row.on_duty,
        in_call=row.in_call,
        missed_in_row=row.missed_in_row,
        last_call_end=row.last_call_end,
    )


register(
    operator_routes,
    Resource(
        "counsellor",
        "counsellors",
        CounsellorIn,
        CounsellorOut,
        CounsellorList,
        create=counsellor_service.create_counsellor,
        read=counsellors.get,
        read_all=counsellors.list_all,
        update=counsellor_service.update_counsellor,
        delete=counsellor_service.delete_counsellor,
        delete_note=" (not while in a call)",
        show=_counsellor_out,
    ),
)
register(
    operator_routes,
    Resource(
        "group",
        "groups",
        GroupIn,
        GroupOut,
        GroupList,
        create=group_service.create_group,
        read=groups.get,
        read_all=groups.list_all,
        update=group_service.update_group,
        delete=group_service.delete_group,
    ),
)
register(
    operator_routes,
    Resource(
        "caller",
        "callers",
        CallerIn,
        CallerOut,
        CallerList,
        create=caller_service.create_caller,
        read=callers.get,
        read_all=callers.list_all,
        update=caller_service.update_caller,
        delete=caller_service.delete_caller,
        delete_note=" who has no money history",
    ),
)


@operator_routes.route(
    "PUT",
    f"{OP}/counsellors/{ID}/duty",
    summary="Put a counsellor on or off duty",
    body=DutyIn,
    response=CounsellorOut,
    errors=(404,),
)
async def set_duty(request: web.Request, body: DutyIn) -> CounsellorOut:
    pool, tenant = pool_of(request), tenant_of(request)
    await counsellor_service.set_duty(pool, actor_of(request), tenant, _id(request), body.on_duty)
    return _counsellor_out(request, await counsellors.get(pool, tenant, _id(request)))


@admin_routes.route(
    "PUT",
    r"/api/v1/tenants/{tenant_id:\d+}/counsellors/{id:\d+}/dial_string",
    summary="Override how a counsellor is rung with a raw FreeSWITCH dial string (null: their phone number again)",
    body=DialOverrideIn,
    response=CounsellorOut,
    errors=(404, 422),
)
async def set_dial_override(request: web.Request, body: DialOverrideIn) -> CounsellorOut:
    pool, tenant = pool_of(request), _id(request, "tenant_id")
    await counsellor_service.set_dial_override(pool, actor_of(request), tenant, _id(request), body.dial_string)
    return _counsellor_out(request, await counsellors.get(pool, tenant, _id(request)))


@operator_routes.route(
    "PUT",
    f"{OP}/groups/{ID}/members",
    summary="Replace a group's members (hunting order)",
    body=MembersIn,
    response=GroupOut,
    errors=(404,),
)
async def set_members(request: web.Request, body: MembersIn) -> GroupOut:
    pool, tenant = pool_of(request), tenant_of(request)
    await group_service.set_members(pool, actor_of(request), tenant, _id(request), body.members)
    return GroupOut.model_validate(await groups.get(pool, tenant, _id(request)), from_attributes=True)


# -- money -----------------------------------------------------------------------


MoneyIn = DepositIn | AdjustmentIn | PayoutIn | RefundIn


async def _book(request: web.Request, kind: str, body: MoneyIn) -> web.Response:
    booking = money.Booking(
        kind,
        body.amount_yen,
        body.memo,
        body.idempotency_key,
        call_uuid=body.call_uuid if isinstance(body, RefundIn) else None,
        charge_id=body.charge_id if isinstance(body, RefundIn) else None,
    )
    entry = await money.book(pool_of(request), actor_of(request), tenant_of(request), _id(request), booking)
    out = EntryOut.model_validate(entry, from_attributes=True)
    return json_response(out, 200 if entry.replayed else 201)


def _entry_route(kind: str, path: str, body: type[MoneyIn], summary: str) -> None:
    """One money route: a ledger entry of ``kind``, exactly once per idempotency key."""

    async def book(request: web.Request, payload: MoneyIn) -> web.Response:
        return await _book(request, kind, payload)

    operator_routes.route(
        "POST",
        f"{OP}/callers/{ID}/{path}",
        summary=summary,
        body=body,
        response=EntryOut,
        status=201,
        errors=(404, 409, 422),
        also={200: EntryOut},
    )(_named(book, kind))


_entry_route("deposit", "deposits", DepositIn, "Book a deposit (bank transfer checked by the operator)")
_entry_route(
    "payout",
    "payouts",
    PayoutIn,
    "Pay money back to the caller out of their balance (never below 0)",
)
_entry_route(
    "refund",
    "refunds",
    RefundIn,
    "Refund a charge (by call_uuid or charge_id; all refunds of a charge at most what it charged)",
)
_entry_route(
    "adjustment",
    "adjustments",
    AdjustmentIn,
    "Book a correction (positive or negative; never below 0 prepaid, or the credit limit postpaid)",
)


@operator_routes.route(
    "GET", f"{OP}/callers/{ID}/ledger", summary="A caller's ledger, oldest first", response=Ledger, errors=(404,)
)
async def caller_ledger(request: web.Request) -> Ledger:
    pool, tenant = pool_of(request), tenant_of(request)
    who = await callers.get(pool, tenant, _id(request))
    entries = await ledger.entries(pool, tenant, _id(request))
    return Ledger(
        caller_id=who.id,
        balance_yen=who.balance_yen,
        entries=[EntryOut.model_validate(e, from_attributes=True) for e in entries],
    )


# -- call records ----------------------------------------------------------------


def _query(request: web.Request) -> CallQuery:
    return read_query(request, CallQuery).in_tokyo()


def _rows(request: web.Request, query: CallQuery) -> Any:
    filters = {k: getattr(query, k) for k in ("caller_id", "counsellor_id", "group_id", "state")}
    return q.calls(
        pool_of(request),
        tenant_of(request),
        since=query.since,
        until=query.until,
        filters=filters,
        limit=query.limit,
        offset=query.offset,
    )


@operator_routes.route(
    "GET",
    f"{OP}/calls",
    summary="Call records, newest first (filters: since, until, caller_id, counsellor_id,"
    " group_id, state, limit, offset; times without a zone are Asia/Tokyo)",
    response=CallList,
    errors=(422,),
    query=CallQuery,
)
async def list_calls(request: web.Request) -> CallList:
    query = _query(request)
    return CallList(calls=[CallOut(**dict(r)) async for r in _rows(request, query)])


@operator_routes.route(
    "GET",
    f"{OP}/calls.csv",
    summary="Call records as CSV (same filters), for accounting; times in Asia/Tokyo beside the microseconds",
    errors=(422,),
    query=CallQuery,
)
async def export_calls(request: web.Request) -> web.StreamResponse:
    return await calls_csv.stream_calls(request, _rows(request, _query(request)))


__all__ = ["admin_routes", "operator_routes"]
