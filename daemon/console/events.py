"""Server-Sent Events: a page's JSON snapshot, sent again whenever it changes.

    return await snapshots(request, lambda: my_snapshot(pool, tenant))

Every :data:`EVERY` seconds the snapshot is read; when it differs from the
last one sent it goes out as ``event: snapshot``; otherwise a comment line
every :data:`HEARTBEAT` seconds keeps proxies from closing the connection.

A stream ends when the client goes (the next write fails), after
:data:`MAX_SECONDS` (the browser's ``EventSource`` reconnects by itself and so
passes the session check again: a logged-out or expired session stops
streaming within that time), and when the daemon stops.  The last matters:
aiohttp's runner waits up to its ``shutdown_timeout`` (60 s) for running
handlers before it cancels them, so without :func:`install`'s
``on_shutdown`` hook an open board would hold the daemon's stop for a minute.

A snapshot can be big: the board of a tenant with 1,000 live calls is about
320 KiB of JSON, and encoding it took 40-50 ms on the project's loaded 2-core
machine, once a second for every open board, in one piece during which no
cutoff timer ran (issue 16 item 5).  :func:`encoded` does it in a thread, and
encodes a list item by item so that the loop gets the interpreter back between
items (``json.dumps`` holds it for the whole of one call).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from daemon.logs import get_logger
from daemon.postgres.errors import DB_UNAVAILABLE

_log = get_logger(__name__)

EVERY = 1.0
HEARTBEAT = 15.0
MAX_SECONDS = 300.0
RETRY_MS = 3000
CLOSING: web.AppKey[asyncio.Event] = web.AppKey("console_streams_closing", asyncio.Event)


def install(app: web.Application) -> None:
    """Let open streams end when the application shuts down."""
    app[CLOSING] = asyncio.Event()

    async def closing(app: web.Application) -> None:
        app[CLOSING].set()

    app.on_shutdown.append(closing)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _json(data: Any) -> str:
    """``_dumps(data)``, with a dict's values and a list's items each encoded on their own (see the module)."""
    if isinstance(data, dict):
        return "{" + ",".join(f"{_dumps(str(key))}:{_json(value)}" for key, value in data.items()) + "}"
    if isinstance(data, list):
        return "[" + ",".join(_dumps(item) for item in data) + "]"
    return _dumps(data)


def _event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {_json(data)}\n\n".encode()


async def encoded(name: str, data: Any) -> bytes:
    """The ``event: name`` of ``data``, encoded off the event loop."""
    return await asyncio.to_thread(_event, name, data)


async def snapshots(
    request: web.Request,
    snapshot: Callable[[], Awaitable[Any]],
    *,
    every: float = EVERY,
    heartbeat: float = HEARTBEAT,
    max_seconds: float = MAX_SECONDS,
) -> web.StreamResponse:
    closing = request.app[CLOSING]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    started = last_write = time.monotonic()
    last: Any = None
    try:
        await response.write(f"retry: {RETRY_MS}\n\n".encode())
        while not closing.is_set() and time.monotonic() - started < max_seconds:
            try:
                current = await snapshot()
            except DB_UNAVAILABLE as exc:  # try again at the next tick; the page keeps what it shows
                _log.warning("console_stream_db_unavailable", path=request.path, error=repr(exc))
            else:
                if current != last:
                    await response.write(await encoded("snapshot", current))
                    last, last_write = current, time.monotonic()
            if time.monotonic() - last_write >= heartbeat:
                await response.write(b": heartbeat\n\n")
                last_write = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing.wait(), every)
    except ConnectionError:  # the client went away (aiohttp's ClientConnectionResetError is one)
        return response
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response
