"""The CLI's forwarding switch and monthly close, in-process against the test's database."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import pytest

from daemon.repositories import contracts
from daemon.rules.billing.invoice import JST
from tests.http.test_cli import env, run  # noqa: F401  (fixture)

ISSUER_ENV = {
    "CALLD_INVOICE_ISSUER_NAME": "calld株式会社",
    "CALLD_INVOICE_REGISTRATION_NUMBER": "T7000012050002",
}


async def backdated_tenant(pool: asyncpg.Pool, name: str, at: datetime, lines: int) -> int:
    async with pool.acquire() as conn, conn.transaction():
        tenant_id: int = await conn.fetchval(
            "INSERT INTO tenants (name, created_at) VALUES ($1, $2) RETURNING id", name, at
        )
        await conn.execute(
            "INSERT INTO line_contracts (tenant_id, lines, updated_at) VALUES ($1, $2, $3)", tenant_id, lines, at
        )
    return tenant_id


async def test_forwarding_set(env: str, pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    code, out, _ = await run(capsys, "tenant", "create", "acme", "--lines", "1")
    tenant_id = await pool.fetchval("SELECT id FROM tenants WHERE name = 'acme'")
    code, out, _ = await run(capsys, "forwarding", "set", str(tenant_id), "on")
    assert (code, out.strip()) == (0, f"tenant {tenant_id}: forwarding off -> on")
    assert [c.forwarding for c in await contracts.changes(pool, tenant_id)] == [False, True]
    code, _, err = await run(capsys, "forwarding", "set", str(tenant_id + 1), "off")
    assert code == 1 and "no tenant" in err
    code, _, err = await run(capsys, "forwarding", "set", str(tenant_id), "yes")
    assert code == 2 and "invalid choice" in err


async def test_invoice_close_for_every_tenant(
    env: str,  # noqa: F811
    pool: asyncpg.Pool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    march = datetime(2026, 3, 10, tzinfo=JST)  # always in the past for whoever runs this
    first = await backdated_tenant(pool, "acme", march, 3)
    later = await backdated_tenant(pool, "later", datetime(2026, 4, 2, tzinfo=JST), 1)

    code, _, err = await run(capsys, "invoice", "close", "2026-03")
    assert code == 1 and "2 of 2 invoices for 2026-03 were not closed" in err  # no issuer configured

    for key, value in ISSUER_ENV.items():
        monkeypatch.setenv(key, value)
    code, out, _ = await run(capsys, "invoice", "close", "2026-03")
    assert code == 0
    assert out.splitlines() == [
        f"tenant {first}: INV-{first}-202603 total 38,280 yen (tax 3,480)",
        f"tenant {later}: no contract in 2026-03",
    ]
    code, out, _ = await run(capsys, "invoice", "close", "2026-03", "--tenant", str(first))
    assert code == 0 and "closed already" in out
    assert await pool.fetchval("SELECT count(*) FROM invoices") == 1
    code, _, err = await run(capsys, "invoice", "close", "2026-3")
    assert code == 2 and "YYYY-MM" in err
