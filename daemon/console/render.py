"""Templates (``templates/``, Jinja2 with autoescape) and the filters every page uses.

{{ 1234567 | yen }}          1,234,567円
{{ created_at | tokyo }}      2026-12-02 18:05  (Asia/Tokyo)
{{ answer_us | tokyo_us }}    the same, from FreeSWITCH's microseconds
{{ "09012345678" | masked }}  090****5678
{{ 754 | duration }}          12分34秒
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from daemon.console import done
from daemon.console.viewer import VIEWER
from daemon.services.values import TOKYO

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


def _globals(request: web.Request) -> dict[str, Any]:
    """What base.html needs on every page: who is looking and their CSRF token."""
    viewer = request.get(VIEWER)
    return {
        "viewer": viewer,
        "csrf": viewer.csrf_token if viewer else "",
        "path": request.path,
        "done": done.message(request),
    }


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(yen=yen, tokyo=tokyo, tokyo_us=tokyo_us, masked=masked, duration=duration)


def page(
    request: web.Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> web.Response:
    # The globals are added here, not by aiohttp-jinja2's context processors: those run as a
    # middleware after ours, so a page rendered for a failure raised in ours would lack them.
    response = aiohttp_jinja2.render_template(
        template, request, {**_globals(request), **(context or {})}, status=status
    )
    response.headers["Cache-Control"] = "no-store"
    done.shown(request, response)
    return response


def see_other(location: str, done_key: str = "", number: int | None = None) -> web.HTTPSeeOther:
    """After a POST: 303 to the page that shows the result (a reload does not post again);
    with ``done_key``, that page says what was done (:mod:`daemon.console.done`), naming
    ``number`` where the sentence has one."""
    response = web.HTTPSeeOther(location)
    if done_key:
        done.remember(response, done_key, number)
    return response
