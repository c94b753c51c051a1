"""Logging in and out in a real Chromium: the header, the lock-out, the back button, the phone menu."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from daemon.rules.login_backoff import BY_LOGIN
from tests.console.browser.conftest import Screenshot, logged_in, login
from tests.console.conftest import Console

LOGIN_PAGE = re.compile(r"/console/login(\?|$)")


async def test_after_logging_in_the_header_shows_who_you_are(
    console: Console, page: Page, screenshot: Screenshot
) -> None:
    await logged_in(page, console.a.ivr)
    await expect(page.get_by_role("banner")).to_contain_text("alphaのお客様（IVRお客様）")
    await expect(page).to_have_url(re.compile(r"/console/ivr/flows$"))


async def test_the_operator_lands_on_the_live_board(console: Console, page: Page) -> None:
    await logged_in(page, console.a.operator)
    await expect(page).to_have_url(re.compile(r"/console/board$"))
    await expect(page.get_by_role("heading", name="ライブボード")).to_be_visible()
    await expect(page.get_by_role("banner")).to_contain_text("alphaの運営者（コーチングダイヤル運営者）")


async def test_the_login_form(page: Page, screenshot: Screenshot) -> None:
    await page.goto("/console/login")
    await expect(page.get_by_role("heading", name="ログイン")).to_be_visible()
    await expect(page.get_by_label("ログインID")).to_be_focused()
    await screenshot(page, "login", phone=True)


async def test_after_five_wrong_passwords_this_browser_waits_even_with_the_right_one(
    console: Console, page: Page, screenshot: Screenshot
) -> None:
    for _ in range(BY_LOGIN.free):
        await login(page, console.a.operator, "wrong password!")
        await expect(page.get_by_role("alert")).to_have_text("ログインIDまたはパスワードが違います。")
        await expect(page.get_by_label("ログインID")).to_have_value(console.a.operator)  # kept for the next try
    await login(page, console.a.operator)
    await expect(page.get_by_role("alert")).to_contain_text("ログインの試行が多すぎます。30秒ほど待って")
    await screenshot(page, "login-throttled")
    await expect(page.get_by_role("button", name="ログアウト")).to_have_count(0)


async def test_after_logout_the_back_button_shows_no_logged_in_page(console: Console, page: Page) -> None:
    await logged_in(page, console.a.ivr)
    inside = page.url
    await page.get_by_role("button", name="ログアウト").click()
    await expect(page).to_have_url(LOGIN_PAGE)
    await page.go_back()
    # no-store: the browser asks the server again, which sends it to the login page
    await expect(page).to_have_url(LOGIN_PAGE)
    assert page.url != inside
    await expect(page.get_by_role("button", name="ログアウト")).to_have_count(0)
    await expect(page.get_by_text("alphaのお客様")).to_have_count(0)


async def test_on_a_phone_the_menu_opens_on_a_tap(console: Console, phone: Page, screenshot: Screenshot) -> None:
    await logged_in(phone, console.a.ivr)
    menu = phone.get_by_role("navigation", include_hidden=True)
    await expect(menu).to_be_hidden()
    await phone.get_by_text("メニュー", exact=True).tap()
    await expect(menu).to_be_visible()
    await expect(menu.get_by_role("link", name="ガイダンス")).to_be_visible()
    await expect(menu.get_by_role("button", name="ログアウト")).to_be_visible()
    await screenshot(phone, "menu", desktop=False, phone=True)
