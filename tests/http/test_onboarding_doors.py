"""Onboarding through the admin API and the CLI: the same steps as the console, the same refusals."""

from __future__ import annotations

import re

import aiohttp
import asyncpg
import pytest

from daemon.repositories import audit, billing_contacts, console_users
from daemon.repositories.console_users import Outcome
from daemon.services import invites
from tests.conftest import DaemonFactory
from tests.http.test_cli import env, run
from tests.http.test_status_admin import call

__all__ = ["env"]  # the CLI tests' fixture, used here by name

PASSWORD = "correct horse battery"
BODY = {
    "name": "さくら歯科",
    "product": "ivr",
    "number": "0345678901",
    "lines": 2,
    "forwarding": True,
    "billing_name": "医療法人さくら会 御中",
    "billing_address": "東京都渋谷区神宮前1-2-3",
    "billing_email": "office@sakura.example.jp",
    "first_user": {"login": "sakura", "display_name": "受付"},
}


async def test_the_api_onboards_from_the_pool_and_the_link_sets_the_password(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    status, added = await call(http, daemon, "POST", "/api/v1/number_pool", {"number": "+81345678901", "note": "A"})
    assert status == 201 and isinstance(added, dict) and added["number"] == "0345678901"
    status, _ = await call(http, daemon, "POST", "/api/v1/number_pool", {"number": "0612345678"})
    assert status == 422

    status, body = await call(http, daemon, "POST", "/api/v1/onboardings", BODY)
    assert status == 201 and isinstance(body, dict), body
    tenant_id = body["tenant"]["id"]
    assert body["tenant"]["numbers"] == [{"number": "0345678901", "product": "ivr"}]
    assert body["billing"]["billing_name"] == "医療法人さくら会 御中"
    link = body["invitation"]["url"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/console/invite/[A-Za-z0-9_-]{40,}", link)

    # the same pool number again: 409, and nothing of the second tenant remains
    status, again = await call(
        http, daemon, "POST", "/api/v1/onboardings", BODY | {"name": "other", "first_user": None}
    )
    assert status == 409 and isinstance(again, dict), again
    assert await pool.fetchval("SELECT count(*) FROM tenants") == 1
    status, _ = await call(http, daemon, "DELETE", "/api/v1/number_pool/0345678901")
    assert status == 409
    status, listed = await call(http, daemon, "GET", "/api/v1/number_pool")
    assert isinstance(listed, dict) and [n["tenant_id"] for n in listed["numbers"]] == [tenant_id]

    status, billing = await call(
        http, daemon, "PUT", f"/api/v1/tenants/{tenant_id}/billing", {"billing_email": "not an address"}
    )
    assert status == 422
    status, billing = await call(
        http, daemon, "PUT", f"/api/v1/tenants/{tenant_id}/billing", {"billing_name": "さくら会"}
    )
    assert status == 200 and isinstance(billing, dict) and billing["billing_email"] == ""

    await invites.redeem(pool, link.rsplit("/", 1)[1], PASSWORD)
    assert (await console_users.authenticate(pool, "sakura", PASSWORD))[0] is Outcome.OK
    status, _ = await call(
        http, daemon, "POST", f"/api/v1/tenants/{tenant_id}/invitations", {"login": "sakura", "role": "ivr"}
    )
    assert status == 409  # the login is taken
    logins = {r.login for r in await audit.recent(pool)}
    assert "admin-api" in logins


async def test_the_cli_onboards_lists_the_pool_and_invites(
    env: str, pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await run(capsys, "pool", "add", "03-4567-890x", "--note", "A")
    assert code == 2 and "digits only" in err  # the CLI reads numbers as the API does
    code, out, _ = await run(capsys, "pool", "add", "03-4567-8901", "--note", "A")
    assert code == 0 and "0345678901" in out, out
    code, out, err = await run(
        capsys,
        "tenant",
        "onboard",
        "さくら歯科",
        "--product",
        "coaching",
        "--number",
        "0345678901",
        "--lines",
        "3",
        "--billing-name",
        "医療法人さくら会 御中",
        "--billing-email",
        "office@sakura.example.jp",
        "--invite",
        "sakura",
        "--base-url",
        "https://calld.example.jp/",
    )
    assert code == 0, err
    found = re.search(r"https://calld\.example\.jp/console/invite/([A-Za-z0-9_-]+)", out)
    assert found is not None, out
    tenant_id = await pool.fetchval("SELECT id FROM tenants WHERE name = 'さくら歯科'")
    assert (await billing_contacts.get(pool, tenant_id)).email == "office@sakura.example.jp"
    user = await invites.redeem(pool, found.group(1), PASSWORD)
    assert user.role == "operator"

    code, out, _ = await run(capsys, "pool", "list")
    assert code == 0 and f"tenant {tenant_id} (coaching)" in out
    code, out, err = await run(capsys, "pool", "remove", "0345678901")
    assert code == 1 and "assigned" in err
    code, out, err = await run(capsys, "tenant", "onboard", "x", "--product", "ivr", "--billing-email", "nope")
    assert code == 2 and "e-mail" in err
    code, out, err = await run(capsys, "user", "invite", "second", "--tenant", str(tenant_id), "--product", "ivr")
    assert code == 0 and "/console/invite/" in out
