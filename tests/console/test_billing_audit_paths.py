"""The same contract or invoice change through the admin API, the console and the CLI: audited each way.

The forwarding add-on and the closing of a month are offered by all three
front doors; the tariff and invoice corrections by the API.  Each row names the
door (``actor_kind``), the actor, the tenant and before → after.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest

from daemon.repositories import audit, tenants
from daemon.rules.billing.invoice import Period
from daemon.services import invoices as invoice_service
from tests.console.conftest import BrowserFactory, Console
from tests.console.test_ivr_audit_paths import console_pool, http  # noqa: F401  (fixture)
from tests.http.test_cli import env, run  # noqa: F401  (fixture)
from tests.http.test_invoices_cli import ISSUER_ENV
from tests.http.test_status_admin import call


async def _rows(pool: asyncpg.Pool, action: str) -> list[audit.Record]:
    """Oldest first."""
    return list(reversed(await audit.search(pool, audit.Filter(action=action))))


async def test_the_forwarding_add_on_is_audited_through_the_api_the_console_and_the_cli(
    console: Console,
    browser: BrowserFactory,
    http: aiohttp.ClientSession,  # noqa: F811
    env: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    pool, daemon = console_pool(console), console.daemon
    third = await tenants.create_tenant(pool, "gamma", 1)

    status, _ = await call(http, daemon, "PUT", f"/api/v1/tenants/{console.a.tenant_id}/forwarding", {"enabled": True})
    assert status == 200
    admin = await browser()
    await admin.login(console.admin)
    await admin.get(f"/console/admin/tenants/{console.b.tenant_id}")
    assert (
        await admin.post(f"/console/admin/tenants/{console.b.tenant_id}/forwarding", {"forwarding": "on"})
    ).status == 200
    code, _, err = await run(capsys, "forwarding", "set", str(third), "on")
    assert code == 0, err

    found = [(r.actor_kind, r.tenant_id, r.target, r.before, r.after) for r in await _rows(pool, "tenant.forwarding")]
    changed = ({"forwarding": False}, {"forwarding": True})
    assert found == [
        ("admin_token", console.a.tenant_id, f"tenant {console.a.tenant_id}", *changed),
        ("console", console.b.tenant_id, f"tenant {console.b.tenant_id}", *changed),
        ("cli", third, f"tenant {third}", *changed),
    ]
    # a tenant that does not exist: refused on every door, and nothing recorded
    assert (await call(http, daemon, "PUT", "/api/v1/tenants/999999/forwarding", {"enabled": False}))[0] == 404
    assert (await run(capsys, "forwarding", "set", "999999", "off"))[0] == 1
    assert len(await _rows(pool, "tenant.forwarding")) == 3


async def test_the_forwarding_tariff_set_through_the_api_is_audited(
    console: Console,
    browser: BrowserFactory,
    http: aiohttp.ClientSession,  # noqa: F811
) -> None:
    pool, tenant = console_pool(console), console.a.tenant_id
    path = f"/api/v1/tenants/{tenant}/forwarding/tariff"
    assert (await call(http, console.daemon, "PUT", path, {"unit_seconds": 30, "yen_per_unit": 9}))[0] == 200
    [row] = await _rows(pool, "tenant.forwarding_tariff")
    assert (row.actor_kind, row.login, row.tenant_id) == ("admin_token", "admin-api", tenant)
    assert (row.before, row.after) == (
        {"unit_seconds": 60, "yen_per_unit": 20},
        {"unit_seconds": 30, "yen_per_unit": 9},
    )
    admin = await browser()
    await admin.login(console.admin)
    log = await admin.get("/console/audit")
    assert log.has("転送料金を変更しました") and log.has("課金単位（秒）") and log.has("管理APIトークン")


async def test_closing_a_month_is_audited_through_the_api_the_console_and_the_cli(
    console: Console,
    browser: BrowserFactory,
    http: aiohttp.ClientSession,  # noqa: F811
    env: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool, daemon = console_pool(console), console.daemon
    third = await tenants.create_tenant(pool, "gamma", 1)
    month = str(Period.containing(datetime.now(UTC)))
    later = datetime.now(UTC) + timedelta(days=40)
    monkeypatch.setattr(invoice_service, "clock", lambda: later)  # the month is over for every door
    monkeypatch.setattr(daemon.settings, "invoice_issuer_name", ISSUER_ENV["CALLD_INVOICE_ISSUER_NAME"])
    monkeypatch.setattr(daemon.settings, "invoice_registration_number", ISSUER_ENV["CALLD_INVOICE_REGISTRATION_NUMBER"])
    for key, value in ISSUER_ENV.items():
        monkeypatch.setenv(key, value)

    status, issued = await call(http, daemon, "POST", f"/api/v1/tenants/{console.a.tenant_id}/invoices/{month}/close")
    assert status == 201, issued
    admin = await browser()
    await admin.login(console.admin)
    await admin.get(f"/console/admin/invoices?period={month}")
    assert (await admin.post(f"/console/admin/invoices/{console.b.tenant_id}/{month}/close")).status == 200
    code, out, err = await run(capsys, "invoice", "close", month, "--tenant", str(third))
    assert code == 0, err

    rows = await _rows(pool, "invoice.close")
    assert [(r.actor_kind, r.tenant_id, r.before, r.after["status"], r.after["period"]) for r in rows] == [
        ("admin_token", console.a.tenant_id, {"status": "open"}, "closed", month),
        ("console", console.b.tenant_id, {"status": "open"}, "closed", month),
        ("cli", third, {"status": "open"}, "closed", month),
    ]
    assert rows[0].target == f"invoice {issued['number']}" and rows[0].after["total_yen"] == issued["total_yen"]
    assert rows[1].login == console.admin and rows[2].login.startswith("cli:")
    assert rows[2].target.split()[-1] in out

    # closed already: refused on every door, and nothing more recorded
    again = f"/api/v1/tenants/{console.a.tenant_id}/invoices/{month}/close"
    assert (await call(http, daemon, "POST", again))[0] == 409
    assert (await admin.post(f"/console/admin/invoices/{console.b.tenant_id}/{month}/close")).status == 409
    code, out, _ = await run(capsys, "invoice", "close", month, "--tenant", str(third))
    assert code == 0 and "closed already" in out
    assert len(await _rows(pool, "invoice.close")) == 3


async def test_an_invoice_correction_is_audited_once_and_its_replay_not_again(
    console: Console,
    http: aiohttp.ClientSession,  # noqa: F811
) -> None:
    pool, tenant = console_pool(console), console.a.tenant_id
    month = str(Period.containing(datetime.now(UTC)))
    line = {"amount_yen": 1200, "reason": "設定作業費", "idempotency_key": "fix-1"}
    path = f"/api/v1/tenants/{tenant}/invoices/{month}/adjustments"
    status, added = await call(http, console.daemon, "POST", path, line)
    assert status == 201, added
    assert (await call(http, console.daemon, "POST", path, line))[0] == 200  # the replay
    [row] = await _rows(pool, "invoice.adjustment")
    assert (row.actor_kind, row.tenant_id, row.target) == ("admin_token", tenant, f"invoice adjustment {added['id']}")
    assert row.after == {"period": month, "amount_yen": 1200, "reason": "設定作業費"}
