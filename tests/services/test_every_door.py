"""The same change through the API, the console and the CLI: each leaves its audit row (real PostgreSQL).

Before the service layer only the console wrote audit rows; these tests fail
on that code for the API and the CLI.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest

from daemon import cli
from daemon.app import Daemon
from daemon.repositories import audit, console_users, tenants
from tests.conftest import DaemonFactory
from tests.console.client import PASSWORD, Browser
from tests.http.test_status_admin import call

OP = "/api/v1/operator"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _pool(daemon: Daemon) -> asyncpg.Pool:
    assert daemon.pool is not None
    return daemon.pool


async def _cli(monkeypatch: pytest.MonkeyPatch, db_dsn: str, *argv: str) -> int:
    monkeypatch.setenv("CALLD_DATABASE_URL", db_dsn)
    return await asyncio.to_thread(cli.main, list(argv))


async def _tenant_token(http: aiohttp.ClientSession, daemon: Daemon, tenant_id: int) -> dict[str, str]:
    status, token = await call(http, daemon, "POST", f"/api/v1/tenants/{tenant_id}/tokens", {"label": "desk"})
    assert status == 201
    return {"Authorization": f"Bearer {token['token']}"}


async def test_a_lines_change_is_audited_through_the_api_the_console_and_the_cli(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = await start_daemon()
    pool = _pool(daemon)
    tenant = await tenants.create_tenant(pool, "acme", 1)
    await console_users.create(pool, "platform", PASSWORD, "admin", None)

    assert (await call(http, daemon, "PUT", f"/api/v1/tenants/{tenant}/lines", {"lines": 2}))[0] == 200
    browser = Browser(daemon)
    try:
        await browser.login("platform")
        page = await browser.post(f"/console/admin/tenants/{tenant}/lines", {"lines": "3"})
        assert page.status == 200
    finally:
        await browser.close()
    assert await _cli(monkeypatch, db_dsn, "lines", "set", str(tenant), "4") == 0

    rows = [r for r in reversed(await audit.recent(pool)) if r.action == "tenant.lines"]
    assert [(r.actor_kind, r.tenant_id, r.before, r.after) for r in rows] == [
        ("admin_token", tenant, {"lines": 1}, {"lines": 2}),
        ("console", tenant, {"lines": 2}, {"lines": 3}),
        ("cli", tenant, {"lines": 3}, {"lines": 4}),
    ]
    assert rows[0].login == "admin-api" and rows[0].remote == "127.0.0.1"
    assert rows[1].login == "platform" and rows[2].login.startswith("cli:")
    assert (await tenants.get_tenant(pool, tenant)).lines == 4


async def test_numbers_tokens_and_users_from_the_cli_are_audited(
    start_daemon: DaemonFactory, db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = await start_daemon()
    pool = _pool(daemon)
    assert await _cli(monkeypatch, db_dsn, "tenant", "create", "acme", "--lines", "1") == 0
    tenant = await tenants.tenant_id_by_name(pool, "acme")
    assert await _cli(monkeypatch, db_dsn, "number", "add", str(tenant), "0312345678", "--product", "ivr") == 0
    assert await _cli(monkeypatch, db_dsn, "forwarding", "set", str(tenant), "on") == 0
    assert await _cli(monkeypatch, db_dsn, "token", "create", str(tenant), "--label", "desk") == 0
    monkeypatch.setattr("sys.stdin", _Line(PASSWORD))
    assert await _cli(monkeypatch, db_dsn, "user", "add", "op1", "--role", "operator", "--tenant", str(tenant)) == 0
    assert await _cli(monkeypatch, db_dsn, "number", "remove", "0312345678") == 0
    # refused: the number is gone; nothing is written, not even an audit row
    assert await _cli(monkeypatch, db_dsn, "number", "remove", "0312345678") == 1

    rows = list(reversed(await audit.recent(pool)))
    assert [r.action for r in rows] == [
        "tenant.create",
        "tenant.number.add",
        "tenant.forwarding",
        "token.create",
        "console_user.create",
        "tenant.number.remove",
    ]
    assert {r.actor_kind for r in rows} == {"cli"} and {r.tenant_id for r in rows} == {tenant}
    assert rows[5].before == {"number": "0312345678", "product": "ivr"} and rows[5].after is None
    assert all("ctk_" not in str(r.after) and PASSWORD not in str(r.after) for r in rows)


class _Line:
    """stdin that is not a terminal: the CLI reads the password from its first line."""

    def __init__(self, text: str) -> None:
        self._text = text

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return self._text + "\n"


async def test_operator_api_changes_are_audited_with_the_token_and_the_tenant(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon = await start_daemon()
    pool = _pool(daemon)
    mine, theirs = await tenants.create_tenant(pool, "mine", 1), await tenants.create_tenant(pool, "theirs", 1)
    token, other = await _tenant_token(http, daemon, mine), await _tenant_token(http, daemon, theirs)

    status, caller = await call(
        http,
        daemon,
        "POST",
        f"{OP}/callers",
        {"name": "山田", "numbers": ["09011112222"], "billing": "prepaid", "payment_method": "bank_transfer"},
        headers=token,
    )
    assert status == 201
    deposit = {"amount_yen": 3000, "idempotency_key": "k1"}
    assert (await call(http, daemon, "POST", f"{OP}/callers/{caller['id']}/deposits", deposit, headers=token))[0] == 201
    # a replay books nothing and writes no second row; a refusal writes nothing
    assert (await call(http, daemon, "POST", f"{OP}/callers/{caller['id']}/deposits", deposit, headers=token))[0] == 200
    too_much = {"amount_yen": -5000, "memo": "fix"}
    status, _ = await call(http, daemon, "POST", f"{OP}/callers/{caller['id']}/adjustments", too_much, headers=token)
    assert status == 409
    counsellor = {"name": "佐藤", "phone_number": "09033334444"}
    status, made = await call(http, daemon, "POST", f"{OP}/counsellors", counsellor, headers=token)
    assert status == 201
    path = f"{OP}/counsellors/{made['id']}/duty"
    assert (await call(http, daemon, "PUT", path, {"on_duty": True}, headers=token))[0] == 200
    theirs_counsellor = {"name": "x", "phone_number": "09055556666"}
    assert (await call(http, daemon, "POST", f"{OP}/counsellors", theirs_counsellor, headers=other))[0] == 201

    rows = [r for r in reversed(await audit.recent(pool, mine)) if r.actor_kind == "tenant_token"]
    assert [r.action for r in rows] == ["caller.create", "ledger.deposit", "counsellor.create", "counsellor.duty"]
    assert {r.login for r in rows} == {f"tenant-token:{mine}"}
    assert rows[1].before == {"balance_yen": 0}
    assert rows[1].after == {"amount_yen": 3000, "balance_yen": 3000, "memo": ""}
    assert (rows[3].before, rows[3].after) == ({"on_duty": False}, {"on_duty": True})

    # the tenant reads its own log only; the admin reads every tenant's, filtered
    status, own = await call(http, daemon, "GET", f"{OP}/audit", headers=token)
    assert status == 200 and {e["tenant_id"] for e in own["entries"]} == {mine}
    status, asked = await call(http, daemon, "GET", f"{OP}/audit?tenant_id={theirs}", headers=token)
    assert status == 200 and asked["entries"] == []
    assert (await call(http, daemon, "GET", "/api/v1/audit", headers=token))[0] == 401

    status, found = await call(http, daemon, "GET", f"/api/v1/audit?object=caller%20{caller['id']}&tenant_id={mine}")
    assert status == 200 and [e["action"] for e in found["entries"]] == ["ledger.deposit", "caller.create"]
    status, by_token = await call(http, daemon, "GET", f"/api/v1/audit?actor=tenant-token:{theirs}")
    assert status == 200 and [e["action"] for e in by_token["entries"]] == ["counsellor.create"]
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    status, later = await call(http, daemon, "GET", "/api/v1/audit", params={"since": soon})
    assert status == 200 and later["entries"] == []
    status, paged = await call(http, daemon, "GET", "/api/v1/audit?limit=2")
    assert status == 200 and len(paged["entries"]) == 2 and paged["next_before_id"] == paged["entries"][-1]["id"]
    assert (await call(http, daemon, "GET", "/api/v1/audit?limit=0"))[0] == 422

    _, document = await call(http, daemon, "GET", "/api/v1/openapi.json")
    params = {p["name"] for p in document["paths"]["/api/v1/audit"]["get"]["parameters"]}
    assert {"since", "until", "actor", "object", "action"} <= params


async def test_the_console_audit_log_reads_in_japanese(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon = await start_daemon()
    pool = _pool(daemon)
    tenant = await tenants.create_tenant(pool, "acme", 1)
    await console_users.create(pool, "op1", PASSWORD, "operator", tenant)
    token = await _tenant_token(http, daemon, tenant)
    body = {"name": "山田", "numbers": ["09011112222"], "billing": "prepaid", "payment_method": "bank_transfer"}
    status, caller = await call(http, daemon, "POST", f"{OP}/callers", body, headers=token)
    assert status == 201
    changed = {**body, "billing": "postpaid", "credit_limit_yen": 5000}
    assert (await call(http, daemon, "PUT", f"{OP}/callers/{caller['id']}", changed, headers=token))[0] == 200

    browser = Browser(daemon)
    try:
        page = await browser.login("op1", next_path="/console/audit")
        assert page.status == 200
        assert page.has(f"利用者 #{caller['id']}：利用者の設定を変更しました")
        assert page.has("請求方法: 前払い → 後払い") and page.has("与信枠: — → 5,000円")
        assert page.has(f"運営者APIトークン（{tenant}）")
        assert not page.has('{"billing"')  # no raw JSON
        narrowed = await browser.get("/console/audit?object=counsellor")
        assert narrowed.has("条件に合う記録はありません")
    finally:
        await browser.close()
