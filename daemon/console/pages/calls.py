"""Call history with filters (period in Tokyo time, caller, counsellor, group, state), paginated; and as CSV.

The filters are the API's :class:`~daemon.http.coaching_models.CallQuery`, the
rows :func:`daemon.repositories.operator_queries.calls`, the CSV the API's own writer
(:mod:`daemon.http.calls_csv`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlencode

import asyncpg
from aiohttp import web

from daemon.console import forms
from daemon.console.forms import FormErrors
from daemon.console.paths import PREFIX
from daemon.console.render import page
from daemon.console.viewer import OPERATOR, tenant_scope
from daemon.http import calls_csv
from daemon.http.context import pool_of
from daemon.repositories import callers, counsellors, groups
from daemon.repositories import operator_queries as q
from daemon.services.inputs import CallQuery

routes = web.RouteTableDef()
CALLS = f"{PREFIX}/calls"
PER_PAGE = 50
FILTERS = ("since", "until", "caller_id", "counsellor_id", "group_id", "state")
STATES = {"hunting": "呼び出し中", "talking": "通話中", "ended": "終了"}
EVERYTHING = 10**9


def _filters(query: Mapping[str, str]) -> dict[str, str]:
    return {k: query[k].strip() for k in FILTERS if query.get(k, "").strip()}


def _query(values: Mapping[str, str], *, limit: int, offset: int) -> CallQuery:
    return forms.validate(CallQuery, {**values, "limit": limit, "offset": offset}).in_tokyo()


def _rows(request: web.Request, tenant: int, query: CallQuery, limit: int) -> AsyncIterator[asyncpg.Record]:
    return q.calls(
        pool_of(request),
        tenant,
        since=query.since,
        until=query.until,
        filters={k: getattr(query, k) for k in ("caller_id", "counsellor_id", "group_id", "state")},
        limit=limit,
        offset=query.offset,
    )


@routes.get(CALLS)
async def call_history(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    pool, values = pool_of(request), _filters(request.query)
    text = request.query.get("page", "")
    number = max(1, int(text)) if text.isdigit() and len(text) < 7 else 1
    errors: dict[str, str] = {}
    rows = []
    try:
        query = _query(values, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
        rows = [r async for r in _rows(request, tenant, query, PER_PAGE + 1)]
    except FormErrors as exc:
        errors = exc.errors
    context = {
        "values": values,
        "errors": errors,
        "rows": rows[:PER_PAGE],
        "page": number,
        "more": len(rows) > PER_PAGE,
        "link": lambda n: f"{CALLS}?{urlencode({**values, 'page': n})}",
        "csv": f"{CALLS}.csv?{urlencode(values)}",
        "states": STATES,
        "callers": {c.id: c.name for c in await callers.list_all(pool, tenant)},
        "counsellors": {c.id: c.name for c in await counsellors.list_all(pool, tenant)},
        "groups": {g.id: g.name for g in await groups.list_all(pool, tenant)},
    }
    return page(request, "calls_list.html", context, status=422 if errors else 200)


@routes.get(f"{CALLS}.csv")
async def call_history_csv(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    try:
        query = _query(_filters(request.query), limit=1000, offset=0)
    except FormErrors as exc:
        words = " ".join(exc.errors.values())
        raise web.HTTPUnprocessableEntity(reason=f"絞り込みの条件が正しくありません: {words}") from None
    return await calls_csv.stream_calls(request, _rows(request, tenant, query, EVERYTHING))
