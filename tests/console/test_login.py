"""Logging in and out: sessions, lock-out, CSRF, where each role lands, security headers."""

from __future__ import annotations

import asyncio

from yarl import URL

from daemon.db import console_users
from tests.console.client import PASSWORD
from tests.console.conftest import BrowserFactory, Console


async def test_an_operator_logs_in_and_lands_on_the_live_board(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    page = await b.login(console.a.operator)
    assert page.status == 200
    assert page.url.endswith("/console/board")
    assert page.has("alphaの運営者")


async def test_without_a_session_every_page_sends_you_to_the_login(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    page = await b.get("/console/callers")
    assert page.url.endswith("/console/login?next=/console/callers")
    assert page.has("ログイン")
    after = await b.login(console.a.operator, next_path="/console/callers")
    assert after.url.endswith("/console/callers")


async def test_a_wrong_password_is_refused_and_the_fifth_locks_the_account(
    console: Console, browser: BrowserFactory
) -> None:
    b = await browser()
    for _ in range(console_users.MAX_FAILURES - 1):
        page = await b.login(console.a.operator, "wrong password!")
        assert page.status == 401
        assert page.has("ログインIDまたはパスワードが違います")
    page = await b.login(console.a.operator, "wrong password!")
    assert page.status == 401 and page.has("ロックされています")
    # now even the right password is refused, from any browser
    page = await (await browser()).login(console.a.operator, PASSWORD)
    assert page.status == 401 and page.has("ロックされています")
    assert (await b.get("/console/board")).url.endswith("/console/login?next=/console/board")


async def test_an_unknown_login_gets_the_same_answer_as_a_wrong_password(
    console: Console, browser: BrowserFactory
) -> None:
    page = await (await browser()).login("nobody-here", PASSWORD)
    assert page.status == 401 and page.has("ログインIDまたはパスワードが違います")


async def test_a_new_password_lifts_the_lock(console: Console, browser: BrowserFactory) -> None:
    pool = console.daemon.pool
    assert pool is not None
    b = await browser()
    for _ in range(console_users.MAX_FAILURES):
        await b.login(console.a.operator, "wrong password!")
    user = next(u for u in await console_users.list_all(pool, console.a.tenant_id) if u.login == console.a.operator)
    await console_users.set_password(pool, user.id, "a brand new secret")
    assert (await b.login(console.a.operator, "a brand new secret")).url.endswith("/console/board")


async def test_logout_ends_the_session_on_the_server(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.a.operator)
    cookie = b.session.cookie_jar.filter_cookies(URL(b.base + "/console/"))["calld_console"].value
    page = await b.post("/console/logout")
    assert page.url.endswith("/console/login")
    # the old cookie, replayed, opens nothing
    stolen = await (await browser()).get("/console/board", cookies={"calld_console": cookie})
    assert stolen.url.endswith("/console/login?next=/console/board")


async def test_a_form_without_the_sessions_csrf_token_changes_nothing(
    console: Console, browser: BrowserFactory
) -> None:
    b = await browser()
    await b.login(console.a.operator)
    page = await b.post("/console/logout", csrf="forged")
    assert page.status == 403
    assert (await b.get("/console/board")).status == 200  # still logged in


async def test_a_login_form_from_elsewhere_is_refused(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    data = {"login": console.a.operator, "password": PASSWORD, "nonce": "made-up"}
    async with b.session.post(b.base + "/console/login", data=data) as response:
        assert response.status == 403
        assert "calld_console" not in {c.key for c in b.session.cookie_jar}


async def test_the_session_cookie_is_httponly_strict_and_secure(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.a.operator)
    cookie = next(c for c in b.session.cookie_jar if c.key == "calld_console")
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/console"


async def test_console_pages_forbid_framing_and_foreign_scripts(console: Console, browser: BrowserFactory) -> None:
    page = await (await browser()).get("/console/login")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


async def test_after_login_the_next_parameter_cannot_leave_the_console(
    console: Console, browser: BrowserFactory
) -> None:
    page = await (await browser()).login(console.a.operator, next_path="//evil.example/")
    assert page.url.startswith("http://127.0.0.1") and page.url.endswith("/console/board")


async def test_each_role_lands_on_its_own_first_page(console: Console, browser: BrowserFactory) -> None:
    assert (await (await browser()).login(console.admin)).url.endswith("/console/admin/tenants")
    assert (await (await browser()).login(console.a.ivr)).url.endswith("/console/ivr/flows")


async def test_an_operator_cannot_open_the_admins_pages(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.a.operator)
    page = await b.get("/console/admin/tenants")
    assert page.status == 403 and page.has("開けません")


async def test_housekeeping_deletes_expired_sessions(console: Console, browser: BrowserFactory) -> None:
    pool = console.daemon.pool
    assert pool is not None
    b = await browser()
    await b.login(console.a.operator)
    await (await browser()).login(console.b.operator)
    await pool.execute(
        "UPDATE console_sessions SET expires_at = now() - interval '1 second'"
        " WHERE user_id = (SELECT id FROM console_users WHERE login = $1)",
        console.a.operator,
    )
    await asyncio.sleep(2.0)  # a housekeeping round every 0.5 s in the tests
    assert await pool.fetchval("SELECT count(*) FROM console_sessions") == 1
    assert (await b.get("/console/board")).url.endswith("/console/login?next=/console/board")
