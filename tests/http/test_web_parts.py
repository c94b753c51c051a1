"""The web application is built from explicit parts, no daemon behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from daemon.http.context import NodeInfo
from daemon.metrics import Metrics
from daemon.repositories import tenants
from daemon.web import build_app
from tests.conftest import ADMIN_TOKEN, make_settings

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[asyncpg.Pool | None], Awaitable[Client]]


@pytest.fixture
async def client(db_dsn: str, prompts_dir: Path) -> AsyncIterator[MakeClient]:
    clients: list[Client] = []

    async def make(pool: asyncpg.Pool | None) -> Client:
        app = build_app(
            settings=make_settings(db_dsn, prompts_dir, node_id="parts-node"),
            metrics=Metrics(),
            admin_token=SecretStr(ADMIN_TOKEN),
            node=NodeInfo("9.9.9-parts", 0.0, lambda: 7),
            pool=lambda: pool,
        )
        c = TestClient(TestServer(app))
        await c.start_server()
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.close()


async def test_status_reports_the_parts_it_was_given(client: MakeClient, pool: asyncpg.Pool) -> None:
    acme = await tenants.create_tenant(pool, "acme", 2)
    c = await client(pool)
    resp = await c.get("/status")
    body = await resp.json()
    assert resp.status == 200
    assert (body["version"], body["node"], body["esl_sessions"]) == ("9.9.9-parts", "parts-node", 7)
    assert "tenants" not in body  # the open liveness check names no tenant
    assert (await c.get("/api/v1/tenants")).status == 401
    ok = await c.get("/api/v1/tenants", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert ok.status == 200
    assert [(t["id"], t["lines"]) for t in (await ok.json())["tenants"]] == [(acme, 2)]


async def test_without_a_pool_the_app_answers_503(client: MakeClient) -> None:
    c = await client(None)
    resp = await c.get("/status")
    assert resp.status == 503
    assert (await resp.json())["db_reachable"] is False
