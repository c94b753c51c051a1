"""Invitation links by e-mail: sent through the shared SMTP sender, the link in the mail works, a failure is said."""

from __future__ import annotations

import re

import aiohttp
import asyncpg
import pytest

from daemon.repositories import audit
from daemon.repositories import invites as invite_rows
from tests.console.client import PASSWORD, Browser, Page
from tests.console.conftest import BrowserFactory, Console
from tests.http.test_status_admin import call
from tests.mail_server import MailBox

LINK = re.compile(r"http://127\.0\.0\.1:\d+/console/invite/[A-Za-z0-9_-]{40,}")


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


def _shown(page: Page) -> str:
    return page.text.split('id="invite-link" class="wide" readonly value="', 1)[1].split('"', 1)[0]


async def _redeem(invitee: Browser, link: str) -> Page:
    path = "/" + link.split("127.0.0.1", 1)[1].split("/", 1)[1]
    form = await invitee.get(path)
    assert form.status == 200, form.text
    nonce = form.text.split('name="nonce" value="', 1)[1].split('"', 1)[0]
    return await invitee.post(path, {"nonce": nonce, "password": PASSWORD, "again": PASSWORD})


async def _tenant_page(console: Console, browser: BrowserFactory) -> tuple[Browser, str]:
    """The platform admin, logged in, on tenant alpha's page (where users are invited)."""
    b = await browser()
    await b.login(console.admin)
    url = f"/console/admin/tenants/{console.a.tenant_id}"
    await b.get(url)
    return b, url


@pytest.fixture
def smtp(console: Console, mailbox: MailBox, monkeypatch: pytest.MonkeyPatch) -> MailBox:
    for key, value in mailbox.settings().items():
        monkeypatch.setattr(console.daemon.settings, key, value)
    return mailbox


async def test_the_link_is_mailed_to_the_invitee_and_works_from_the_mail(
    console: Console, browser: BrowserFactory, smtp: MailBox
) -> None:
    pool = _pool(console)
    b, url = await _tenant_page(console, browser)
    invite = {"login": "uketsuke", "display_name": "受付 佐藤", "role": "ivr", "email": "sato@clinic.example.jp"}
    page = await b.post(url + "/invite", invite)
    assert page.status == 200 and page.has("招待リンクを sato@clinic.example.jp にメールで送りました。")
    [message] = await smtp.wait_for(1)
    assert (
        message["To"] == "sato@clinic.example.jp" and message["Subject"] == "コンソールへのご招待（パスワードの設定）"
    )
    text = message.get_content()
    assert text.startswith("受付 佐藤 様") and "ログインID: uketsuke" in text and "1回限り" in text
    [link] = LINK.findall(text)
    assert link == _shown(page)  # the mail carries the very link the page shows
    actions = [r.action for r in await audit.recent(pool)]
    assert actions[:2] == ["console_user.invite_mail", "console_user.invite"]

    # a new link later goes to the same address; the one mailed first stops working
    user_id = await pool.fetchval("SELECT id FROM console_users WHERE login = 'uketsuke'")
    await b.get(url)
    page = await b.post(f"{url}/users/{user_id}/reinvite")
    assert page.status == 200 and page.has("sato@clinic.example.jp にメールで送りました")
    [_, again] = await smtp.wait_for(2)
    [new_link] = LINK.findall(again.get_content())
    assert new_link != link and await invite_rows.valid(pool, link.rsplit("/", 1)[1]) is None

    invitee = await browser()
    done = await _redeem(invitee, new_link)
    assert done.status == 200 and "/console/invite/" not in done.url
    assert (await invitee.get("/console/ivr/flows")).status == 200  # logged in as the IVR customer


async def test_a_mail_that_cannot_be_sent_is_said_and_the_link_still_works(
    console: Console, browser: BrowserFactory, smtp: MailBox
) -> None:
    smtp.refuse.add("nobody@clinic.example.jp")
    b, url = await _tenant_page(console, browser)
    invite = {"login": "nobody", "display_name": "", "role": "ivr", "email": "nobody@clinic.example.jp"}
    page = await b.post(url + "/invite", invite)
    assert page.status == 200 and page.has("nobody@clinic.example.jp へのメールを送れませんでした")
    assert page.has("リンクは有効です") and 'role="alert" id="invite-mail"' in page.text
    assert "console_user.invite_mail" not in [r.action for r in await audit.recent(_pool(console))]
    done = await _redeem(await browser(), _shown(page))
    assert done.status == 200 and "/console/invite/" not in done.url

    # without an address nothing is sent, and the page says so
    await b.get(url)
    page = await b.post(url + "/invite", {"login": "nomail", "display_name": "", "role": "ivr", "email": ""})
    assert page.status == 200 and page.has("メールアドレスが登録されていないため、メールは送っていません。")
    assert smtp.messages == []


async def test_an_onboarding_mails_the_first_users_link(
    console: Console, browser: BrowserFactory, smtp: MailBox
) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.admin)
    await b.get("/console/admin/tenants/new")
    form = {"name": "さくら歯科", "product": "ivr", "lines": "1", "login": "sakura", "display_name": "受付"}
    page = await b.post("/console/admin/tenants/new", {**form, "email": "受付@さくら"})
    assert page.status == 422 and 'data-field="email"' in page.text and page.has("メールアドレスの形式")
    assert await pool.fetchval("SELECT count(*) FROM tenants WHERE name = 'さくら歯科'") == 0

    page = await b.post("/console/admin/tenants/new", {**form, "email": "uketsuke@sakura.example.jp"})
    assert page.status == 201 and page.has("uketsuke@sakura.example.jp にメールで送りました")
    [message] = await smtp.wait_for(1)
    [link] = LINK.findall(message.get_content())
    done = await _redeem(await browser(), link)
    assert done.status == 200 and "/console/invite/" not in done.url


async def test_the_api_mails_the_link_and_says_what_became_of_the_mail(console: Console, smtp: MailBox) -> None:
    smtp.refuse.add("gone@shop.example.jp")
    path = f"/api/v1/tenants/{console.b.tenant_id}/invitations"
    async with aiohttp.ClientSession() as http:
        status, body = await call(
            http, console.daemon, "POST", path, {"login": "tenchou", "email": "owner@shop.example.jp"}
        )
        assert status == 201 and body["mailed_to"] == "owner@shop.example.jp" and body["mail_error"] is None, body
        [message] = await smtp.wait_for(1)
        assert LINK.findall(message.get_content()) == [body["url"]]
        status, body = await call(
            http, console.daemon, "POST", path, {"login": "gone", "email": "gone@shop.example.jp"}
        )
        assert status == 201 and body["mailed_to"] is None and "refused the recipient" in body["mail_error"], body
        status, body = await call(http, console.daemon, "POST", path, {"login": "plain"})
        assert status == 201 and body["mailed_to"] is None and body["mail_error"] is None, body
        status, body = await call(http, console.daemon, "POST", path, {"login": "bad", "email": "a\r\nBcc: x@y.jp"})
        assert status == 422 and "email" in body["error"], body
    invitee = Browser(console.daemon)
    try:
        done = await _redeem(invitee, LINK.findall(message.get_content())[0])
    finally:
        await invitee.close()
    assert done.status == 200 and "/console/invite/" not in done.url
