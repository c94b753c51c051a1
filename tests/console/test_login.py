"""Logging in and out: sessions, the back-off (no lock-out), CSRF, where each role lands, security headers."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
from argon2 import extract_parameters
from yarl import URL

from daemon.repositories import console_users
from daemon.rules.login_backoff import BY_LOGIN
from tests.conftest import DaemonFactory
from tests.console.client import PASSWORD, Browser, Page, cookie_jar
from tests.console.conftest import BrowserFactory, Console

_NONCE = re.compile(r'name="nonce" value="[^"]+"')


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


def from_address(b: Browser, address: str) -> Browser:
    """The browser, connecting from another loopback address (the daemon sees ``address`` as the client)."""
    b.session = aiohttp.ClientSession(
        cookie_jar=cookie_jar(b.base), connector=aiohttp.TCPConnector(local_addr=(address, 0))
    )
    return b


async def attempts(browser: BrowserFactory, login: str, password: str, count: int) -> list[Page]:
    """``count`` log-ins at the same moment, each from its own browser (all from 127.0.0.1)."""
    browsers = [await browser() for _ in range(count)]
    return list(await asyncio.gather(*(b.login(login, password) for b in browsers)))


async def test_parallel_wrong_passwords_are_capped_and_the_owner_still_gets_in_from_elsewhere(
    console: Console, browser: BrowserFactory
) -> None:
    pages = await attempts(browser, console.a.operator, "wrong password!", 14)
    assert sorted(p.status for p in pages) == [401] * BY_LOGIN.free + [429] * (14 - BY_LOGIN.free)
    assert all(p.has("ログインの試行が多すぎます。30秒ほど待って") for p in pages if p.status == 429)
    # from the guessing address even the right password now waits: it is not checked at all
    page = await (await browser()).login(console.a.operator, PASSWORD)
    assert page.status == 429 and 0 < int(page.headers["Retry-After"]) <= BY_LOGIN.base_s
    # the owner, at another address, is not locked out
    owner = from_address(await browser(), "127.0.0.2")
    assert (await owner.login(console.a.operator)).url.endswith("/console/board")


async def test_the_cap_holds_across_two_nodes_on_one_database(
    console: Console, browser: BrowserFactory, start_daemon: DaemonFactory
) -> None:
    other_node = await start_daemon(node_id="console-b")
    here = [await browser() for _ in range(6)]
    there = [Browser(other_node) for _ in range(6)]
    try:
        pages = await asyncio.gather(*(b.login(console.a.operator, "wrong password!") for b in here + there))
    finally:
        for b in there:
            await b.close()
    assert sorted(p.status for p in pages) == [401] * BY_LOGIN.free + [429] * (12 - BY_LOGIN.free)


@pytest.mark.production_password_cost  # compares the dummy hash's argon2 parameters with a real one's
async def test_an_unknown_login_is_answered_exactly_like_a_known_one(console: Console, browser: BrowserFactory) -> None:
    def seen(pages: list[Page], login: str) -> list[tuple[int, str]]:
        return sorted((p.status, _NONCE.sub("", p.text).replace(login, "LOGIN")) for p in pages)

    known = await attempts(browser, console.a.operator, "wrong password!", 8)
    unknown = await attempts(browser, "op-nobody", "wrong password!", 8)
    assert seen(known, console.a.operator) == seen(unknown, "op-nobody")
    assert {p.status for p in known} == {401, 429}
    # and as much work: an unknown login is verified against a hash of the same argon2 parameters
    pool = console.daemon.pool
    assert pool is not None
    stored = await pool.fetchval("SELECT password_hash FROM console_users WHERE login = $1", console.a.operator)
    assert extract_parameters(console_users.DUMMY_HASH) == extract_parameters(stored)


async def test_a_disabled_account_says_so_only_to_its_right_password(console: Console, browser: BrowserFactory) -> None:
    pool = console.daemon.pool
    assert pool is not None
    await pool.execute("UPDATE console_users SET disabled_at = now() WHERE login = $1", console.a.operator)
    page = await (await browser()).login(console.a.operator, "wrong password!")
    assert page.status == 401 and page.has("ログインIDまたはパスワードが違います")
    page = await (await browser()).login(console.a.operator)
    assert page.status == 401 and page.has("無効になっています")


async def test_the_right_password_starts_the_count_afresh(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    for _ in range(2):
        for _ in range(BY_LOGIN.free - 1):
            page = await b.login(console.a.operator, "wrong password!")
            assert page.status == 401 and page.has("ログインIDまたはパスワードが違います")
        assert (await b.login(console.a.operator)).url.endswith("/console/board")
        await b.post("/console/logout")


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
