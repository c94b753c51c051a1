"""Per-counsellor payout report: calls, talk time and yen charged to callers in a period (Tokyo dates)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from aiohttp import web

from daemon.console.forms import FormErrors
from daemon.console.paths import PREFIX
from daemon.console.render import page
from daemon.console.viewer import OPERATOR, tenant_scope
from daemon.http.context import pool_of
from daemon.repositories import payouts
from daemon.services.values import TOKYO

routes = web.RouteTableDef()


def _month(today: date) -> tuple[date, date]:
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


def _day(text: str, field: str, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormErrors({field: "日付の形式が正しくありません（例: 2026-12-01）"}) from None


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), TOKYO)


@routes.get(f"{PREFIX}/payouts")
async def payout_report(request: web.Request) -> web.Response:
    """``since`` and ``until`` are dates in Japan time, both included (default: this month)."""
    _, tenant = tenant_scope(request, OPERATOR)
    first, last = _month(datetime.now(TOKYO).date())
    values = {k: request.query.get(k, "").strip() for k in ("since", "until")}
    errors: dict[str, str] = {}
    rows: list[payouts.CounsellorTotal] = []
    try:
        since, until = _day(values["since"], "since", first), _day(values["until"], "until", last)
        if until < since:
            raise FormErrors({"until": "終了日は開始日以降にしてください"})
        values = {"since": since.isoformat(), "until": until.isoformat()}
        rows = await payouts.counsellor_totals(
            pool_of(request), tenant, since=_start(since), until=_start(until + timedelta(days=1))
        )
    except FormErrors as exc:
        errors = exc.errors
    totals = {
        "calls": sum(r.calls for r in rows),
        "talk_seconds": sum(r.talk_seconds for r in rows),
        "charged_yen": sum(r.charged_yen for r in rows),
    }
    context = {"values": values, "errors": errors, "rows": rows, "totals": totals}
    return page(request, "payouts_report.html", context, status=422 if errors else 200)
