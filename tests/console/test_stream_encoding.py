"""A big snapshot is encoded off the event loop, and reads back the same (issue 16 item 5).

The board of a tenant with 1,000 live calls is about 320 KiB of JSON, sent once
a second to every open board; encoded on the loop it held every cutoff timer for
40-50 ms each time on the project's machine.  Here the snapshot is a few times
bigger.  The machine the tests share is loaded to varying degrees, so the bound
is relative: the loop may be late by a third of what encoding the snapshot on it
takes (measured first), no more; encoded on the loop, it is late by all of it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from daemon.console import events
from daemon.loop_lag import LoopLagMonitor
from daemon.metrics import Metrics

CALLS = [
    {"id": f"call-{i}", "state_label": "通話中", "caller": "090****1234", "balance": f"{i:,}円", "answer_us": i}
    for i in range(30_000)
]
SNAPSHOT: dict[str, Any] = {"lines": {"contracted": 1000, "in_use": 1000}, "calls": CALLS, "queues": []}


async def test_a_big_snapshot_does_not_hold_the_loop_and_reads_back_whole() -> None:
    app = web.Application()
    events.install(app)

    async def snapshot() -> dict[str, Any]:
        return SNAPSHOT

    async def stream(request: web.Request) -> web.StreamResponse:
        return await events.snapshots(request, snapshot, every=60.0)

    app.router.add_get("/events", stream)
    started = time.perf_counter()
    events._event("snapshot", SNAPSHOT)
    on_the_loop = time.perf_counter() - started
    monitor = LoopLagMonitor(Metrics().loop_lag, interval=0.005)
    gc.disable()  # a full collection of the test process's heap (not the stream's doing) would count as lag
    async with TestClient(TestServer(app)) as client:
        monitor.start()
        try:
            async with client.get("/events") as response:
                received = bytearray()
                async for chunk in response.content.iter_any():
                    received += chunk
                    if received.count(b"\n\n") == 2:
                        break
            await asyncio.sleep(0.02)
        finally:
            monitor.stop()
            gc.enable()
    retry, sent, _ = bytes(received).decode().split("\n\n")
    assert retry == "retry: 3000"
    name, data = sent.split("\n")
    assert name == "event: snapshot"
    assert json.loads(data.removeprefix("data: ")) == SNAPSHOT
    assert monitor.worst < on_the_loop / 3


def test_the_encoding_is_json_dumps_compact_and_unescaped() -> None:
    data = {"a": [1, {"b": "通話中"}, None], "c": {"d": [True, 1.5]}, "e": "x"}
    assert events._event("snapshot", data) == (
        'event: snapshot\ndata: {"a":[1,{"b":"通話中"},null],"c":{"d":[true,1.5]},"e":"x"}\n\n'.encode()
    )
