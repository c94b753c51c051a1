"""An operator imports the bank's statement in a real Chromium: matched by フリガナ, booked once, and
not again when the same file is imported a second time; a hand deposit of a booked transfer is warned of."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Locator, Page, expect

from daemon.repositories import callers, ledger
from tests.console.browser.conftest import Screenshot, logged_in
from tests.console.conftest import Console
from tests.console.shop import pool_of

STATEMENT = Path(__file__).resolve().parents[2] / "fixtures" / "bank_statements" / "zengin_transactions.txt"


async def _deposits(console: Console, caller: int) -> list[int]:
    entries = await ledger.entries(pool_of(console), console.a.tenant_id, caller)
    return [e.amount_yen for e in entries if e.kind == "deposit"]


def _by_payer(page: Page, payer: str) -> Locator:
    """The open lines from this remitter (every row's caller list names every caller: look at the payer's cell)."""
    cell = page.locator("td[data-label=振込依頼人名]", has_text=payer)
    return page.locator("#open-lines tbody tr").filter(has=cell)


async def _upload(page: Page) -> None:
    await page.goto("/console/deposits")
    await page.get_by_role("link", name="入金明細の取込").click()
    await page.get_by_label("明細ファイル").set_input_files(STATEMENT)
    await page.get_by_role("button", name="取り込む").click()


async def test_a_statement_is_matched_confirmed_and_booked_once_and_a_reimport_books_nothing(
    console: Console, page: Page, screenshot: Screenshot
) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    hanako = await callers.create(pool, tenant, name="山田花子", billing="prepaid", payment_method="bank_transfer")
    await logged_in(page, console.a.operator)

    # the caller's フリガナ, typed in hiragana on the caller's form, is kept in katakana
    await page.goto(f"/console/callers/{hanako}/edit")
    await page.get_by_label("フリガナ・振込名義").fill("やまだ はなこ")
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_text("ヤマダ\u3000ハナコ")).to_be_visible()

    await _upload(page)
    await expect(page.locator("#import-notice")).to_have_text(
        "全銀協形式の明細を取り込みました: 5件のうち新しい入金 5件"
    )
    rows = page.locator("#open-lines tbody tr")
    await expect(rows).to_have_count(5)
    ticked = page.locator("#open-lines input[name=book]:checked")
    await expect(ticked).to_have_count(3)  # 山田花子's three transfers; the others name no caller
    hanako_rows = _by_payer(page, "ヤマダ\u3000ハナコ")
    for i in range(3):
        await expect(hanako_rows.nth(i).locator("select")).to_have_value(str(hanako))
        await expect(hanako_rows.nth(i)).to_contain_text("フリガナが一致")
    await screenshot(page, "bank-import")

    # a transfer nobody's フリガナ names is matched by hand: chosen and ticked
    stranger = _by_payer(page, "スズキ\u3000イチロウ")
    await stranger.locator("select").select_option(str(hanako))
    await stranger.locator("input[name=book]").check()
    await page.get_by_role("button", name="チェックした入金を記帳する").click()
    await expect(page.locator("#book-outcomes li[data-status=booked]")).to_have_count(4)
    await expect(rows).to_have_count(1)  # サトウ stays open for a hand match
    assert sorted(await _deposits(console, hanako)) == [3000, 3000, 3000, 12345]

    # the same file again: nothing new, nothing booked twice
    await _upload(page)
    await expect(page.locator("#import-notice")).to_have_text(
        "全銀協形式の明細を取り込みました: 5件のうち新しい入金 0件"
    )
    await expect(rows).to_have_count(1)
    assert sorted(await _deposits(console, hanako)) == [3000, 3000, 3000, 12345]
    await expect(page.locator("#settled-lines tbody tr")).to_have_count(4)

    # booking the 12-01 transfer again by hand: the confirmation warns before anything is booked
    await page.goto(f"/console/deposits/{hanako}")
    await page.get_by_label("入金額（円）").fill("3000")
    await page.get_by_label("振込日").fill("2026-12-01")
    await page.get_by_role("button", name="確認へ進む").click()
    await expect(page.locator("#same-transfer")).to_contain_text("同じ振込日・同じ金額の入金が既に記帳されています")
    assert sorted(await _deposits(console, hanako)) == [3000, 3000, 3000, 12345]


async def test_a_file_that_is_no_statement_is_refused_in_japanese_and_stores_nothing(
    console: Console, page: Page, tmp_path: Path
) -> None:
    wrong = tmp_path / "memo.csv"
    wrong.write_text("名前,金額\nヤマダ,3000\n", encoding="utf-8")
    await logged_in(page, console.a.operator)
    await page.goto("/console/deposits/import")
    await page.get_by_label("明細ファイル").set_input_files(wrong)
    await page.get_by_role("button", name="取り込む").click()
    await expect(page.locator("[data-field=file]")).to_contain_text("銀行の入出金明細として読めませんでした（1行目）")
    assert await pool_of(console).fetchval("SELECT count(*) FROM bank_lines") == 0


async def test_a_statement_past_the_form_limit_is_streamed_and_read_whole(
    console: Console, page: Page, tmp_path: Path
) -> None:
    rows = [f"202612{1 + i % 28:02d},{1000 + i},0,振込＊ﾃｽﾄ ｶﾞｸﾞ{i:05d}" for i in range(2000)]
    big = tmp_path / "rakuten.csv"
    big.write_bytes(("取引日,入出金(円),取引後残高(円),入出金内容\r\n" + "\r\n".join(rows)).encode("cp932"))
    assert big.stat().st_size > 64 * 1024  # the console's limit for ordinary forms
    await logged_in(page, console.a.operator)
    await page.goto("/console/deposits/import")
    await page.get_by_label("明細ファイル").set_input_files(big)
    await page.get_by_role("button", name="取り込む").click()
    notice = "楽天銀行CSVの明細を取り込みました: 2000件のうち新しい入金 2000件"
    await expect(page.locator("#import-notice")).to_have_text(notice)
    await expect(page.locator("#open-count")).to_contain_text("未照合 2000件のうち新しい200件")
    assert (
        await pool_of(console).fetchval("SELECT count(*) FROM bank_lines WHERE tenant_id = $1", console.a.tenant_id)
        == 2000
    )
