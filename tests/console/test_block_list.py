"""The caller block list page: add (as people type numbers, or all withheld numbers), remove; said and audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from daemon.console import audit_words
from daemon.repositories import tenants
from daemon.repositories.audit import Record
from tests.console.conftest import BrowserFactory, Console
from tests.console.money_data import operator, pool_of

ENTRY = re.compile(r'id="blocked-(\d+)"')


async def test_an_operator_blocks_and_unblocks_a_caller(console: Console, browser: BrowserFactory) -> None:
    pool = pool_of(console)
    await tenants.add_number(pool, console.a.tenant_id, "0312345678", "coaching")
    b = await operator(console, browser)
    empty = await b.get("/console/block-list")
    assert empty.status == 200 and empty.has("着信拒否に登録された発信者はいません")
    added = await b.post(
        "/console/block-list",
        {"kind": "number", "caller": "０９０-１１１１-２２２２", "number": "", "note": "いたずら"},
    )
    assert added.status == 200 and added.url.endswith("/console/block-list")
    assert added.has("着信拒否に追加しました。") and added.has("09011112222") and added.has("いたずら")
    assert added.has("すべての番号")
    row = await pool.fetchrow("SELECT tenant_id, caller, number, note FROM blocked_callers")
    assert row is not None and tuple(row) == (console.a.tenant_id, "09011112222", None, "いたずら")
    again = await b.post("/console/block-list", {"kind": "number", "caller": "090 1111 2222", "number": ""})
    assert again.status == 409 and again.has("すでに着信拒否に登録されています")
    anonymous = await b.post("/console/block-list", {"kind": "anonymous", "caller": "", "number": "0312345678"})
    assert anonymous.status == 200 and anonymous.has("非通知の着信すべて") and anonymous.has("0312345678")
    assert anonymous.has('data-confirm="非通知の着信の着信拒否を解除しますか？"')

    entry = int(ENTRY.findall(anonymous.text)[-1])
    gone = await b.post(f"/console/block-list/{entry}/delete")
    assert gone.status == 200 and gone.url.endswith("/console/block-list") and gone.has("着信拒否から外しました。")
    assert not (await b.get("/console/block-list")).has("着信拒否から外しました。")  # once, not on a reload
    assert await pool.fetchval("SELECT count(*) FROM blocked_callers") == 1
    actions = await pool.fetch("SELECT action FROM audit_log WHERE action LIKE 'block_list.%' ORDER BY id")
    assert [r["action"] for r in actions] == ["block_list.add", "block_list.add", "block_list.remove"]


async def test_bad_input_is_refused_in_words_and_loses_nothing(console: Console, browser: BrowserFactory) -> None:
    b = await operator(console, browser)
    missing = await b.post("/console/block-list", {"kind": "number", "caller": "", "note": "メモは残る"})
    assert missing.status == 422 and missing.has("拒否する電話番号を入力してください") and missing.has("メモは残る")
    wrong = await b.post("/console/block-list", {"kind": "number", "caller": "12345", "note": ""})
    assert wrong.status == 422 and wrong.has("12345 は日本の電話番号ではありません") and wrong.has('value="12345"')
    not_ours = await b.post("/console/block-list", {"kind": "number", "caller": "09011112222", "number": "0399999999"})
    assert not_ours.status == 422 and not_ours.has("見つかりませんでした")
    assert await pool_of(console).fetchval("SELECT count(*) FROM blocked_callers") == 0


async def test_another_tenants_entry_cannot_be_removed_and_ivr_customers_have_the_page(
    console: Console, browser: BrowserFactory
) -> None:
    pool = pool_of(console)
    theirs = await pool.fetchval(
        "INSERT INTO blocked_callers (tenant_id, caller) VALUES ($1, '09011112222') RETURNING id", console.b.tenant_id
    )
    b = await operator(console, browser)
    page = await b.get("/console/block-list")
    assert not page.has("09011112222")
    refused = await b.post(f"/console/block-list/{theirs}/delete")
    assert refused.status == 404
    assert await pool.fetchval("SELECT count(*) FROM blocked_callers") == 1
    ivr = await browser()
    await ivr.login(console.a.ivr)
    shown = await ivr.get("/console/block-list")
    assert shown.status == 200 and shown.has("着信拒否に追加")


def test_the_audit_log_says_it_in_words() -> None:
    row = Record(1, datetime(2026, 12, 1, tzinfo=UTC), "op-alpha", 7, "block_list.add", "blocked 5", None,
                 {"caller": "anonymous", "number": None, "note": "非通知お断り"}, "", "console")  # fmt: skip
    assert audit_words.sentence(row) == "着信拒否 #5：着信拒否に追加しました"
    lines = [(c.field, c.after) for c in audit_words.lines(row)]
    assert lines == [("発信者", "非通知の着信すべて"), ("電話番号", "—"), ("メモ", "非通知お断り")]
