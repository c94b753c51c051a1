"""``/console/ivr/forwarding``: the IVR customer's forwarded calls and their charges, for a period (Asia/Tokyo days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors, validate
from daemon.console.paths import PREFIX
from daemon.console.render import page
from daemon.console.viewer import IVR, tenant_scope
from daemon.http.context import pool_of
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
    context = {
        "legs": legs,
        "total": sum(leg.charge_yen or 0 for leg in legs),
        "outcomes": OUTCOMES,
        "values": values,
        "errors": errors,
        "limit": PAGE_SIZE,
        "now": datetime.now(UTC),
    }
    return page(request, "ivr_forwarding.html", context, status=422 if errors else 200)
