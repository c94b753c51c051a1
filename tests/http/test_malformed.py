"""Malformed API requests: a 4xx with a clear message, never a 500 (the console: tests/console/test_malformed.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from daemon.app import Daemon
from daemon.repositories import guidance, tenants, tokens
from tests.conftest import DaemonFactory
from tests.http.test_status_admin import call, url

NUL_IN_PART_HEADER = b'--b\r\nContent-Disposition: form-data; name="na\x00me"\r\n\r\nhello\r\n--b--\r\n'


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def operator(pool: asyncpg.Pool) -> dict[str, str]:
    tenant_id = await tenants.create_tenant(pool, "edges", 1)
    _, token = await tokens.create(pool, tenant_id, "desk")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def desk(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> tuple[Daemon, dict[str, str]]:
    """A daemon, and the headers of an operator of tenant "edges"."""
    return await start_daemon(), await operator(pool)


async def send(
    http: aiohttp.ClientSession, daemon: Daemon, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    async with http.request(method, url(daemon, path), data=body, headers=headers) as resp:
        assert resp.content_type == "application/json"
        return resp.status, dict(await resp.json())


async def test_a_flow_version_beyond_postgresqls_integer_is_not_found(
    desk: tuple[Daemon, dict[str, str]], http: aiohttp.ClientSession
) -> None:
    daemon, me = desk
    flows = "/api/v1/operator/ivr/flows"
    for method, path in (("GET", f"{flows}/2147483648"), ("POST", f"{flows}/2147483648/publish")):
        assert await call(http, daemon, method, path, headers=me) == (
            404,
            {"error": "no such version 2147483648", "detail": []},
        )
    # ids are bigint: one past it, and a number too long even to parse, are "not found" too
    for ident in ("9223372036854775808", "9" * 5000):
        status, body = await call(http, daemon, "GET", f"/api/v1/operator/guidance/{ident}", headers=me)
        assert status == 404 and body["error"].startswith("no such id"), body


async def test_a_multipart_body_without_a_boundary_is_a_400_on_upload_and_replace(
    desk: tuple[Daemon, dict[str, str]], http: aiohttp.ClientSession
) -> None:
    daemon, me = desk
    bare = {**me, "Content-Type": "multipart/form-data"}
    for method, path in (("POST", "/api/v1/operator/guidance"), ("PUT", "/api/v1/operator/guidance/1")):
        status, body = await send(http, daemon, method, path, b"--x\r\n\r\n", bare)
        assert status == 400, body
        assert "needs a boundary parameter" in str(body["error"])


async def test_a_nul_in_a_part_header_is_a_400_and_nothing_is_stored(
    desk: tuple[Daemon, dict[str, str]], pool: asyncpg.Pool, http: aiohttp.ClientSession
) -> None:
    daemon, me = desk
    headers = {**me, "Content-Type": "multipart/form-data; boundary=b"}
    status, body = await send(http, daemon, "POST", "/api/v1/operator/guidance", NUL_IN_PART_HEADER, headers)
    assert status == 400
    assert body["error"] == (
        "the multipart/form-data body is malformed: check its boundaries, part headers and charset"
    )
    tenant_id = await pool.fetchval("SELECT id FROM tenants WHERE name = 'edges'")
    assert await guidance.all_of(pool, tenant_id) == []
