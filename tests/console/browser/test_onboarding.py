"""A new customer onboarded in a real Chromium: a pool number typed with hyphens, the one-step form
(confirmed), the one-time link opened by the customer in a browser of their own, the password set and
the customer logged in; the link then refuses a second use."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Dialog, Page, expect

from daemon.repositories import audit, billing_contacts, console_users, contracts, tenants
from daemon.repositories.console_users import Outcome
from tests.console.browser.conftest import Screenshot, logged_in
from tests.console.conftest import Console
from tests.console.shop import pool_of

NEW_PASSWORD = "sakura-dental-2026"


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


async def _customer_sets_a_password(chromium: Browser, base_url: str, link: str, screenshot: Screenshot) -> None:
    """The customer, in a browser of their own: the password set, logged in; the link refuses a second use."""
    customer_ctx = await chromium.new_context(base_url=base_url, locale="ja-JP", timezone_id="Asia/Tokyo")
    try:
        customer = await customer_ctx.new_page()
        await customer.goto(link)
        await expect(customer.locator("#invite-login")).to_have_text("sakura")
        await customer.get_by_label("新しいパスワード（10文字以上）").fill(NEW_PASSWORD)
        await customer.get_by_label("新しいパスワード（確認）").fill(NEW_PASSWORD)
        await screenshot(customer, "invite-password", desktop=False, phone=True)
        await customer.get_by_role("button", name="パスワードを設定してログイン").click()
        await expect(customer.get_by_role("button", name="ログアウト", include_hidden=True)).to_have_count(1)
        await expect(customer.get_by_role("link", name="IVRフロー", exact=True)).to_have_count(1)

        await customer.goto(link)  # single use
        await expect(customer.locator("#invite-error")).to_contain_text("このリンクは使えません")
    finally:
        await customer_ctx.close()


async def test_the_admin_onboards_a_customer_who_sets_a_password_with_the_one_time_link(
    console: Console, page: Page, chromium: Browser, base_url: str, screenshot: Screenshot
) -> None:
    questions: list[str] = []
    page.on("dialog", lambda d: questions.append(d.message))
    page.on("dialog", _accept)
    await logged_in(page, console.admin)
    await page.get_by_role("link", name="番号在庫").first.click()
    await page.get_by_label("電話番号（03から10桁、ハイフン可）").fill("０３-４５６７-８９０１")
    await page.get_by_label("メモ（回線事業者など）").fill("第1回線群")
    await page.get_by_role("button", name="追加").click()
    await expect(page.locator("#done")).to_have_text("番号在庫に追加しました。")
    await expect(page.locator("#pool-0345678901")).to_contain_text("空き")

    await page.get_by_role("link", name="テナント", exact=True).click()
    await page.get_by_role("link", name="新しいお客様を登録").click()
    await page.get_by_label("テナント名（社内での呼び名）").fill("さくら歯科")
    await page.get_by_label("請求書の宛名（例：株式会社〇〇 御中。空欄ならテナント名）").fill("医療法人さくら会 御中")
    await page.get_by_label("請求書の住所").fill("〒150-0001\n東京都渋谷区神宮前1-2-3")
    await page.get_by_label("請求書の送付先メールアドレス").fill("office@sakura.example.jp")
    await page.get_by_label("電話番号（番号在庫の空き番号）").select_option("0345678901")
    await page.get_by_label("回線数（同時通話数。1回線は基本料金に含まれます）").fill("2")
    await page.get_by_label("転送オプション（月額10,000円＋転送通話料）").check()
    await page.get_by_label("ログインID（空欄なら招待しない）").fill("sakura")
    await page.get_by_label("表示名（例：受付 佐藤）").fill("受付 佐藤")
    await screenshot(page, "onboarding-form")
    await page.get_by_role("button", name="登録する").click()
    await expect(page.get_by_role("heading", name="お客様を登録しました")).to_be_visible()
    assert any("この内容でお客様を登録します" in q for q in questions)
    link = await page.locator("#invite-link").input_value()
    assert re.fullmatch(rf"{re.escape(base_url)}/console/invite/[A-Za-z0-9_-]{{40,}}", link)
    await screenshot(page, "onboarding-invited")

    pool = pool_of(console)
    [tenant] = [t for t in await tenants.list_tenants(pool) if t.name == "さくら歯科"]
    assert tenant.lines == 2 and [n.number for n in tenant.numbers] == ["0345678901"]
    assert (await contracts.changes(pool, tenant.tenant_id))[-1].forwarding
    assert (await billing_contacts.get(pool, tenant.tenant_id)).name == "医療法人さくら会 御中"

    await _customer_sets_a_password(chromium, base_url, link, screenshot)
    assert (await console_users.authenticate(pool, "sakura", NEW_PASSWORD))[0] is Outcome.OK
    actions = {r.action for r in await audit.recent(pool)}
    assert {"number_pool.add", "tenant.onboard", "console_user.invite_redeemed"} <= actions


async def test_removing_a_number_asks_first_and_says_what_it_did(console: Console, page: Page) -> None:
    pool = pool_of(console)
    await tenants.add_number(pool, console.a.tenant_id, "0311112222", "ivr")
    await logged_in(page, console.admin)
    await page.goto(f"/console/admin/tenants/{console.a.tenant_id}")
    answers = iter([False, True])
    asked: list[str] = []

    async def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if next(answers) else dialog.dismiss())

    page.on("dialog", answer)
    await page.get_by_role("button", name="解除").click()
    await expect(page.get_by_role("button", name="解除")).to_have_count(1)  # dismissed: nothing was sent
    assert [n.number for n in (await tenants.get_tenant(pool, console.a.tenant_id)).numbers] == ["0311112222"]
    await page.get_by_role("button", name="解除").click()
    await expect(page.locator("#done")).to_have_text("番号の割り当てを外しました。")
    assert (await tenants.get_tenant(pool, console.a.tenant_id)).numbers == ()
    assert len(asked) == 2 and "0311112222 の割り当てを外します" in asked[0]
