"""The waiting line's group settings over the JSON API: off by default, set, read back, bounds refused."""

from __future__ import annotations

import aiohttp

from tests.conftest import DaemonFactory
from tests.http.test_coaching_api import OP, operator
from tests.http.test_status_admin import call


async def test_waiting_line_settings_round_trip(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    group = {"code": "12", "name": "tarot", "rate_yen_per_min": 300}
    status, plain = await call(http, daemon, "POST", f"{OP}/groups", group, headers=acme)
    assert status == 201 and plain["queue_enabled"] is False and plain["queue_max_length"] == 10
    line = {"queue_enabled": True, "queue_max_wait_s": 120, "queue_max_length": 3, "queue_announce_s": 15}
    status, g = await call(http, daemon, "PUT", f"{OP}/groups/{plain['id']}", group | line, headers=acme)
    assert status == 200 and {k: g[k] for k in line} == line
    for bad in ({"queue_max_wait_s": 5}, {"queue_max_length": 0}, {"queue_announce_s": 601}, {"queue_enabled": 1}):
        status, _ = await call(http, daemon, "PUT", f"{OP}/groups/{plain['id']}", group | bad, headers=acme)
        assert status == 422, bad
    status, read = await call(http, daemon, "GET", f"{OP}/groups/{plain['id']}", headers=acme)
    assert {k: read[k] for k in line} == line
