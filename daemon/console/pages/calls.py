"""Call history with filters (Tokyo period, caller, counsellor, group, state, refusal reason), paged; and as CSV.

Every attempt is on it: the calls (call records) and the attempts refused
before one (``call_attempts``: unknown caller, no money, lines full, blocked …)
with their reason in Japanese.  The period is picked by date (``<input
type=date>``, the end day included); a time (``2026-12-01T09:00``) is taken
too, as the API takes it.  The filters are the API's
:class:`~daemon.http.coaching_models.CallQuery` plus ``reason``, the rows
:func:`daemon.repositories.attempts.history`, the CSV the one for people of
:mod:`daemon.http.calls_csv` (Japanese headers, names, Japan times, BOM).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping
from datetime import date, timedelta
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
from daemon.repositories import attempts, callers, counsellors, groups
from daemon.rules.attempt_reasons import REASONS
from daemon.services.inputs import CallQuery

routes = web.RouteTableDef()
CALLS = f"{PREFIX}/calls"
PER_PAGE = 50
FILTERS = ("since", "until", "caller_id", "counsellor_id", "group_id", "state", "reason")
STATES = {"hunting": "呼び出し中", "talking": "通話中", "ended": "終了", "refused": "拒否"}
EVERYTHING = 10**9
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _filters(query: Mapping[str, str]) -> dict[str, str]:
    return {k: query[k].strip() for k in FILTERS if query.get(k, "").strip()}


def _query(values: Mapping[str, str], *, limit: int, offset: int) -> tuple[CallQuery, dict[str, object]]:
    """The API's query (the end day of a date-only period included) and the history's filters."""
    checked = {k: v for k, v in values.items() if k not in ("reason", "state")}
    errors: dict[str, str] = {}
    state, reason = values.get("state"), values.get("reason")
    if state is not None and state not in STATES:
        errors["state"] = "選択肢から選んでください"
    if reason is not None and reason not in REASONS:
        errors["reason"] = "選択肢から選んでください"
    until = values.get("until", "")
    if _DAY.fullmatch(until):
        with contextlib.suppress(ValueError):  # else the model words it
            checked["until"] = (date.fromisoformat(until) + timedelta(days=1)).isoformat()
    try:
        query = forms.validate(CallQuery, {**checked, "limit": limit, "offset": offset}).in_tokyo()
    except FormErrors as exc:
        raise FormErrors({**exc.errors, **errors}) from None
    if errors:
        raise FormErrors(errors)
    filters: dict[str, object] = {k: getattr(query, k) for k in ("caller_id", "counsellor_id", "group_id")}
    return query, {**filters, "state": state, "reason": reason}


def _rows(
    request: web.Request, tenant: int, query: CallQuery, filters: dict[str, object], limit: int
) -> AsyncIterator[asyncpg.Record]:
    period = {"since": query.since, "until": query.until}
    return attempts.history(pool_of(request), tenant, {**filters, **period}, limit=limit, offset=query.offset)


async def _names(pool: asyncpg.Pool, tenant: int) -> calls_csv.Names:
    return calls_csv.Names(
        callers={c.id: c.name for c in await callers.list_all(pool, tenant)},
        counsellors={c.id: c.name for c in await counsellors.list_all(pool, tenant)},
        groups={g.id: g.name for g in await groups.list_all(pool, tenant)},
        states=STATES,
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
        query, filters = _query(values, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
        rows = [r async for r in _rows(request, tenant, query, filters, PER_PAGE + 1)]
    except FormErrors as exc:
        errors = exc.errors
    names = await _names(pool, tenant)
    context = {
        "values": values,
        "errors": errors,
        "rows": rows[:PER_PAGE],
        "page": number,
        "more": len(rows) > PER_PAGE,
        "link": lambda n: f"{CALLS}?{urlencode({**values, 'page': n})}",
        "csv": f"{CALLS}.csv?{urlencode(values)}",
        "states": STATES,
        "reasons": REASONS,
        "callers": names.callers,
        "counsellors": names.counsellors,
        "groups": names.groups,
    }
    return page(request, "calls_list.html", context, status=422 if errors else 200)


@routes.get(f"{CALLS}.csv")
async def call_history_csv(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    try:
        query, filters = _query(_filters(request.query), limit=1000, offset=0)
    except FormErrors as exc:
        words = " ".join(exc.errors.values())
        raise web.HTTPUnprocessableEntity(reason=f"絞り込みの条件が正しくありません: {words}") from None
    names = await _names(pool_of(request), tenant)
    rows = _rows(request, tenant, query, filters, EVERYTHING)
    return await calls_csv.stream_history(request, rows, names)
