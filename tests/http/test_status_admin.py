"""HTTP: status, metrics, and the admin API for tenants, numbers and lines (real database)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from daemon.app import Daemon
from daemon.repositories import admission
from daemon.repositories.admission import Outcome
from tests.conftest import ADMIN_TOKEN, DaemonFactory

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def url(daemon: Daemon, path: str) -> str:
    return f"http://127.0.0.1:{daemon.http_port}{path}"


async def call(
    http: aiohttp.ClientSession, daemon: Daemon, method: str, path: str, body: Any = None, **kw: Any
) -> tuple[int, Any]:
    headers = kw.pop("headers", ADMIN)
    async with http.request(method, url(daemon, path), json=body, headers=headers, **kw) as resp:
        payload = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, payload


async def test_status_reports_lines_and_live_calls(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    status, tenant = await call(http, daemon, "POST", "/api/v1/tenants", {"name": "acme", "lines": 3})
    assert status == 201
    assert (
        await call(
            http,
            daemon,
            "POST",
            f"/api/v1/tenants/{tenant['id']}/numbers",
            {"number": "+81312345678", "product": "coaching"},
        )
    )[0] == 201
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "elsewhere")).outcome is Outcome.ADMITTED
    status, body = await call(http, daemon, "GET", "/status", headers={})
    assert status == 200
    assert body["db_reachable"] is True
    assert body["node"] == daemon.settings.node_id
    _, listed = await call(http, daemon, "GET", "/api/v1/tenants")
    assert [(t["id"], t["name"], t["lines"], t["live_calls"]) for t in listed["tenants"]] == [
        (tenant["id"], "acme", 3, 1)
    ]


async def test_status_is_503_when_the_database_is_gone(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon = await start_daemon()
    pool, daemon.services.pool = daemon.services.pool, None
    try:
        status, body = await call(http, daemon, "GET", "/status", headers={})
    finally:
        daemon.services.pool = pool
    assert status == 503
    assert body["db_reachable"] is False


async def test_metrics_exposition(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    status, text = await call(http, daemon, "GET", "/metrics")
    assert status == 200
    for name in (
        "calld_calls_rejected",
        "calld_esl_sessions",
        "calld_connect_to_first_command_seconds",
        "calld_cutoff_lag_seconds",
        "calld_db_errors",
    ):
        assert name in text


async def test_admin_api_refuses_without_a_valid_token(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon = await start_daemon()
    status, _ = await call(http, daemon, "GET", "/api/v1/tenants", headers={})
    assert status == 401
    status, _ = await call(http, daemon, "GET", "/api/v1/tenants", headers={"Authorization": "Bearer wrong"})
    assert status == 401
    closed = await start_daemon(admin_token="")
    status, body = await call(http, closed, "GET", "/api/v1/tenants")
    assert status == 503 and "CALLD_ADMIN_TOKEN" in body["error"]


async def test_lines_change_applies_to_the_next_call(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    _, tenant = await call(http, daemon, "POST", "/api/v1/tenants", {"name": "acme", "lines": 0})
    await call(
        http, daemon, "POST", f"/api/v1/tenants/{tenant['id']}/numbers", {"number": "0312345678", "product": "ivr"}
    )
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "n")).outcome is Outcome.BUSY
    status, body = await call(http, daemon, "PUT", f"/api/v1/tenants/{tenant['id']}/lines", {"lines": 1})
    assert status == 200 and body == {"tenant_id": tenant["id"], "lines": 1, "previous_lines": 0}
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "n")).outcome is Outcome.ADMITTED


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("POST", "/api/v1/tenants", {"name": "", "lines": 1}, 422),
        ("POST", "/api/v1/tenants", {"name": "x", "lines": -1}, 422),
        ("POST", "/api/v1/tenants", {"name": "x", "lines": 1.5}, 422),
        ("POST", "/api/v1/tenants", {"name": "x\nadmin", "lines": 1}, 422),
        ("PUT", "/api/v1/tenants/999999/lines", {"lines": 1}, 404),
        ("POST", "/api/v1/tenants/999999/numbers", {"number": "0312345678", "product": "ivr"}, 404),
        ("DELETE", "/api/v1/numbers/0399999999", None, 404),
    ],
)
async def test_bad_requests_get_clear_errors(
    start_daemon: DaemonFactory,
    http: aiohttp.ClientSession,
    pool: asyncpg.Pool,
    method: str,
    path: str,
    body: Any,
    expected: int,
) -> None:
    daemon = await start_daemon()
    status, payload = await call(http, daemon, method, path, body)
    assert status == expected
    assert payload["error"]
    assert await pool.fetchval("SELECT count(*) FROM tenants") == 0


async def test_duplicates_and_malformed_json(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    _, tenant = await call(http, daemon, "POST", "/api/v1/tenants", {"name": "acme", "lines": 1})
    assert (await call(http, daemon, "POST", "/api/v1/tenants", {"name": "acme", "lines": 1}))[0] == 409
    path = f"/api/v1/tenants/{tenant['id']}/numbers"
    assert (await call(http, daemon, "POST", path, {"number": "0312345678", "product": "ivr"}))[0] == 201
    assert (await call(http, daemon, "POST", path, {"number": "0312345678", "product": "ivr"}))[0] == 409
    assert (await call(http, daemon, "POST", path, {"number": "03-1234-abcd", "product": "ivr"}))[0] == 422
    async with http.post(url(daemon, "/api/v1/tenants"), data=b"{not json", headers=ADMIN) as resp:
        assert resp.status == 400
        assert "JSON" in (await resp.json())["error"]


async def test_openapi_lists_the_routes(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    status, doc = await call(http, daemon, "GET", "/api/v1/openapi.json", headers={})
    assert status == 200
    assert "/api/v1/tenants" in doc["paths"]
    assert "put" in doc["paths"]["/api/v1/tenants/{tenant_id}/lines"]
