"""The console speaks Japanese and takes numbers as people type them: form attributes, 404 pages,
phone numbers with hyphens, spaces and full-width digits (with the real reason for a refused one),
and the charge's ledger memo."""

from __future__ import annotations

import time

import asyncpg

from daemon.repositories import call_records, callers, counsellors, ledger
from tests.console.conftest import BrowserFactory, Console
from tests.factories import prepaid_caller, shop, talking


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def test_form_attributes_are_markup_not_escaped_text(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.admin)
    page = await b.get(f"/console/admin/tenants/{console.a.tenant_id}")
    assert 'inputmode="numeric"' in page.text and "&#34;" not in page.text


async def test_an_unknown_console_page_answers_in_japanese(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.a.operator)
    page = await b.get("/console/no-such-page")
    assert page.status == 404 and page.has("お探しのページは見つかりませんでした") and "Not Found" not in page.text


async def test_numbers_typed_with_hyphens_spaces_and_full_width_digits_are_stored_normalised(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.a.operator)
    await b.get("/console/counsellors/new")
    page = await b.post("/console/counsellors", {"name": "星野ひかり", "phone_number": "０９０-１２３４ ５６７８"})
    assert page.status == 200, page.text
    [hikari] = [c for c in await counsellors.list_all(pool, console.a.tenant_id) if c.name == "星野ひかり"]
    assert hikari.phone_number == "09012345678"
    page = await b.post("/console/counsellors", {"name": "月野うさぎ", "phone_number": "090-1234-567"})
    assert page.status == 422 and page.has("0901234567 は10桁です。090で始まる番号は11桁です")

    await b.get("/console/callers/new")
    form = {"name": "山田花子", "numbers": "03 1234 5678\n０８０ー１１１１ー２２２２", "billing": "prepaid"}
    page = await b.post("/console/callers/new", form | {"payment_method": "bank_transfer"})
    assert page.status == 200, page.text
    [hanako] = [c for c in await callers.list_all(pool, console.a.tenant_id) if c.name == "山田花子"]
    assert sorted(hanako.numbers) == ["0312345678", "08011112222"]


async def test_a_calls_charge_is_written_in_japanese_in_the_ledger(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    caller = await prepaid_caller(pool, s.tenant_id, yen=1000)
    answered = time.time_ns() // 1000 - 30_000_000
    call = await talking(pool, s.tenant_id, caller, 300, answered)
    await call_records.finish(
        pool, call, end_us=answered + 20_500_000, hangup_cause="NORMAL_CLEARING", ended_by="caller"
    )
    [charge] = [e for e in await ledger.entries(pool, s.tenant_id, caller) if e.kind == "charge"]
    assert (charge.memo, charge.amount_yen) == ("21秒・300円/分", -105)
