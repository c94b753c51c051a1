"""The Coaching Dial operator API: tenant-scoped tokens, CRUD, money, call records (real database)."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from daemon.app import Daemon
from daemon.repositories import call_records, callers, counsellors, ledger
from daemon.rules.billing.charges import Tariff
from tests.conftest import DaemonFactory
from tests.http.test_status_admin import ADMIN, call

OP = "/api/v1/operator"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def operator(http: aiohttp.ClientSession, daemon: Daemon, name: str) -> tuple[int, dict[str, str]]:
    status, tenant = await call(http, daemon, "POST", "/api/v1/tenants", {"name": name, "lines": 2})
    assert status == 201
    status, token = await call(http, daemon, "POST", f"/api/v1/tenants/{tenant['id']}/tokens", {"label": "desk"})
    assert status == 201 and token["token"].startswith("ctk_")
    return tenant["id"], {"Authorization": f"Bearer {token['token']}"}


CALLER = {"name": "Taro", "numbers": ["+819012345678"], "billing": "prepaid", "payment_method": "bank_transfer"}


async def test_tokens_are_scoped_to_one_tenant(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    _, other = await operator(http, daemon, "other")
    status, created = await call(http, daemon, "POST", f"{OP}/callers", CALLER, headers=acme)
    assert status == 201 and created["numbers"] == ["09012345678"] and created["balance_yen"] == 0
    assert (await call(http, daemon, "GET", f"{OP}/callers/{created['id']}", headers=other))[0] == 404
    assert (
        await call(http, daemon, "POST", f"{OP}/callers/{created['id']}/deposits", {"amount_yen": 100}, headers=other)
    )[0] == 404
    _, listed = await call(http, daemon, "GET", f"{OP}/callers", headers=other)
    assert listed == {"callers": []}
    assert (await call(http, daemon, "GET", "/api/v1/tenants", headers=acme))[0] == 401  # not an admin
    assert (await call(http, daemon, "GET", f"{OP}/callers", headers=ADMIN))[0] == 401  # not an operator
    assert (await call(http, daemon, "GET", f"{OP}/callers", headers={}))[0] == 401


async def test_revoked_token_stops_working(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    tenant_id, acme = await operator(http, daemon, "acme")
    token_id = (await call(http, daemon, "POST", f"/api/v1/tenants/{tenant_id}/tokens", {}))[1]["id"]
    assert (await call(http, daemon, "DELETE", f"/api/v1/tenants/{tenant_id}/tokens/{token_id}"))[0] == 204
    assert (await call(http, daemon, "GET", f"{OP}/callers", headers=acme))[0] == 200  # the other token lives


async def test_deposit_is_exactly_once(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    caller = (await call(http, daemon, "POST", f"{OP}/callers", CALLER, headers=acme))[1]
    path = f"{OP}/callers/{caller['id']}/deposits"
    body = {"amount_yen": 3000, "memo": "bank 11/25", "idempotency_key": "furikomi-0001"}
    results = await asyncio.gather(*(call(http, daemon, "POST", path, body, headers=acme) for _ in range(4)))
    assert sorted(status for status, _ in results) == [200, 200, 200, 201]
    assert len({entry["id"] for _, entry in results}) == 1
    assert sum(entry["replayed"] for _, entry in results) == 3
    status, _ = await call(http, daemon, "POST", path, {**body, "amount_yen": 5000}, headers=acme)
    assert status == 409
    status, book = await call(http, daemon, "GET", f"{OP}/callers/{caller['id']}/ledger", headers=acme)
    assert status == 200 and book["balance_yen"] == 3000
    assert [e["amount_yen"] for e in book["entries"]] == [3000]


@pytest.mark.parametrize("amount", [100.5, "100", 0, -5, True])
async def test_money_is_integer_yen(start_daemon: DaemonFactory, http: aiohttp.ClientSession, amount: Any) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    caller = (await call(http, daemon, "POST", f"{OP}/callers", CALLER, headers=acme))[1]
    status, body = await call(
        http, daemon, "POST", f"{OP}/callers/{caller['id']}/deposits", {"amount_yen": amount}, headers=acme
    )
    assert status == 422 and body["error"]
    assert (await call(http, daemon, "GET", f"{OP}/callers/{caller['id']}", headers=acme))[1]["balance_yen"] == 0


async def test_adjustments_never_take_prepaid_below_zero(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    caller = (await call(http, daemon, "POST", f"{OP}/callers", CALLER, headers=acme))[1]
    base = f"{OP}/callers/{caller['id']}"
    assert (await call(http, daemon, "POST", f"{base}/deposits", {"amount_yen": 500}, headers=acme))[0] == 201
    status, body = await call(http, daemon, "POST", f"{base}/adjustments", {"amount_yen": -600}, headers=acme)
    assert status == 409 and "below zero" in body["error"]
    assert (await call(http, daemon, "POST", f"{base}/adjustments", {"amount_yen": -200}, headers=acme))[0] == 201
    assert (await call(http, daemon, "POST", f"{base}/payouts", {"amount_yen": 50}, headers=acme))[0] == 201
    book = (await call(http, daemon, "GET", f"{base}/ledger", headers=acme))[1]
    assert book["balance_yen"] == sum(e["amount_yen"] for e in book["entries"]) == 250
    assert [e["balance_after"] for e in book["entries"]] == [500, 300, 250]
    assert [e["kind"] for e in book["entries"]] == ["deposit", "adjustment", "payout"]


async def book_of(http: aiohttp.ClientSession, daemon: Daemon, base: str, headers: dict[str, str]) -> dict[str, Any]:
    status, book = await call(http, daemon, "GET", f"{base}/ledger", headers=headers)
    assert status == 200 and isinstance(book, dict)
    return book


async def test_payouts_come_out_of_the_balance(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    """Issue 11 bug 5: a caller with no charges went from 6,000 to 1,006,499 yen through refunds."""
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    caller = (await call(http, daemon, "POST", f"{OP}/callers", CALLER, headers=acme))[1]
    base = f"{OP}/callers/{caller['id']}"
    assert (await call(http, daemon, "POST", f"{base}/deposits", {"amount_yen": 6000}, headers=acme))[0] == 201
    status, body = await call(http, daemon, "POST", f"{base}/refunds", {"amount_yen": 1_000_499}, headers=acme)
    assert status == 422 and "call_uuid or by charge_id" in body["error"] and "payouts" in body["error"]
    status, body = await call(http, daemon, "POST", f"{base}/payouts", {"amount_yen": 6001}, headers=acme)
    assert status == 409 and "6,000 yen cannot pay out 6,001 yen" in body["error"]
    assert (await book_of(http, daemon, base, acme))["balance_yen"] == 6000
    payout = {"amount_yen": 6000, "memo": "returned", "idempotency_key": "pay-1"}
    status, entry = await call(http, daemon, "POST", f"{base}/payouts", payout, headers=acme)
    assert status == 201 and (entry["kind"], entry["amount_yen"], entry["balance_after"]) == ("payout", -6000, 0)
    status, again = await call(http, daemon, "POST", f"{base}/payouts", payout, headers=acme)
    assert status == 200 and again["replayed"] is True and again["id"] == entry["id"]
    status, _ = await call(http, daemon, "POST", f"{base}/payouts", {**payout, "amount_yen": 1}, headers=acme)
    assert status == 409
    book = await book_of(http, daemon, base, acme)
    assert book["balance_yen"] == 0 and len(book["entries"]) == 2


async def test_refund_of_a_charge_at_most_once(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    tenant_id, acme = await operator(http, daemon, "acme")
    caller = (await call(http, daemon, "POST", f"{OP}/callers", CALLER, headers=acme))[1]
    base = f"{OP}/callers/{caller['id']}"
    assert (await call(http, daemon, "POST", f"{base}/deposits", {"amount_yen": 1000}, headers=acme))[0] == 201
    call_uuid = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        assert await ledger.charge_call(conn, tenant_id, caller["id"], 500, call_uuid=call_uuid, memo="call") == 500
    charge_id = (await book_of(http, daemon, base, acme))["entries"][-1]["id"]
    refund = f"{base}/refunds"
    status, body = await call(
        http, daemon, "POST", refund, {"amount_yen": 501, "call_uuid": str(call_uuid)}, headers=acme
    )
    assert status == 409 and "at most 500 yen can be refunded" in body["error"]
    status, entry = await call(http, daemon, "POST", refund, {"amount_yen": 499, "charge_id": charge_id}, headers=acme)
    assert status == 201 and entry["refund_of"] == charge_id and entry["call_uuid"] == str(call_uuid)
    status, body = await call(
        http, daemon, "POST", refund, {"amount_yen": 2, "call_uuid": str(call_uuid)}, headers=acme
    )
    assert status == 409 and "at most 1 yen" in body["error"]
    assert (await call(http, daemon, "POST", refund, {"amount_yen": 1, "charge_id": charge_id}, headers=acme))[0] == 201
    status, body = await call(http, daemon, "POST", refund, {"amount_yen": 1, "charge_id": charge_id}, headers=acme)
    assert status == 409
    for wrong in (
        {"amount_yen": 1, "call_uuid": str(uuid.uuid4())},
        {"amount_yen": 1, "charge_id": charge_id, "call_uuid": str(call_uuid)},
        {"amount_yen": 1, "call_uuid": "not-a-uuid"},
    ):
        status, body = await call(http, daemon, "POST", refund, wrong, headers=acme)
        assert status == 422 and body["error"], wrong
    book = await book_of(http, daemon, base, acme)
    assert book["balance_yen"] == 1000 and [e["kind"] for e in book["entries"]] == [
        "deposit",
        "charge",
        "refund",
        "refund",
    ]


async def test_adjustments_respect_the_credit_limit(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    """Issue 11 bug 6: a caller with a 5,000 yen limit reached -12,000,999,999 yen."""
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    card = {**CALLER, "billing": "postpaid", "payment_method": "card", "credit_limit_yen": 5000}
    caller = (await call(http, daemon, "POST", f"{OP}/callers", card, headers=acme))[1]
    base = f"{OP}/callers/{caller['id']}"
    status, body = await call(http, daemon, "POST", f"{base}/adjustments", {"amount_yen": -5001}, headers=acme)
    assert status == 409 and "credit limit of 5,000 yen" in body["error"]
    status, body = await call(
        http, daemon, "POST", f"{base}/adjustments", {"amount_yen": -12_000_999_999}, headers=acme
    )
    assert status == 422 and body["error"]
    assert (await call(http, daemon, "POST", f"{base}/adjustments", {"amount_yen": -5000}, headers=acme))[0] == 201
    assert (await call(http, daemon, "POST", f"{base}/adjustments", {"amount_yen": -1}, headers=acme))[0] == 409
    assert (await book_of(http, daemon, base, acme))["balance_yen"] == -5000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("deposits", {"amount_yen": 100_000_001}),
        ("payouts", {"amount_yen": 100_000_001}),
        ("adjustments", {"amount_yen": -100_000_001}),
        ("refunds", {"amount_yen": 100_000_001, "charge_id": 1}),
        ("deposits", {"amount_yen": 2**63}),
        ("payouts", {"amount_yen": 0}),
    ],
)
async def test_money_fields_are_bounded(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, path: str, body: dict[str, Any]
) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    caller = (await call(http, daemon, "POST", f"{OP}/callers", CALLER, headers=acme))[1]
    status, payload = await call(http, daemon, "POST", f"{OP}/callers/{caller['id']}/{path}", body, headers=acme)
    assert status == 422 and payload["error"]
    too_big = [
        ({**CALLER, "billing": "postpaid", "credit_limit_yen": 1_000_000_001}, "callers"),
        ({"code": "1", "name": "g", "rate_yen_per_min": 100_001}, "groups"),
        ({"code": "1", "name": "g", "rate_yen_per_min": 100, "minimum_charge_yen": 1_000_001}, "groups"),
    ]
    for over, where in too_big:
        status, payload = await call(http, daemon, "POST", f"{OP}/{where}", over, headers=acme)
        assert status == 422 and payload["error"], over


async def test_caller_rules_and_nothing_half_written(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    status, body = await call(http, daemon, "POST", f"{OP}/callers", {**CALLER, "payment_method": "card"}, headers=acme)
    assert status == 422 and "postpaid" in body["error"]
    assert (await call(http, daemon, "POST", f"{OP}/callers", CALLER, headers=acme))[0] == 201
    dup = {**CALLER, "name": "Jiro", "numbers": ["09099998888", "09012345678"]}
    assert (await call(http, daemon, "POST", f"{OP}/callers", dup, headers=acme))[0] == 409
    assert await pool.fetchval("SELECT count(*) FROM callers") == 1
    assert await pool.fetchval("SELECT count(*) FROM caller_numbers") == 1
    card = {
        **CALLER,
        "name": "Hanako",
        "numbers": [],
        "billing": "postpaid",
        "payment_method": "card",
        "credit_limit_yen": 20000,
    }
    assert (await call(http, daemon, "POST", f"{OP}/callers", card, headers=acme))[0] == 201


async def test_counsellors_groups_crud(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    ids = []
    for i in range(2):
        status, c = await call(
            http,
            daemon,
            "POST",
            f"{OP}/counsellors",
            {"name": f"c{i}", "phone_number": f"0801111000{i}"},
            headers=acme,
        )
        assert status == 201 and c["on_duty"] is False and c["in_call"] is False
        ids.append(c["id"])
    for bad in (
        {"name": "x", "dial_string": "sofia/gateway/carrier/0801"},  # raw dial strings are the admin's
        {"name": "x", "phone_number": "0801\napi uuid_kill all"},
        {"name": "x"},
    ):
        assert (await call(http, daemon, "POST", f"{OP}/counsellors", bad, headers=acme))[0] == 422, bad
    status, c = await call(http, daemon, "PUT", f"{OP}/counsellors/{ids[0]}/duty", {"on_duty": True}, headers=acme)
    assert status == 200 and c["on_duty"] is True
    group = {"code": "12", "name": "tarot", "rate_yen_per_min": 300, "members": ids, "strategy": "round_robin"}
    status, g = await call(http, daemon, "POST", f"{OP}/groups", group, headers=acme)
    assert status == 201 and g["members"] == ids
    assert (await call(http, daemon, "POST", f"{OP}/groups", group, headers=acme))[0] == 409
    assert (await call(http, daemon, "POST", f"{OP}/groups", {**group, "rate_yen_per_min": 1.5}, headers=acme))[
        0
    ] == 422
    status, g = await call(http, daemon, "PUT", f"{OP}/groups/{g['id']}/members", {"members": ids[::-1]}, headers=acme)
    assert status == 200 and g["members"] == ids[::-1]
    assert (await call(http, daemon, "DELETE", f"{OP}/counsellors/{ids[1]}", headers=acme))[0] == 204
    assert (await call(http, daemon, "GET", f"{OP}/groups/{g['id']}", headers=acme))[1]["members"] == [ids[0]]


async def test_call_records_json_and_csv(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    tenant_id, acme = await operator(http, daemon, "acme")
    caller = (await call(http, daemon, "POST", f"{OP}/callers", {**CALLER, "name": "=HYPERLINK()"}, headers=acme))[1]
    who = await callers.caller(pool, caller["id"])
    assert who is not None
    for _ in range(3):
        await call_records.open_record(
            pool,
            uuid.uuid4(),
            tenant_id=tenant_id,
            node_id="n",
            caller=who,
            caller_number="=1+1",
            group_id=None,
            tariff=Tariff(300),
            created_us=0,
        )
    status, listed = await call(http, daemon, "GET", f"{OP}/calls?limit=2&caller_id={caller['id']}", headers=acme)
    assert status == 200 and len(listed["calls"]) == 2
    assert (await call(http, daemon, "GET", f"{OP}/calls?since=yesterday", headers=acme))[0] == 422
    assert (await call(http, daemon, "GET", f"{OP}/calls?limit=5000", headers=acme))[0] == 422
    async with http.get(f"http://127.0.0.1:{daemon.http_port}{OP}/calls.csv", headers=acme) as resp:
        assert resp.status == 200 and resp.content_type == "text/csv"
        lines = (await resp.text()).strip().splitlines()
    assert lines[0].startswith("call_uuid,created_at,caller_id")
    assert len(lines) == 4
    assert all("'=1+1" in line for line in lines[1:])  # no spreadsheet formulas


async def test_openapi_documents_the_operator_api(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    doc = (await call(http, daemon, "GET", "/api/v1/openapi.json", headers={}))[1]
    for path in (
        "/api/v1/operator/callers/{id}/deposits",
        "/api/v1/operator/callers/{id}/payouts",
        "/api/v1/operator/callers/{id}/refunds",
        "/api/v1/tenants/{tenant_id}/counsellors/{id}/dial_string",
        "/api/v1/operator/groups",
        "/api/v1/operator/calls.csv",
        "/api/v1/tenants/{tenant_id}/tokens",
    ):
        assert path in doc["paths"], path
    refund = doc["paths"]["/api/v1/operator/callers/{id}/refunds"]["post"]
    assert {"200", "201", "409", "422"} <= set(refund["responses"])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/groups", {"code": "1", "name": "g", "rate_yen_per_min": 100, "members": "DUP"}),
        ("/groups", {"code": "1", "name": "g", "rate_yen_per_min": 100, "members": ["1"]}),
        ("/groups", {"code": "1", "name": "g", "rate_yen_per_min": 100, "members": [1.0]}),
        ("/groups", {"code": "1", "name": "g", "rate_yen_per_min": 100, "members": [2**70]}),
        ("/counsellors", {"name": "a", "phone_number": "09011112222", "on_duty": "yes"}),
        ("/counsellors", {"name": "a", "phone_number": 9011112222}),
    ],
)
async def test_lax_values_are_refused(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, path: str, body: dict[str, Any]
) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    member = (
        await call(
            http,
            daemon,
            "POST",
            f"{OP}/counsellors",
            {"name": "m", "phone_number": "09000000000"},
            headers=acme,
        )
    )[1]["id"]
    if body.get("members") == "DUP":
        body = {**body, "members": [member, member]}
    status, payload = await call(http, daemon, "POST", f"{OP}{path}", body, headers=acme)
    assert status == 422, payload
    assert (await call(http, daemon, "GET", f"{OP}/groups", headers=acme))[1] == {"groups": []}


@pytest.mark.parametrize(
    "query", ["caller_id=99999999999999999999999", "state=bogus", "from=2026-01-01", "limit=0", "since=yesterday"]
)
async def test_bad_call_filters_are_422(start_daemon: DaemonFactory, http: aiohttp.ClientSession, query: str) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    status, payload = await call(http, daemon, "GET", f"{OP}/calls?{query}", headers=acme)
    assert status == 422 and payload["error"]
    assert (await call(http, daemon, "GET", f"{OP}/calls?since=2026-01-01T00:00:00", headers=acme))[0] == 200


async def test_review_findings_stay_fixed(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    """NUL in text, a replay with another memo, far-away dates, repeated filters, the PIN itself."""
    daemon = await start_daemon()
    tenant_id, acme = await operator(http, daemon, "acme")
    caller = (await call(http, daemon, "POST", f"{OP}/callers", {**CALLER, "pin": "1234"}, headers=acme))[1]
    assert caller["has_pin"] is True and "pin" not in caller
    base = f"{OP}/callers/{caller['id']}"
    for body in ({"amount_yen": 1, "memo": "a\x00b"}, {"amount_yen": 1, "idempotency_key": "k\x00"}):
        assert (await call(http, daemon, "POST", f"{base}/deposits", body, headers=acme))[0] == 422
    assert (await call(http, daemon, "POST", f"/api/v1/tenants/{tenant_id}/tokens", {"label": "\x00"}))[0] == 422
    first = {"amount_yen": 100, "memo": "bank", "idempotency_key": "k1"}
    assert (await call(http, daemon, "POST", f"{base}/deposits", first, headers=acme))[0] == 201
    other_memo = {**first, "memo": "another transfer"}
    assert (await call(http, daemon, "POST", f"{base}/deposits", other_memo, headers=acme))[0] == 409
    for query in ("until=9999-12-31T23:59:59-14:00", "state=ended&state=talking"):
        assert (await call(http, daemon, "GET", f"{OP}/calls?{query}", headers=acme))[0] == 422
        async with http.get(f"http://127.0.0.1:{daemon.http_port}{OP}/calls.csv?{query}", headers=acme) as resp:
            assert resp.status == 422
    assert await pool.fetchval("SELECT balance_yen FROM callers WHERE id = $1", caller["id"]) == 100


async def test_undecodable_tokens_are_401_not_500(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    for path in ("/api/v1/tenants", f"{OP}/callers"):
        status, _ = await call(http, daemon, "GET", path, headers={"Authorization": "Bearer caf\xe9"})
        assert status == 401


@pytest.mark.parametrize(
    ("given", "stored"),
    [("09012345678", "09012345678"), ("+819012345678", "09012345678"), ("0312345678", "0312345678")],
)
async def test_counsellors_are_entered_by_phone_number(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, given: str, stored: str
) -> None:
    daemon = await start_daemon(counsellor_dial_template="sofia/gateway/ntt/{number}")
    _, acme = await operator(http, daemon, "acme")
    status, c = await call(
        http, daemon, "POST", f"{OP}/counsellors", {"name": "m", "phone_number": given}, headers=acme
    )
    assert status == 201
    assert (c["phone_number"], c["dial_string"], c["dial_override"]) == (stored, f"sofia/gateway/ntt/{stored}", False)


@pytest.mark.parametrize(
    "number", ["0901234567", "031234567", "+8190123456789", "090-1234-567x", "00012345678", "0990123456", "0570123456"]
)
async def test_counsellor_phone_numbers_are_checked(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, number: str
) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    status, body = await call(
        http, daemon, "POST", f"{OP}/counsellors", {"name": "m", "phone_number": number}, headers=acme
    )
    assert status == 422 and "phone_number" in body["error"]
    assert (await call(http, daemon, "GET", f"{OP}/counsellors", headers=acme))[1] == {"counsellors": []}


async def test_raw_dial_string_is_an_admin_override(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    tenant_id, acme = await operator(http, daemon, "acme")
    other_id, _ = await operator(http, daemon, "other")
    c = (
        await call(
            http, daemon, "POST", f"{OP}/counsellors", {"name": "m", "phone_number": "08011112222"}, headers=acme
        )
    )[1]
    assert c["dial_string"] == "sofia/gateway/carrier/08011112222"  # the default template
    path = f"/api/v1/tenants/{tenant_id}/counsellors/{c['id']}/dial_string"
    raw = {"dial_string": "sofia/external/08011112222@127.0.0.1:5090"}
    assert (await call(http, daemon, "PUT", path, raw, headers=acme))[0] == 401  # operators cannot
    assert (await call(http, daemon, "PUT", f"/api/v1/tenants/{other_id}/counsellors/{c['id']}/dial_string", raw))[
        0
    ] == 404
    for bad in ("sofia/x\napi uuid_kill all", "sofia/${system rm}", "ab"):
        assert (await call(http, daemon, "PUT", path, {"dial_string": bad}))[0] == 422, bad
    status, out = await call(http, daemon, "PUT", path, raw)
    assert status == 200 and out["dial_string"] == raw["dial_string"] and out["dial_override"] is True
    # the operator's edits keep the override; dropping it rings the phone number again
    put = {"name": "m2", "phone_number": "08011113333", "on_duty": True}
    status, out = await call(http, daemon, "PUT", f"{OP}/counsellors/{c['id']}", put, headers=acme)
    assert status == 200 and out["dial_string"] == raw["dial_string"] and out["phone_number"] == "08011113333"
    status, out = await call(http, daemon, "PUT", path, {"dial_string": None})
    assert status == 200 and out["dial_string"] == "sofia/gateway/carrier/08011113333" and not out["dial_override"]
    # a counsellor with only a raw dial string (the demo's) keeps it; removing it needs a phone number first
    raw_only = await counsellors.create(pool, tenant_id, name="raw", dial_string=raw["dial_string"])
    status, body = await call(
        http, daemon, "PUT", f"/api/v1/tenants/{tenant_id}/counsellors/{raw_only}/dial_string", {"dial_string": None}
    )
    assert status == 422 and "phone number" in body["error"]
    status, listed = await call(http, daemon, "GET", f"{OP}/counsellors", headers=acme)
    assert [x["dial_string"] for x in listed["counsellors"]] == [
        "sofia/gateway/carrier/08011113333",
        raw["dial_string"],
    ]


async def test_conflicts_and_rules_are_said_in_words(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    _, acme = await operator(http, daemon, "acme")
    assert (await call(http, daemon, "POST", f"{OP}/callers", CALLER, headers=acme))[0] == 201
    status, body = await call(http, daemon, "POST", f"{OP}/callers", {**CALLER, "name": "Jiro"}, headers=acme)
    assert status == 409
    assert body["error"] == (
        "a number in the request already belongs to another caller of this tenant;"
        " a number identifies exactly one caller"
    )
    pinned = {**CALLER, "numbers": [], "pin": "4321"}
    assert (await call(http, daemon, "POST", f"{OP}/callers", {**pinned, "name": "A"}, headers=acme))[0] == 201
    status, body = await call(http, daemon, "POST", f"{OP}/callers", {**pinned, "name": "B"}, headers=acme)
    assert status == 409 and body["error"].startswith("this PIN is already another caller's")
    status, body = await call(http, daemon, "POST", f"{OP}/callers", {**CALLER, "payment_method": "card"}, headers=acme)
    assert status == 422
    assert body["error"] == "card payers are postpaid: set billing to 'postpaid'"
    assert [d["msg"] for d in body["detail"]] == ["card payers are postpaid: set billing to 'postpaid'"]
    status, missing = await call(http, daemon, "POST", f"{OP}/groups", {}, headers=acme)
    assert status == 422
    for payload in (body, missing):
        assert "Value error" not in str(payload) and "_pkey" not in str(payload) and "_check" not in str(payload)


async def test_token_bodies_are_optional_and_labels_follow_the_name_rule(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    tenant = (await call(http, daemon, "POST", "/api/v1/tenants", {"name": "acme", "lines": 1}))[1]
    path = f"/api/v1/tenants/{tenant['id']}/tokens"
    async with http.post(f"http://127.0.0.1:{daemon.http_port}{path}", headers=ADMIN) as resp:  # no body at all
        assert resp.status == 201 and (await resp.json())["token"].startswith("ctk_")
    for label in ("desk\nadmin", "tab\there", "bell\x07"):
        status, body = await call(http, daemon, "POST", path, {"label": label})
        assert status == 422, label
        assert body["error"] == (
            "label: the label must not contain control characters (tabs, newlines, invisible formatting)"
        )
    status, body = await call(http, daemon, "POST", "/api/v1/tenants", {"name": "a\nb", "lines": 1})
    assert status == 422 and "must not contain control characters" in body["error"]
    assert (await call(http, daemon, "POST", path, {"label": "  front desk 受付 "}))[0] == 201
    labels = await pool.fetch("SELECT label FROM tenant_tokens ORDER BY id")
    assert [r["label"] for r in labels] == ["", "front desk 受付"]
    assert (await call(http, daemon, "POST", path, {"labels": "typo"}))[0] == 422  # unknown fields still refused


async def test_call_times_are_readable_and_zoneless_filters_are_tokyo(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    tenant_id, acme = await operator(http, daemon, "acme")
    caller = (await call(http, daemon, "POST", f"{OP}/callers", CALLER, headers=acme))[1]
    who = await callers.caller(pool, caller["id"])
    assert who is not None
    call_uuid = uuid.uuid4()
    await call_records.open_record(
        pool,
        call_uuid,
        tenant_id=tenant_id,
        node_id="n",
        caller=who,
        caller_number="09012345678",
        group_id=None,
        tariff=Tariff(300),
        created_us=0,
    )
    # 2026-12-01 00:30 UTC is 09:30 in Tokyo; the talk from 09:30:05.25 to 09:31:10 Tokyo time.
    answer_us = 1_796_085_005_250_000
    await pool.execute(
        # Ended, as such a call is: a record still open on node "n" (no heartbeat) would be
        # adopted from that dead node and closed by the daemon while the test reads it.
        "UPDATE call_records SET created_at = '2026-12-01 00:30:00+00', answer_us = $2, end_us = $3,"
        " state = 'ended' WHERE call_uuid = $1",
        call_uuid,
        answer_us,
        answer_us + 64_750_000,
    )
    for since, found in (("2026-12-01T09:00:00", 1), ("2026-12-01T09:31", 0), ("2026-12-01T00:00:00Z", 1)):
        _, listed = await call(http, daemon, "GET", f"{OP}/calls?since={since}", headers=acme)
        assert len(listed["calls"]) == found, since
    _, listed = await call(http, daemon, "GET", f"{OP}/calls?until=2026-12-01T09:30:01", headers=acme)
    assert len(listed["calls"]) == 1
    async with http.get(f"http://127.0.0.1:{daemon.http_port}{OP}/calls.csv", headers=acme) as resp:
        rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert list(rows[0])[:2] == ["call_uuid", "created_at"]
    assert list(rows[0]).index("answer_time") == list(rows[0]).index("answer_us") + 1
    assert list(rows[0]).index("end_time") == list(rows[0]).index("end_us") + 1
    [row] = rows
    assert row["created_at"] == "2026-12-01T09:30:00+09:00"
    assert row["answer_us"] == str(answer_us) and row["answer_time"] == "2026-12-01T09:30:05.250000+09:00"
    assert row["end_time"] == "2026-12-01T09:31:10+09:00"


async def test_openapi_describes_the_call_filters(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    doc = (await call(http, daemon, "GET", "/api/v1/openapi.json", headers={}))[1]
    for path in (f"{OP}/calls", f"{OP}/calls.csv"):
        params = {p["name"]: p for p in doc["paths"][path]["get"]["parameters"]}
        assert set(params) == {"since", "until", "caller_id", "counsellor_id", "group_id", "state", "limit", "offset"}
        assert all(p["in"] == "query" and p["required"] is False for p in params.values())
        assert params["since"]["schema"] == {"type": "string", "format": "date-time"}
        assert "Asia/Tokyo" in params["since"]["description"] and "Asia/Tokyo" in params["until"]["description"]
        assert params["state"]["schema"]["enum"] == ["hunting", "talking", "ended"]
        assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
    tokens = doc["paths"]["/api/v1/tenants/{tenant_id}/tokens"]["post"]
    assert tokens["requestBody"]["required"] is False
    assert doc["paths"]["/api/v1/tenants"]["post"]["requestBody"]["required"] is True
