"""Typed guidance in a real Chromium: hear the words before saving (nothing stored), save, see the verdict, delete."""

from __future__ import annotations

import re

from playwright.async_api import Dialog, Page, expect

from daemon.repositories import guidance
from tests.console.browser.conftest import Screenshot, logged_in
from tests.console.conftest import Console
from tests.console.shop import pool_of


async def test_typed_words_are_previewed_in_the_page_then_saved_and_deleted(
    console: Console, page: Page, screenshot: Screenshot
) -> None:
    pool = pool_of(console)
    await logged_in(page, console.a.ivr)
    await page.goto("/console/ivr/guidance")
    form = page.locator("form[data-speech]")
    await form.get_by_label("名前").fill("受付の挨拶")
    await form.get_by_label("読み上げる文").fill("お電話ありがとうございます。")
    await form.get_by_label("話す速さ").fill("1.1")

    await form.get_by_role("button", name="試聴する").click()
    player = form.locator("audio[data-preview-audio]")
    await expect(player).to_have_attribute("data-ready", "1", timeout=60_000)
    await expect(player).to_have_attribute("src", re.compile(r"^blob:"))
    # the page's own player reads it (the CSP lets media come from the blob: the page made)
    seconds = await player.evaluate(
        "a => a.readyState >= 1 ? a.duration"
        " : new Promise(done => a.addEventListener('loadedmetadata', () => done(a.duration), {once: true}))"
    )
    assert seconds > 1.0
    assert await guidance.all_of(pool, console.a.tenant_id) == []  # a preview stores nothing
    await screenshot(page, "guidance-typed", phone=True)

    await form.get_by_role("button", name="保存する").click()
    await expect(page.get_by_role("status")).to_have_text("ガイダンスを作成しました。", timeout=60_000)
    await expect(page.locator("#verdict strong")).to_have_text("聞き取りやすい")
    [made] = await guidance.all_of(pool, console.a.tenant_id)
    assert (made.speech_text, made.speech_speed) == ("お電話ありがとうございます。", 1.1)

    async def accept(dialog: Dialog) -> None:
        assert "「受付の挨拶」を削除しますか" in dialog.message
        await dialog.accept()

    page.on("dialog", accept)
    await page.get_by_role("button", name="このガイダンスを削除する").click()
    await expect(page.get_by_role("status")).to_have_text("ガイダンスを削除しました。")
    assert await guidance.all_of(pool, console.a.tenant_id) == []
