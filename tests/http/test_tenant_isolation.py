"""Tenant isolation, swept over every operator route the OpenAPI document lists.

Tenant A owns nothing; tenant B owns one of everything.  For every operator route
with a path id and every method, A's token is tried on each of B's ids and on an
id that was never issued, with the same bodies (generated from the route's own
schema by schemathesis).  Both must get the very same answer, 404 where the body
is valid: A learns nothing about B, not even that an id exists.  Afterwards not a
single row of the database has changed.  Routes added later are swept without
touching this test; a new kind of row is covered once the seeding below makes one.
"""

from __future__ import annotations

import re
import uuid
import warnings
from typing import Any

import aiohttp
import asyncpg
import pytest
import schemathesis
from hypothesis.errors import NonInteractiveExampleWarning

from daemon.app import Daemon
from daemon.repositories import call_records, callers
from daemon.rules.billing.charges import Tariff
from tests.conftest import DaemonFactory
from tests.http.test_coaching_api import CALLER, operator
from tests.http.test_status_admin import call

NEVER_ISSUED = 2_000_000_000
BODIES_PER_ROUTE = 4
_PARAM = re.compile(r"\{(\w+)\}")
# rows that change on their own while a daemon runs, whatever the API does
_LIVE_TABLES = {"nodes", "active_calls", "schema_migrations"}


async def snapshot(pool: asyncpg.Pool) -> dict[str, str]:
    """A digest of every row of every table."""
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    out = {}
    for row in tables:
        name = row["table_name"]
        if name in _LIVE_TABLES:
            continue
        out[name] = await pool.fetchval(
            f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{name}\" t"
        )
    return out


async def owned_ids(pool: asyncpg.Pool, tenant_id: int) -> set[str]:
    """Every id (integer or uuid key) of every row that belongs to ``tenant_id``."""
    cols = await pool.fetch(
        """SELECT c.table_name, c.column_name FROM information_schema.columns c
           WHERE c.table_schema = 'public' AND c.data_type IN ('bigint', 'uuid', 'integer')
             AND (c.column_name = 'id' OR c.column_name LIKE '%\\_uuid')
             AND EXISTS (SELECT 1 FROM information_schema.columns t WHERE t.table_schema = 'public'
                         AND t.table_name = c.table_name AND t.column_name = 'tenant_id')"""
    )
    ids: set[str] = set()
    for row in cols:
        values = await pool.fetch(
            f'SELECT DISTINCT "{row["column_name"]}"::text AS v FROM "{row["table_name"]}" WHERE tenant_id = $1',
            tenant_id,
        )
        ids |= {r["v"] for r in values if r["v"] is not None}
    return ids


async def seed(http: aiohttp.ClientSession, daemon: Daemon, token: dict[str, str], tenant_id: int) -> None:
    """One of every kind of row an operator can reach, made through B's own API where it can."""

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        status, made = await call(http, daemon, "POST", f"/api/v1/operator/{path}", body, headers=token)
        assert status in (200, 201), (path, made)
        return dict(made)

    caller = await post("callers", CALLER | {"numbers": ["09077776666"]})
    await post(f"callers/{caller['id']}/deposits", {"amount_yen": 5000, "idempotency_key": "seed-1"})
    member = await post("counsellors", {"name": "Hana", "phone_number": "08055554444"})
    await post("groups", {"code": "7", "name": "tarot", "rate_yen_per_min": 200, "members": [member["id"]]})
    assert daemon.pool is not None
    found = await callers.caller_by_number(daemon.pool, tenant_id, "09077776666")
    assert found is not None
    call_uuid = uuid.uuid4()
    await call_records.open_record(
        daemon.pool,
        call_uuid,
        tenant_id=tenant_id,
        node_id="n1",
        caller=found,
        caller_number="09077776666",
        group_id=None,
        tariff=Tariff(200),
        created_us=1_700_000_000_000_000,
    )
    await call_records.finish(daemon.pool, call_uuid, end_us=None, hangup_cause="NORMAL_CLEARING", ended_by="no_answer")


def bodies(schema: Any, path: str, method: str) -> list[Any]:
    operation = schema[path][method.upper()]
    if "requestBody" not in operation.definition.raw:
        return [None]
    strategy = operation.as_strategy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        return [strategy.example().body for _ in range(BODIES_PER_ROUTE)]


async def test_no_operator_route_reaches_another_tenants_rows(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon: Daemon = await start_daemon()
    assert daemon.pool is not None
    _, a_token = await operator(http, daemon, "tenant-a")
    b_id, b_token = await operator(http, daemon, "tenant-b")
    await seed(http, daemon, b_token, b_id)
    b_ids = await owned_ids(daemon.pool, b_id)
    # ids come from per-table sequences, so B's caller, counsellor and group share small numbers
    assert {"1", "2"} <= b_ids and any(len(i) == 36 for i in b_ids), b_ids

    status, doc = await call(http, daemon, "GET", "/api/v1/openapi.json", headers={})
    assert status == 200
    schema = schemathesis.openapi.from_dict(doc)
    routes = [
        (path, method)
        for path, item in doc["paths"].items()
        if path.startswith("/api/v1/operator/") and _PARAM.search(path)
        for method in item
    ]
    assert len(routes) >= 10, routes

    before = await snapshot(daemon.pool)
    swept = 0
    for path, method in routes:
        for body in bodies(schema, path, method):
            absent = await call(
                http, daemon, method.upper(), _PARAM.sub(str(NEVER_ISSUED), path), body, headers=a_token
            )
            assert absent[0] in (400, 404, 422), (path, method, body, absent)
            for owned in b_ids:
                got = await call(http, daemon, method.upper(), _PARAM.sub(owned, path), body, headers=a_token)
                if got[0] == 404 or absent[0] != 404:
                    assert got[0] in (400, 404, 422), (path, method, owned, body, got)
                else:
                    pytest.fail(f"{method.upper()} {path} with B's id {owned}: {got} (an unknown id gets {absent})")
                swept += 1
    assert swept >= len(routes) * len(b_ids)
    assert await snapshot(daemon.pool) == before, "a request with another tenant's token changed data"
