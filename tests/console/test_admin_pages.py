"""Platform admin pages: tenants (lines, numbers, add-on) and console users; every change audited."""

from __future__ import annotations

import json

import asyncpg

from daemon.repositories import audit, console_users, contracts, tenants
from daemon.rules.login_backoff import BY_LOGIN
from tests.console.client import PASSWORD
from tests.console.conftest import BrowserFactory, Console


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def test_the_admin_lands_on_the_tenant_list_with_every_tenant(console: Console, browser: BrowserFactory) -> None:
    await tenants.add_number(_pool(console), console.a.tenant_id, "0312345678", "coaching")
    b = await browser()
    page = await b.login(console.admin)
    assert page.status == 200 and page.url.endswith("/console/admin/tenants")
    assert page.has("alpha") and page.has("beta") and page.has("0312345678")


async def test_a_lines_change_is_applied_audited_and_shown_in_the_history(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.admin)
    url = f"/console/admin/tenants/{console.a.tenant_id}"
    await b.get(url)
    page = await b.post(url + "/lines", {"lines": "５"})
    assert page.status == 200 and page.url.endswith(url) and page.has("回線数を変更しました。")
    assert (await tenants.get_tenant(pool, console.a.tenant_id)).lines == 5
    assert [c.lines for c in await contracts.changes(pool, console.a.tenant_id)] == [2, 5]
    row = (await audit.recent(pool))[0]
    assert (row.action, row.tenant_id, row.login) == ("tenant.lines", console.a.tenant_id, "platform")
    assert (row.before, row.after) == ({"lines": 2}, {"lines": 5})


async def test_bad_lines_give_a_japanese_error_and_change_nothing(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.admin)
    url = f"/console/admin/tenants/{console.a.tenant_id}"
    await b.get(url)
    page = await b.post(url + "/lines", {"lines": "-3"})
    assert page.status == 422 and page.has("0以上で入力してください") and page.has('value="-3"')
    assert (await tenants.get_tenant(pool, console.a.tenant_id)).lines == 2
    assert await audit.recent(pool) == []


async def test_numbers_are_added_in_national_form_and_removed_with_audit(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.admin)
    url = f"/console/admin/tenants/{console.b.tenant_id}"
    await b.get(url)
    page = await b.post(url + "/numbers", {"number": "+81612345678", "product": "ivr"})
    assert page.status == 200 and page.has("0612345678")
    detail = await tenants.get_tenant(pool, console.b.tenant_id)
    assert [(n.number, n.product) for n in detail.numbers] == [("0612345678", "ivr")]
    taken = await b.post(
        f"/console/admin/tenants/{console.a.tenant_id}/numbers", {"number": "0612345678", "product": "coaching"}
    )
    assert taken.status == 422 and taken.has("すでに割り当てられています")
    # alpha's page cannot remove beta's number
    wrong = await b.post(f"/console/admin/tenants/{console.a.tenant_id}/numbers/0612345678/delete")
    assert wrong.status == 404
    await b.post(url + "/numbers/0612345678/delete")
    assert (await tenants.get_tenant(pool, console.b.tenant_id)).numbers == ()
    assert [r.action for r in await audit.recent(pool)] == ["tenant.number.remove", "tenant.number.add"]


async def test_the_forwarding_add_on_is_switched_on_with_audit(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.admin)
    url = f"/console/admin/tenants/{console.a.tenant_id}"
    await b.get(url)
    page = await b.post(url + "/forwarding", {"forwarding": "on"})
    assert page.status == 200 and page.has("有効")
    assert (await contracts.changes(pool, console.a.tenant_id))[-1].forwarding is True
    row = (await audit.recent(pool))[0]
    assert (row.action, row.before, row.after) == ("tenant.forwarding", {"forwarding": False}, {"forwarding": True})


async def test_a_user_is_created_and_unlocked_and_no_password_reaches_the_audit_log(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.admin)
    await b.get("/console/admin/users")
    bad = await b.post(
        "/console/admin/users",
        {"login": "X", "display_name": "新人", "role": "ivr", "tenant_id": "", "password": "short"},
    )
    assert (
        bad.status == 422
        and bad.has("ログインIDは")
        and bad.has("パスワードは10〜200文字")
        and bad.has("テナントを1つ")
    )
    assert len(await console_users.list_all(pool)) == 5
    new_password = "a brand new secret"
    page = await b.post(
        "/console/admin/users",
        {
            "login": "ivr-alpha2",
            "display_name": "新人",
            "role": "ivr",
            "tenant_id": str(console.a.tenant_id),
            "password": new_password,
        },
    )
    assert page.status == 200 and page.has("ivr-alpha2")
    created = next(u for u in await console_users.list_all(pool) if u.login == "ivr-alpha2")
    assert (created.role, created.tenant_id) == ("ivr", console.a.tenant_id)
    # guessing makes that address wait (the account stays open); the admin lifts the wait
    guesser = await browser()
    for _ in range(BY_LOGIN.free):
        await guesser.login("ivr-alpha2", "wrong password!")
    assert (await guesser.login("ivr-alpha2", new_password)).status == 429
    assert (await b.get(f"/console/admin/users/{created.id}")).has("1か所の接続元で")
    page = await b.post(f"/console/admin/users/{created.id}/unlock")
    assert page.status == 200 and page.has("有効") and not page.has("1か所の接続元で")
    assert (await guesser.login("ivr-alpha2", new_password)).url.endswith("/console/ivr/flows")
    await b.post(f"/console/admin/users/{created.id}/password", {"password": "another secret!"})
    assert (await (await browser()).login("ivr-alpha2", "another secret!")).url.endswith("/console/ivr/flows")
    rows = await audit.recent(pool)
    assert [r.action for r in rows] == ["console_user.password", "console_user.unlock", "console_user.create"]
    logged = json.dumps([(r.before, r.after) for r in rows], ensure_ascii=False)
    assert new_password not in logged and "another secret!" not in logged


async def test_an_operator_and_an_ivr_customer_get_403(console: Console, browser: BrowserFactory) -> None:
    for login in (console.a.operator, console.b.ivr):
        b = await browser()
        await b.login(login, PASSWORD)
        for path in ("/console/admin/tenants", f"/console/admin/tenants/{console.a.tenant_id}", "/console/admin/users"):
            page = await b.get(path)
            assert page.status == 403, path
        page = await b.post(f"/console/admin/tenants/{console.a.tenant_id}/lines", {"lines": "9"})
        assert page.status == 403
    assert (await tenants.get_tenant(_pool(console), console.a.tenant_id)).lines == 2


async def test_an_unknown_tenant_or_user_is_a_404(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.admin)
    assert (await b.get("/console/admin/tenants/999999")).status == 404
    assert (await b.get("/console/admin/users/999999")).status == 404


async def test_the_node_page_shows_this_node_alive_with_its_version(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.admin)
    page = await b.get("/console/admin/nodes")
    settings = console.daemon.settings
    assert page.status == 200 and page.has(settings.node_id) and page.has("稼働中") and page.has("バージョン")
