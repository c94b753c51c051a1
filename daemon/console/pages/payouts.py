"""The month's payout report: per counsellor the calls, billed minutes, charges, their pay and the commission.

A month in Asia/Tokyo (``?month=YYYY-MM``, default this month); each call is
paid at the counsellor's rate in force on the call's date
(:func:`daemon.services.pay.payout`).  ``/console/payouts.csv`` is the same
report for Excel: UTF-8 with a BOM (Excel reads it as UTF-8 only then),
Japanese headers, names, the month's bounds in Japan time, and no cell that a
spreadsheet would take for a formula.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from aiohttp import web

from daemon.console.paths import PREFIX
from daemon.console.render import page
from daemon.console.viewer import OPERATOR, tenant_scope
from daemon.http.context import pool_of
from daemon.rules.billing.invoice import Period
from daemon.rules.billing.pay import PayLine
from daemon.services import pay
from daemon.services.values import TOKYO

routes = web.RouteTableDef()

BAD_MONTH = "月の形式が正しくありません（例: 2026-12）"
CSV_HEADERS = (
    "対象月",
    "集計期間（日本時間）",
    "相談員",
    "報酬率（月末時点）",
    "通話数",
    "課金分数",
    "通話時間（秒）",
    "課金額（円）",
    "報酬（円）",
    "運営手数料（円）",
    "報酬率未設定の通話数",
)


def _month(request: web.Request) -> Period:
    text = request.query.get("month", "").strip()
    if not text:
        return Period.containing(datetime.now(TOKYO))
    try:
        return Period.parse(text)
    except ValueError:
        raise web.HTTPUnprocessableEntity(reason=BAD_MONTH) from None


@routes.get(f"{PREFIX}/payouts")
async def payout_report(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    text = request.query.get("month", "").strip()
    try:
        month = _month(request)
    except web.HTTPUnprocessableEntity:
        return page(request, "payouts_report.html", {"month": text, "error": BAD_MONTH, "report": None}, status=422)
    report = await pay.payout(pool_of(request), tenant, month)
    return page(request, "payouts_report.html", {"month": str(month), "error": "", "report": report})


def _cell(value: object) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not text.lstrip("-").isdigit() else text


def _csv_row(month: Period, name: str, rate: str, line: PayLine) -> list[str]:
    bounds = f"{month.first_day.isoformat()} 00:00〜{month.last_day.isoformat()} 24:00 JST"
    numbers = (line.calls, line.billed_minutes, line.billed_seconds, line.charged_yen, line.pay_yen)
    return [_cell(v) for v in (str(month), bounds, name, rate, *numbers, line.commission_yen, line.unrated_calls)]


@routes.get(f"{PREFIX}/payouts.csv")
async def payout_csv(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    month = _month(request)
    report = await pay.payout(pool_of(request), tenant, month)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for p in report.lines:
        writer.writerow(_csv_row(month, p.name, p.rate.label if p.rate is not None else "未設定", p.line))
    writer.writerow(_csv_row(month, "合計", "", report.total))
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode("utf-8"),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="payouts-{month}.csv"',
        },
    )
