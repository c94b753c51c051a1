"""Templates (``templates/``, Jinja2 with autoescape) and the filters every page uses.

{{ 1234567 | yen }}          1,234,567円
{{ created_at | tokyo }}      2026-12-02 18:05  (Asia/Tokyo)
{{ answer_us | tokyo_us }}    the same, from FreeSWITCH's microseconds
{{ "09012345678" | masked }}  090****5678
{{ 754 | duration }}          12分34秒
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from daemon.console.viewer import VIEWER
from daemon.http.models import TOKYO

# aiohttp-jinja2 1.6 keeps its context under a string key; aiohttp warns once per process about it.
warnings.filterwarnings("ignore", message="It is recommended to use web.RequestKey", module="aiohttp_jinja2")

TEMPLATES = Path(__file__).with_name("templates")
_EPOCH = datetime.fromtimestamp(0, TOKYO)


def yen(value: int | None) -> str:
    return "—" if value is None else f"{value:,}円"


def tokyo(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return "—"
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def tokyo_us(value: int | None, seconds: bool = True) -> str:
    return "—" if value is None else tokyo(_EPOCH + timedelta(microseconds=value), seconds)


def masked(number: str | None) -> str:
    """A caller's number as the board shows it: enough to recognise, not enough to copy."""
    if not number:
        return "非通知"
    return number if len(number) <= 7 else number[:3] + "*" * (len(number) - 7) + number[-4:]


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(max(0, seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}時間{minutes}分{rest}秒"
    return f"{minutes}分{rest}秒" if minutes else f"{rest}秒"


def _base(request: web.Request) -> dict[str, Any]:
    viewer = request.get(VIEWER)
    return {"viewer": viewer, "csrf": viewer.csrf_token if viewer else "", "path": request.path}


async def _globals(request: web.Request) -> dict[str, Any]:
    return _base(request)


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        context_processors=[_globals],
    )
    env.filters.update(yen=yen, tokyo=tokyo, tokyo_us=tokyo_us, masked=masked, duration=duration)


def page(
    request: web.Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> web.Response:
    # The globals again: a failure raised by a middleware before aiohttp-jinja2's own (a stale
    # CSRF token) renders its page without the context processors having run.
    response = aiohttp_jinja2.render_template(template, request, {**_base(request), **(context or {})}, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def see_other(location: str) -> web.HTTPSeeOther:
    """After a POST: 303 to the page that shows the result (a reload does not post again)."""
    return web.HTTPSeeOther(location)
