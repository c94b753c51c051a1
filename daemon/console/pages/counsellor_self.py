"""``/console/me``: a counsellor's own pages, made for a phone.

待機開始 / 待機終了 in one tap, the calls of today and of a chosen month
(the caller's number masked, talk time, charge, their own pay) and the duty
line's PIN.  Everything is the logged-in counsellor's own: the counsellor is
found from the login (:func:`daemon.services.counsellor_self.myself`), never
from the URL, and nothing of other counsellors or of callers' balances is
shown.  Sessions, CSRF and the login throttle are the console's own.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors, fields
from daemon.console.paths import PREFIX
from daemon.console.render import page, see_other
from daemon.console.viewer import COUNSELLOR, require
from daemon.http.context import pool_of
from daemon.repositories import counsellors
from daemon.repositories.duty_pins import PIN
from daemon.rules.billing.invoice import Period
from daemon.services import counsellor_self, pay
from daemon.services.values import TOKYO

routes = web.RouteTableDef()

ME = PREFIX + "/me"
PIN_PAGE = ME + "/pin"
PIN_RULE = "暗証番号は4〜8桁の数字で入力してください"


async def _me(request: web.Request) -> tuple[int, int]:
    require(request, COUNSELLOR)
    return await counsellor_self.myself(pool_of(request), actor_of(request))


@routes.get(ME)
async def home(request: web.Request) -> web.Response:
    tenant, me = await _me(request)
    pool = pool_of(request)
    now = datetime.now(TOKYO)
    today, today_total = await pay.own_calls(pool, tenant, me, now.date())
    _, month_total = await pay.own_calls(pool, tenant, me, Period.containing(now))
    context = {
        "me": await counsellors.get(pool, tenant, me),
        "today": today,
        "today_total": today_total,
        "month": Period.containing(now),
        "month_total": month_total,
        "saved": request.query.get("saved", ""),
    }
    return page(request, "counsellor_self_home.html", context)


@routes.post(ME + "/duty")
async def duty(request: web.Request) -> web.StreamResponse:
    await _me(request)
    on_duty = (await fields(request)).get("on_duty") == "1"
    await counsellor_self.set_own_duty(pool_of(request), actor_of(request), on_duty)
    raise see_other(f"{ME}?saved={'on' if on_duty else 'off'}")


@routes.get(ME + "/calls")
async def month_calls(request: web.Request) -> web.Response:
    """``month`` is YYYY-MM in Japan time (default: this month)."""
    tenant, me = await _me(request)
    text = request.query.get("month", "").strip()
    try:
        month = Period.parse(text) if text else Period.containing(datetime.now(TOKYO))
    except ValueError:
        context: dict[str, object] = {
            "month": text,
            "calls": [],
            "total": None,
            "error": "月の形式が正しくありません（例: 2026-12）",
        }
        return page(request, "counsellor_self_calls.html", context, status=422)
    calls, total = await pay.own_calls(pool_of(request), tenant, me, month)
    context = {"month": str(month), "calls": calls, "total": total, "error": ""}
    return page(request, "counsellor_self_calls.html", context)


@routes.get(PIN_PAGE)
async def pin_form(request: web.Request) -> web.Response:
    await _me(request)
    return page(request, "counsellor_self_pin.html", {"errors": {}})


@routes.post(PIN_PAGE)
async def set_pin(request: web.Request) -> web.StreamResponse:
    await _me(request)
    values = await fields(request)
    pin, again = values.get("pin", ""), values.get("pin_again", "")
    try:
        if not PIN.fullmatch(pin):
            raise FormErrors({"pin": PIN_RULE})
        if pin != again:
            raise FormErrors({"pin_again": "確認用の暗証番号が一致しません"})
    except FormErrors as exc:
        return page(request, "counsellor_self_pin.html", {"errors": exc.errors}, status=422)
    await counsellor_self.set_own_pin(pool_of(request), actor_of(request), pin)
    raise see_other(f"{ME}?saved=pin")
