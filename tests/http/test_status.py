"""``GET /status`` (open, no tenant in it) and ``GET /metrics`` (a token): real values; 503 without the database."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from daemon import __version__
from daemon.app import Daemon
from daemon.repositories import admission, tenants
from daemon.repositories.admission import Outcome
from tests.conftest import DaemonFactory
from tests.http.test_status_admin import ADMIN, call, url

METRICS_TOKEN = "prometheus-scrape-0123456789"


@pytest.fixture
async def dead_db_daemon(start_daemon: DaemonFactory) -> AsyncIterator[Daemon]:
    """A running daemon whose database is gone (a bad URL no longer starts at all: tests/recovery)."""
    daemon = await start_daemon()
    pool, daemon.services.pool = daemon.services.pool, None
    try:
        yield daemon
    finally:
        daemon.services.pool = pool


async def test_status_tells_a_stranger_nothing_of_any_tenant_and_the_admin_api_has_the_live_calls(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    acme = await tenants.create_tenant(pool, "acme", 3)
    await tenants.add_number(pool, acme, "0312345678", "coaching")
    await tenants.add_number(pool, acme, "0120123456", "ivr")
    idle = await tenants.create_tenant(pool, "idle", 0)
    calls = [uuid.uuid4() for _ in range(2)]
    here = await admission.admit(pool, calls[0], "0312345678", daemon.settings.node_id)
    there = await admission.admit(pool, calls[1], "0120123456", "another-node")
    assert here.outcome is Outcome.ADMITTED and there.outcome is Outcome.ADMITTED

    async with http.get(f"http://127.0.0.1:{daemon.http_port}/status") as resp:  # no credentials at all
        assert resp.status == 200
        text = await resp.text()
    assert "acme" not in text and "idle" not in text
    body = json.loads(text)
    assert set(body) == {"version", "node", "uptime_seconds", "db_reachable", "esl_sessions"}
    assert body["version"] == __version__
    assert body["node"] == daemon.settings.node_id
    assert 0 <= body["uptime_seconds"] < 120
    assert body["db_reachable"] is True
    assert body["esl_sessions"] == 0

    async def live() -> list[tuple[int, str, int, int]]:
        _, listed = await call(http, daemon, "GET", "/api/v1/tenants", headers=ADMIN)
        return [(t["id"], t["name"], t["lines"], t["live_calls"]) for t in listed["tenants"]]

    assert await live() == [(acme, "acme", 3, 2), (idle, "idle", 0, 0)]  # calls of every node
    await admission.release(pool, calls[1])
    assert (await live())[0] == (acme, "acme", 3, 1)


async def test_status_counts_open_event_socket_sessions(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon = await start_daemon()
    _, writer = await asyncio.open_connection("127.0.0.1", daemon.esl_port)  # FreeSWITCH connecting
    try:
        for _ in range(250):  # the session registers itself as soon as its task runs
            if (await call(http, daemon, "GET", "/status", headers={}))[1]["esl_sessions"] == 1:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the open event-socket session never showed in /status")
    finally:
        writer.close()
        await writer.wait_closed()


async def test_admin_api_is_503_while_the_database_is_down(dead_db_daemon: Daemon, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, dead_db_daemon, "POST", "/api/v1/tenants", {"name": "acme", "lines": 1})
    assert status == 503
    assert "database is unavailable" in body["error"]
    status, _ = await call(http, dead_db_daemon, "GET", "/metrics", headers=ADMIN)
    assert status == 200  # metrics do not need the database


async def test_status_is_503_when_the_pool_breaks(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, db_dsn: str
) -> None:
    daemon = await start_daemon()
    broken = await asyncpg.create_pool(db_dsn, min_size=1, max_size=1)
    assert broken is not None
    broken.terminate()  # every query on it fails, as with a dead server
    own, daemon.services.pool = daemon.services.pool, broken
    try:
        status, body = await call(http, daemon, "GET", "/status", headers={})
        assert status == 503 and body["db_reachable"] is False
        status, body = await call(http, daemon, "GET", "/api/v1/tenants")
        assert status == 503 and "database is unavailable" in body["error"]
    finally:
        daemon.services.pool = own
    assert (await call(http, daemon, "GET", "/status", headers={}))[0] == 200


async def test_metrics_expose_every_metric_of_the_daemon(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon = await start_daemon()
    daemon.metrics.lines_reaped.inc(2)
    daemon.metrics.calls_rejected.labels(reason="busy").inc()
    async with http.get(f"http://127.0.0.1:{daemon.http_port}/metrics", headers=ADMIN) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    exposed = {family.name: family for family in text_string_to_metric_families(text)}
    declared = {family.name for family in daemon.metrics.registry.collect()}
    assert declared <= set(exposed)
    for name in (
        "calld_calls_admitted",
        "calld_calls_rejected",
        "calld_live_calls",
        "calld_esl_sessions",
        "calld_db_errors",
        "calld_connect_to_first_command_seconds",
        "calld_lines_reaped",
    ):
        assert name in exposed, name
    assert "calld_lines_reaped_total 2.0" in text
    assert 'calld_calls_rejected_total{reason="busy"} 1.0' in text


async def test_metrics_take_the_metrics_token_or_the_admin_token_and_nothing_else(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon = await start_daemon(metrics_token=METRICS_TOKEN)
    daemon.metrics.revenue_yen.labels(tenant="acme").inc(1200)
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Basic {METRICS_TOKEN}"},
    ):
        async with http.get(url(daemon, "/metrics"), headers=headers) as resp:
            assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
            assert "acme" not in await resp.text()
    for headers in (scrape, ADMIN):
        status, text = await call(http, daemon, "GET", "/metrics", headers=headers)
        assert status == 200 and 'calld_revenue_yen_total{tenant="acme"} 1200.0' in text
    # the scrape's token opens nothing else
    assert (await call(http, daemon, "GET", "/api/v1/tenants", headers=scrape))[0] == 401
    assert (await call(http, daemon, "GET", "/status", headers={}))[0] == 200


async def test_with_no_token_configured_metrics_are_closed_and_status_stays_open(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon = await start_daemon(admin_token="")
    assert (await call(http, daemon, "GET", "/status", headers={}))[0] == 200
    status, body = await call(http, daemon, "GET", "/metrics", headers=ADMIN)
    assert status == 503 and "no token is configured" in body["error"]
    assert (await call(http, daemon, "GET", "/api/v1/tenants", headers=ADMIN))[0] == 503
