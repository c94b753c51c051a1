"""``/console/ivr/forwarding``: the IVR customer's forwarded calls and their charges, for a period (Asia/Tokyo days).

Above them, what keeps forwarding safe: the fraud guard's limits and today's
use, forwards the daemon did not dial (the guard, or a number the destination
policy refuses), and any number of the live flow that will not be dialled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from aiohttp import web

from daemon.calls.cutoff import wall_us
from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors, validate
from daemon.console.paths import PREFIX
from daemon.console.render import page
from daemon.console.viewer import IVR, tenant_scope
from daemon.http.context import pool_of
from daemon.ivr import published
from daemon.repositories import forwarding
from daemon.rules.destinations import JAPANESE_NAMES
from daemon.services import forwarding as forwarding_service
from daemon.services.ivr_models import ForwardedLeg, ForwardedQuery
from daemon.services.values import TOKYO

routes = web.RouteTableDef()

OUTCOMES = {
    "answered": "応答",
    "busy": "話し中",
    "no_answer": "応答なし",
    "failed": "失敗",
    "caller_hangup": "発信者が切断",
}
PAGE_SIZE = 500
REFUSALS = {
    forwarding.CONCURRENT_LEGS: "同時に転送できる件数の上限",
    forwarding.DAILY_MINUTES: "1日の転送時間の上限",
} | JAPANESE_NAMES
"""Why a forward was not dialled, in Japanese (the fraud guard's limits, the destination policy's codes)."""


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FormErrors({field: "日付の形式が正しくありません"}) from None


def _start_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), TOKYO)


@routes.get(f"{PREFIX}/ivr/forwarding")
async def forwarded(request: web.Request) -> web.Response:
    _, tenant_id = tenant_scope(request, IVR)
    values = {"from": request.query.get("from", "").strip(), "to": request.query.get("to", "").strip()}
    errors: dict[str, str] = {}
    legs: list[ForwardedLeg] = []
    try:
        first, last = _day(values["from"], "from"), _day(values["to"], "to")
        until = None if last is None else last + timedelta(days=1)
        query = validate(ForwardedQuery, {"since": _start_of(first), "until": _start_of(until), "limit": PAGE_SIZE})
        legs = await forwarding_service.forwarded(pool_of(request), actor_of(request), tenant_id, query)
    except FormErrors as exc:
        errors = exc.errors
    pool = pool_of(request)
    context = {
        "safety": await forwarding.safety(pool, tenant_id, wall_us()),
        "refusals": await forwarding.refusals(pool, tenant_id, limit=20),
        "blocked": await published.refused(pool, tenant_id),
        "reasons": REFUSALS,
        "legs": legs,
        "total": sum(leg.charge_yen or 0 for leg in legs),
        "outcomes": OUTCOMES,
        "values": values,
        "errors": errors,
        "limit": PAGE_SIZE,
        "now": datetime.now(UTC),
    }
    return page(request, "ivr_forwarding.html", context, status=422 if errors else 200)
