"""The audit log page: newest first; a tenant's users see their tenant only, the platform admin all."""

from __future__ import annotations

from daemon.repositories import audit
from daemon.services.actor import Actor, Kind
from tests.console.conftest import BrowserFactory, Console
from tests.console.money_data import pool_of


async def test_each_sees_their_own_and_the_admin_sees_all(console: Console, browser: BrowserFactory) -> None:
    pool = pool_of(console)
    async with pool.acquire() as conn:
        await audit.record(
            conn,
            Actor(Kind.CONSOLE, "op-alpha", console.a.tenant_id),
            "caller.update",
            tenant_id=console.a.tenant_id,
            target="caller 1",
            before={"name": "旧い名前"},
            after={"name": "新しい名前"},
        )
        await audit.record(
            conn, Actor(Kind.CONSOLE, "op-alpha", console.a.tenant_id), "ledger.deposit", tenant_id=console.a.tenant_id
        )
        await audit.record(
            conn,
            Actor(Kind.CONSOLE, "op-beta", console.b.tenant_id),
            "caller.create",
            tenant_id=console.b.tenant_id,
            target="ベータ",
        )
    b = await browser()
    page = await b.login(console.a.operator, next_path="/console/audit")
    assert page.status == 200 and page.has("監査ログ")
    assert page.has("旧い名前") and page.has("新しい名前") and page.has("caller 1") and not page.has("ベータ")
    assert page.text.index("ledger.deposit") < page.text.index("caller.update")  # newest first
    assert not page.has('data-label="テナント"')

    ivr = await (await browser()).login(console.b.ivr, next_path="/console/audit")
    assert ivr.status == 200 and ivr.has("ベータ") and not ivr.has("旧い名前")

    admin = await (await browser()).login(console.admin, next_path="/console/audit")
    assert admin.status == 200 and admin.has("ベータ") and admin.has("旧い名前")
    assert admin.has(f'data-label="テナント">{console.b.tenant_id}<')


async def test_a_console_change_shows_up(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.a.operator, next_path="/console/callers")
    made = await b.post(
        "/console/callers/new",
        {"name": "監査さん", "numbers": "09012121212", "billing": "prepaid", "payment_method": "bank_transfer"},
    )
    assert made.status == 200
    page = await b.get("/console/audit")
    assert page.has("caller.create") and page.has("監査さん") and page.has(console.a.operator)
