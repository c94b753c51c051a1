"""``/console/board``: the operator's live board (lines, waiting lines, live calls, counsellor states).

The page is rendered whole on the server (it works without JavaScript and a
reload shows the truth); ``board.js`` then listens to ``/console/board/events``
and redraws the three sections from each snapshot.  The snapshot holds what the
page shows, already worded (masked numbers, yen, Tokyo times), plus the
microsecond times the script counts talk time and time left from.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from daemon.console.events import snapshots
from daemon.console.paths import PREFIX
from daemon.console.render import masked, page, tokyo_us, yen
from daemon.console.viewer import OPERATOR, tenant_scope
from daemon.http.context import pool_of, settings_of
from daemon.repositories import board, waiting

routes = web.RouteTableDef()

COUNSELLOR_STATES = {
    board.FREE: "空き",
    board.RINGING: "呼出中",
    board.TALKING: "通話中",
    board.WRAPUP: "後処理",
    board.OFF: "休止",
}
CALL_STATES = {board.MENU: "ガイダンス中", board.WAITING: "順番待ち", board.HUNTING: "呼出中", board.TALKING: "通話中"}


def _call(c: board.LiveCall) -> dict[str, Any]:
    return {
        "id": str(c.call_uuid),
        "state": c.state,
        "state_label": CALL_STATES.get(c.state, c.state),
        "caller": masked(c.caller_number) if c.state not in (board.MENU, board.WAITING) else "—",
        "group": c.group_name or "—",
        "counsellor": c.counsellor_name or ("、".join(c.ringing) if c.ringing else "—"),
        "answer_us": c.answer_us,
        "deadline_us": c.deadline_us,
        "deadline": tokyo_us(c.deadline_us) if c.deadline_us is not None else "—",
        "balance": yen(c.balance_yen),
    }


def _line(line: waiting.LineState) -> dict[str, Any]:
    return {
        "id": line.group_id,
        "group": line.group_name,
        "waiting": line.waiting,
        "since_us": line.oldest_joined_us,
        "ringing": line.ringing,
    }


def view(b: board.Board, lines: list[waiting.LineState]) -> dict[str, Any]:
    """The board as the page and its snapshots show it (no clock in it: it changes only with the data)."""
    return {
        "queues": [_line(line) for line in lines],
        "lines": {"contracted": b.contracted_lines, "in_use": b.lines_in_use},
        "calls": [_call(c) for c in b.calls],
        "counsellors": [
            {"id": c.id, "name": c.name, "state": c.state, "state_label": COUNSELLOR_STATES[c.state]}
            for c in b.counsellors
        ],
    }


async def _board(request: web.Request, tenant: int) -> dict[str, Any]:
    """The view, worded in a thread: 1,000 live calls took 50-70 ms of formatting (see console.events)."""
    pool = pool_of(request)
    live = settings_of(request).node_timeout_seconds  # waiters of a silent node are not counted
    now, lines = await board.board(pool, tenant), await waiting.lines(pool, tenant, live)
    return await asyncio.to_thread(view, now, lines)


@routes.get(PREFIX + "/board")
async def show(request: web.Request) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    now_us = time.time_ns() // 1000
    return page(request, "board.html", {"board": await _board(request, tenant), "now_us": now_us})


@routes.get(PREFIX + "/board/events")
async def events(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)

    async def snapshot() -> dict[str, Any]:
        return await _board(request, tenant)

    return await snapshots(request, snapshot)
