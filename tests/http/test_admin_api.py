"""The admin API, endpoint by endpoint: success, every 4xx, and nothing half-written (real database)."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import asyncpg
import pytest

from daemon.app import Daemon
from daemon.repositories import admission
from daemon.repositories.admission import Outcome
from tests.conftest import DaemonFactory
from tests.http.test_status_admin import ADMIN, call, url


async def create(http: aiohttp.ClientSession, daemon: Daemon, name: str, lines: int) -> dict[str, Any]:
    status, body = await call(http, daemon, "POST", "/api/v1/tenants", {"name": name, "lines": lines})
    assert status == 201, body
    assert isinstance(body, dict)
    return body


async def rows(pool: asyncpg.Pool) -> tuple[int, int, int, int]:
    """Row counts of everything the admin API writes."""
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM line_contracts),"
        " (SELECT count(*) FROM line_contract_changes), (SELECT count(*) FROM numbers)"
    )
    assert row is not None
    return row[0], row[1], row[2], row[3]


# Tenants.


async def test_create_tenant_returns_it_and_where_it_lives(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    async with http.post(
        url(daemon, "/api/v1/tenants"), json={"name": "  株式会社アクメ  ", "lines": 5}, headers=ADMIN
    ) as resp:
        assert resp.status == 201
        body = await resp.json()
        location = resp.headers["Location"]
    assert body == {"id": body["id"], "name": "株式会社アクメ", "lines": 5, "live_calls": 0, "numbers": []}
    assert location == f"/api/v1/tenants/{body['id']}"
    assert (await call(http, daemon, "GET", location))[1] == body
    assert await rows(pool) == (1, 1, 1, 0)  # tenant, contract, and the contract's first change


async def test_list_and_get_tenants_with_numbers_and_live_calls(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    assert (await call(http, daemon, "GET", "/api/v1/tenants")) == (200, {"tenants": []})
    acme = await create(http, daemon, "acme", 2)
    other = await create(http, daemon, "other", 0)
    for number, product in (("0312345678", "coaching"), ("0120123456", "ivr")):
        path = f"/api/v1/tenants/{acme['id']}/numbers"
        assert (await call(http, daemon, "POST", path, {"number": number, "product": product}))[0] == 201
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "node-b")).outcome is Outcome.ADMITTED

    status, one = await call(http, daemon, "GET", f"/api/v1/tenants/{acme['id']}")
    assert status == 200
    assert one == {
        "id": acme["id"],
        "name": "acme",
        "lines": 2,
        "live_calls": 1,
        "numbers": [{"number": "0120123456", "product": "ivr"}, {"number": "0312345678", "product": "coaching"}],
    }
    status, listing = await call(http, daemon, "GET", "/api/v1/tenants")
    assert status == 200
    assert listing["tenants"] == [one, {**other, "live_calls": 0, "numbers": []}]


@pytest.mark.parametrize("path", ["/api/v1/tenants/999999", "/api/v1/tenants/99999999999999999999999"])
async def test_unknown_tenant_is_404(start_daemon: DaemonFactory, http: aiohttp.ClientSession, path: str) -> None:
    daemon = await start_daemon()
    status, body = await call(http, daemon, "GET", path)
    assert status == 404
    tenant_id = path.rsplit("/", 1)[1]
    assert body["error"] in (f"no tenant with id {tenant_id}", f"no such tenant {tenant_id}") and body["detail"] == []


async def test_non_numeric_tenant_id_is_a_json_404(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    status, body = await call(http, daemon, "GET", "/api/v1/tenants/acme")
    assert status == 404 and body["error"]


async def test_duplicate_name_is_409_and_writes_nothing(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    await create(http, daemon, "acme", 1)
    status, body = await call(http, daemon, "POST", "/api/v1/tenants", {"name": " acme ", "lines": 7})
    assert status == 409
    assert "already exists" in body["error"]
    assert await rows(pool) == (1, 1, 1, 0)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "acme", "lines": -1}, "lines", "greater than or equal to 0"),
        ({"name": "acme", "lines": 100_001}, "lines", "less than or equal to 100000"),
        ({"name": "acme", "lines": "5"}, "lines", "valid integer"),
        ({"name": "acme", "lines": 2.5}, "lines", "valid integer"),
        ({"name": "acme", "lines": True}, "lines", "valid integer"),
        ({"name": "acme"}, "lines", "required"),
        ({"name": "", "lines": 1}, "name", "at least 1"),
        ({"name": "   ", "lines": 1}, "name", "empty"),
        ({"name": "x" * 201, "lines": 1}, "name", "at most 200"),
        ({"name": "ac\tme", "lines": 1}, "name", "control characters"),
        ({"name": "acme\u202e", "lines": 1}, "name", "control characters"),
        ({"name": 42, "lines": 1}, "name", "valid string"),
        ({"name": "acme", "lines": 1, "line": 2}, "line", "not permitted"),
    ],
)
async def test_invalid_tenant_is_422_with_the_field_and_writes_nothing(
    start_daemon: DaemonFactory,
    http: aiohttp.ClientSession,
    pool: asyncpg.Pool,
    body: dict[str, Any],
    field: str,
    words: str,
) -> None:
    daemon = await start_daemon()
    status, payload = await call(http, daemon, "POST", "/api/v1/tenants", body)
    assert status == 422
    assert payload["error"].startswith(f"{field}: ") and words in payload["error"]
    assert [d["loc"] for d in payload["detail"]] == [["body", field]]
    assert await rows(pool) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("raw", "status", "words"),
    [
        (b'{"name": "acme", "lines": ', 400, "not valid JSON"),
        (b"name=acme&lines=1", 400, "not valid JSON"),
        (b"\xff\xfe\x00", 400, "not valid JSON"),
        (b"", 400, "empty"),
        (b"   ", 400, "empty"),
        (b'[{"name": "acme", "lines": 1}]', 422, "object"),
        (b"null", 422, "object"),
    ],
)
async def test_unreadable_bodies(
    start_daemon: DaemonFactory,
    http: aiohttp.ClientSession,
    pool: asyncpg.Pool,
    raw: bytes,
    status: int,
    words: str,
) -> None:
    daemon = await start_daemon()
    async with http.post(url(daemon, "/api/v1/tenants"), data=raw, headers=ADMIN) as resp:
        assert resp.status == status
        assert resp.content_type == "application/json"
        assert words in (await resp.json())["error"]
    assert await rows(pool) == (0, 0, 0, 0)


async def test_oversized_body_is_413(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    raw = b'{"name": "' + b"x" * 100_000 + b'", "lines": 1}'
    async with http.post(url(daemon, "/api/v1/tenants"), data=raw, headers=ADMIN) as resp:
        assert resp.status == 413
        assert (await resp.json())["error"]


async def test_wrong_method_is_405_with_allow(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    async with http.patch(url(daemon, "/api/v1/tenants"), json={}, headers=ADMIN) as resp:
        assert resp.status == 405
        assert {"GET", "POST"} <= set(resp.headers["Allow"].split(","))
        assert "PATCH" in (await resp.json())["error"]


# Lines.


async def test_set_lines_records_the_change_and_governs_the_next_admission(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    tenant = await create(http, daemon, "acme", 1)
    path = f"/api/v1/tenants/{tenant['id']}"
    assert (await call(http, daemon, "POST", f"{path}/numbers", {"number": "0312345678", "product": "ivr"}))[0] == 201

    first = await admission.admit(pool, uuid.uuid4(), "0312345678", "node-a")
    assert first.outcome is Outcome.ADMITTED
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "node-b")).outcome is Outcome.BUSY

    status, body = await call(http, daemon, "PUT", f"{path}/lines", {"lines": 2})
    assert (status, body) == (200, {"tenant_id": tenant["id"], "lines": 2, "previous_lines": 1})
    second = await admission.admit(pool, uuid.uuid4(), "0312345678", "node-b")
    assert (second.outcome, second.lines, second.in_use) == (Outcome.ADMITTED, 2, 2)

    status, body = await call(http, daemon, "PUT", f"{path}/lines", {"lines": 0})
    assert body["previous_lines"] == 2
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "node-a")).outcome is Outcome.BUSY
    assert (await call(http, daemon, "GET", path))[1]["lines"] == 0

    changes = await pool.fetch(
        "SELECT old_lines, new_lines FROM line_contract_changes WHERE tenant_id = $1 ORDER BY id", tenant["id"]
    )
    assert [tuple(c) for c in changes] == [(None, 1), (1, 2), (2, 0)]


@pytest.mark.parametrize(
    ("body", "status"),
    [({"lines": 100_001}, 422), ({"lines": -5}, 422), ({"lines": None}, 422), ({}, 422), ({"lines": 3}, 404)],
)
async def test_set_lines_errors_change_nothing(
    start_daemon: DaemonFactory,
    http: aiohttp.ClientSession,
    pool: asyncpg.Pool,
    body: dict[str, Any],
    status: int,
) -> None:
    daemon = await start_daemon()
    tenant = await create(http, daemon, "acme", 4)
    target = tenant["id"] if status == 422 else tenant["id"] + 1000
    got, payload = await call(http, daemon, "PUT", f"/api/v1/tenants/{target}/lines", body)
    assert got == status and payload["error"]
    assert await pool.fetchval("SELECT lines FROM line_contracts WHERE tenant_id = $1", tenant["id"]) == 4
    assert await rows(pool) == (1, 1, 1, 0)


# Numbers.


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("0312345678", "0312345678"),
        ("+81312345678", "0312345678"),
        ("0120123456", "0120123456"),
        ("08001234567", "08001234567"),
        ("+818001234567", "08001234567"),
        ("05012345678", "05012345678"),
        (" 0612345678 ", "0612345678"),
        ("03-1234-5678", "0312345678"),  # as people write them
        ("０３１２３４５６７８", "0312345678"),
    ],
)
async def test_add_number_normalises_and_routes_calls(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool, given: str, stored: str
) -> None:
    daemon = await start_daemon()
    tenant = await create(http, daemon, "acme", 1)
    status, body = await call(
        http, daemon, "POST", f"/api/v1/tenants/{tenant['id']}/numbers", {"number": given, "product": "coaching"}
    )
    assert (status, body) == (201, {"number": stored, "tenant_id": tenant["id"], "product": "coaching"})
    decided = await admission.admit(pool, uuid.uuid4(), stored, "node-a")
    assert (decided.outcome, decided.tenant_id, decided.product) == (Outcome.ADMITTED, tenant["id"], "coaching")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"number": "03-1234-567a", "product": "ivr"}, "digits only"),
        ({"number": "03-1234\r\n5678", "product": "ivr"}, "digits only"),
        ({"number": "031234567", "product": "ivr"}, "10 or 11 digits"),
        ({"number": "031234567890", "product": "ivr"}, "10 or 11 digits"),
        ({"number": "03123456789", "product": "ivr"}, "have 10"),
        ({"number": "0501234567", "product": "ivr"}, "have 11"),
        ({"number": "0012345678", "product": "ivr"}, "start with 0"),
        ({"number": "3123456789", "product": "ivr"}, "start with 0"),
        ({"number": "+1 2025550123", "product": "ivr"}, "digits only"),
        ({"number": 312345678, "product": "ivr"}, "valid string"),
        ({"number": "0312345678", "product": "sip"}, "'coaching', 'ivr' or 'duty'"),
        ({"number": "0312345678"}, "required"),
    ],
)
async def test_bad_numbers_are_422_and_write_nothing(
    start_daemon: DaemonFactory,
    http: aiohttp.ClientSession,
    pool: asyncpg.Pool,
    body: dict[str, Any],
    words: str,
) -> None:
    daemon = await start_daemon()
    tenant = await create(http, daemon, "acme", 1)
    status, payload = await call(http, daemon, "POST", f"/api/v1/tenants/{tenant['id']}/numbers", body)
    assert status == 422
    assert words in payload["error"], payload
    assert await rows(pool) == (1, 1, 1, 0)


async def test_number_conflicts_and_unknown_tenants(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    acme = await create(http, daemon, "acme", 1)
    other = await create(http, daemon, "other", 1)
    number = {"number": "0312345678", "product": "ivr"}
    assert (await call(http, daemon, "POST", f"/api/v1/tenants/{acme['id']}/numbers", number))[0] == 201
    status, body = await call(
        http, daemon, "POST", f"/api/v1/tenants/{other['id']}/numbers", {**number, "number": "+81312345678"}
    )
    assert status == 409 and "already assigned" in body["error"]
    status, body = await call(
        http, daemon, "POST", "/api/v1/tenants/424242/numbers", {**number, "number": "0120000000"}
    )
    assert status == 404 and "no tenant" in body["error"]
    assigned = [tuple(r) for r in await pool.fetch("SELECT number, tenant_id FROM numbers")]
    assert assigned == [("0312345678", acme["id"])]


async def test_remove_number_takes_it_out_of_service(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    tenant = await create(http, daemon, "acme", 1)
    path = f"/api/v1/tenants/{tenant['id']}/numbers"
    for number in ("0312345678", "0120123456"):
        assert (await call(http, daemon, "POST", path, {"number": number, "product": "ivr"}))[0] == 201

    assert await call(http, daemon, "DELETE", "/api/v1/numbers/0312345678") == (204, "")
    assert await call(http, daemon, "DELETE", "/api/v1/numbers/+81120123456") == (204, "")
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "n")).outcome is Outcome.NOT_IN_SERVICE
    assert (await call(http, daemon, "GET", f"/api/v1/tenants/{tenant['id']}"))[1]["numbers"] == []

    status, body = await call(http, daemon, "DELETE", "/api/v1/numbers/0312345678")
    assert status == 404 and "not assigned" in body["error"]


@pytest.mark.parametrize("number", ["abc", "03-1234-567a", "0501234567", "123456", "031234567890"])
async def test_removing_a_number_follows_the_rule_of_adding_it(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, number: str
) -> None:
    daemon = await start_daemon()
    tenant = await create(http, daemon, "acme", 1)
    added = await call(
        http, daemon, "POST", f"/api/v1/tenants/{tenant['id']}/numbers", {"number": number, "product": "ivr"}
    )
    removed = await call(http, daemon, "DELETE", f"/api/v1/numbers/{number}")
    assert added[0] == removed[0] == 422
    assert added[1]["error"] == removed[1]["error"]  # one rule, one sentence
    assert "6 to 15" not in removed[1]["error"]
    assert removed[1]["detail"][0]["loc"] == ["path", "number"]
