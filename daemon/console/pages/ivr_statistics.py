"""``/console/ivr/statistics``: how the IVR customer's calls went, over a period of days, with charts; and as CSV.

Calls per day and per hour, menu choices, forwards answered / busy / not
answered, voicemails, callers who hung up in a menu, blocked and refused calls
(:mod:`daemon.services.statistics`).  The charts are drawn by Chart.js 4.6.2
(static/vendor/chart.umd.js, unchanged from npm; MIT, static/vendor/chart.js-LICENSE.md)
from a JSON block of the page (static/ivr_statistics.js); the tables say the same in
numbers.  The CSVs (per day with totals, per hour, menu choices) open in Excel: BOM,
Japanese headers, Japan dates.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors
from daemon.console.paths import PREFIX
from daemon.console.refusals import rule
from daemon.console.render import page
from daemon.console.viewer import IVR, tenant_scope
from daemon.http import excel_csv
from daemon.http.context import pool_of
from daemon.services import statistics
from daemon.services.errors import Invalid
from daemon.services.statistics import IvrStatistics, Period
from daemon.services.values import TOKYO

routes = web.RouteTableDef()

STATISTICS = f"{PREFIX}/ivr/statistics"
WORDS = {
    "calls": "着信（応答）",
    "blocked": "着信拒否",
    "refused": "その他の拒否（回線の混雑など）",
    "forward_answered": "転送：応答",
    "forward_busy": "転送：話し中",
    "forward_no_answer": "転送：応答なし",
    "forward_other": "転送：その他（失敗・途中切断）",
    "voicemails": "留守番電話",
    "hung_up_in_menu": "メニューで切断",
}
_PERIOD_ERRORS = {"first": "since", "last": "until"}
TABLES = {"daily": "日別", "hourly": "時間帯別", "choices": "メニューの選択"}


def _day(values: dict[str, str], name: str, errors: dict[str, str]) -> date | None:
    text = values.get(name, "")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = "日付の形式が正しくありません（例: 2026-12-01）"
        return None


def _period(request: web.Request) -> tuple[Period, dict[str, str]]:
    values = {k: request.query.get(k, "").strip() for k in ("since", "until")}
    errors: dict[str, str] = {}
    first, last = _day(values, "since", errors), _day(values, "until", errors)
    if errors:
        raise FormErrors(errors)
    try:
        when = statistics.period(first, last, datetime.now(TOKYO).date())
    except Invalid as exc:  # a period asked for, not a change refused: the rule's sentence alone
        found = {str(p.loc[0]) if p.loc else "": rule(p.msg) for p in exc.problems}
        raise FormErrors({_PERIOD_ERRORS.get(k, k): v for k, v in found.items()}) from None
    return when, {"since": when.first.isoformat(), "until": when.last.isoformat()}


def _charts(stats: IvrStatistics) -> dict[str, Any]:
    """What static/ivr_statistics.js draws (labels and numbers only)."""
    totals = stats.totals
    return {
        "days": [d.strftime("%m/%d") for d, _ in stats.daily],
        "calls": [c["calls"] for _, c in stats.daily],
        "blocked": [c["blocked"] for _, c in stats.daily],
        "hours": [f"{h}時" for h in range(24)],
        "hourly": stats.hourly,
        "forwards": {WORDS[k]: totals[k] for k in ("forward_answered", "forward_busy", "forward_no_answer")},
        "choices": {f"{node}：{keys}": times for node, keys, times in stats.choices},
        "words": {k: WORDS[k] for k in ("calls", "blocked")},
    }


@routes.get(STATISTICS)
async def statistics_page(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, IVR)
    try:
        when, values = _period(request)
    except FormErrors as exc:
        values = {k: request.query.get(k, "") for k in ("since", "until")}
        refused: dict[str, Any] = {"values": values, "errors": exc.errors, "stats": None, "words": WORDS}
        return page(request, "ivr_statistics.html", refused, status=422)
    stats = await statistics.ivr_statistics(pool_of(request), actor_of(request), tenant, when)
    context: dict[str, Any] = {
        "values": values,
        "errors": {},
        "stats": stats,
        "totals": stats.totals,
        "words": WORDS,
        "charts": _charts(stats),
        "csv": {t: f"{STATISTICS}.csv?{urlencode({**values, 'table': t})}" for t in TABLES},
        "tables": TABLES,
    }
    return page(request, "ivr_statistics.html", context)


def _table(stats: IvrStatistics, table: str) -> tuple[list[str], list[list[object]]]:
    """One of the page's tables as CSV rows: per day (with the totals), per hour, or the menu choices."""
    if table == "hourly":
        return ["時間帯", "着信（応答）"], [[f"{h}時台", n] for h, n in enumerate(stats.hourly)]
    if table == "choices":
        return ["メニュー", "押された番号", "回数"], [[node, keys, times] for node, keys, times in stats.choices]
    header = ["日付", *(WORDS[k] for k in statistics.COUNTS)]
    rows: list[list[object]] = [
        [day.strftime("%Y/%m/%d"), *(counts[k] for k in statistics.COUNTS)] for day, counts in stats.daily
    ]
    rows.append(["合計", *(stats.totals[k] for k in statistics.COUNTS)])
    return header, rows


@routes.get(f"{STATISTICS}.csv")
async def statistics_csv(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, IVR)
    table = request.query.get("table", "daily")
    if table not in TABLES:
        raise web.HTTPUnprocessableEntity(text="表の種類が正しくありません（daily, hourly, choices）")
    try:
        when, _ = _period(request)
    except FormErrors as exc:
        raise web.HTTPUnprocessableEntity(text=" ".join(exc.errors.values())) from None
    stats = await statistics.ivr_statistics(pool_of(request), actor_of(request), tenant, when)
    header, rows = _table(stats, table)
    filename = f"ivr-{table}-{when.first:%Y%m%d}-{when.last:%Y%m%d}.csv"
    return web.Response(body=excel_csv.text(header, rows).encode(), headers=excel_csv.download(filename))
