"""Deposits as an operator books them after checking the bank, and adjustments/refunds: two steps, once."""

from __future__ import annotations

from datetime import datetime

from daemon.repositories import audit, callers, ledger
from daemon.services.values import TOKYO
from tests.console.client import Browser
from tests.console.conftest import BrowserFactory, Console
from tests.console.money_data import KEY, caller, ended_call, operator, pool_of


def key_of(text: str) -> str:
    found = KEY.search(text)
    assert found is not None, text
    return found.group(1)


async def deposit_form(b: Browser, caller_id: int, amount: str, memo: str = "ヤマダ タロウ") -> dict[str, str]:
    form = await b.get(f"/console/deposits/{caller_id}")
    assert form.status == 200
    today = datetime.now(TOKYO).date().isoformat()
    assert form.has(f'value="{today}"')  # the transfer date defaults to today in Tokyo
    return {"key": key_of(form.text), "amount_yen": amount, "paid_on": "2026-12-01", "bank_memo": memo}


async def test_a_deposit_is_found_confirmed_and_booked_once(console: Console, browser: BrowserFactory) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    caller_id = await caller(console, tenant, "山田太郎", "09011112222", yen=1_000)
    b = await operator(console, browser)
    lookup = await b.get("/console/deposits?q=09011112222")
    assert lookup.has("山田太郎") and lookup.has(f"/console/deposits/{caller_id}")

    fields = await deposit_form(b, caller_id, "５,０００円")
    confirm = await b.post(f"/console/deposits/{caller_id}", fields)
    assert confirm.status == 200
    assert confirm.has("現在の残高 1,000円 → 入金後 6,000円")
    assert key_of(confirm.text) == fields["key"]
    assert len(await ledger.entries(pool, tenant, caller_id)) == 1  # nothing booked by the confirmation

    done = await b.post(f"/console/deposits/{caller_id}/book", fields)
    assert done.status == 200 and "/entries/" in done.url
    assert done.has("記帳後の残高") and done.has("6,000円") and not done.has("既に記帳済み")
    again = await b.post(f"/console/deposits/{caller_id}/book", fields)  # double click / browser retry
    assert again.status == 200 and again.has("この入金は既に記帳済みです") and again.has("6,000円")
    assert again.url.split("?")[0] == done.url

    entries = await ledger.entries(pool, tenant, caller_id)
    assert [e.amount_yen for e in entries] == [1_000, 5_000]
    assert entries[-1].memo == "振込日 2026-12-01 ヤマダ タロウ" and entries[-1].idempotency_key == fields["key"]
    assert (await callers.get(pool, tenant, caller_id)).balance_yen == 6_000
    [row] = await audit.recent(pool, tenant)
    assert row.action == "ledger.deposit" and row.target == f"caller {caller_id}"
    assert row.before == {"balance_yen": 1_000} and row.after["balance_yen"] == 6_000
    assert (await b.get(f"/console/callers/{caller_id}")).has("6,000円")


async def test_a_bad_amount_is_said_in_japanese_and_nothing_is_booked(
    console: Console, browser: BrowserFactory
) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    caller_id = await caller(console, tenant, "山田太郎", "09011112222")
    b = await operator(console, browser)
    for amount, words in (
        ("abc", "数字で入力してください"),
        ("0", "より大きい値で入力してください"),
        ("", "入力してください"),
    ):
        fields = await deposit_form(b, caller_id, amount)
        for step in ("", "/book"):
            page = await b.post(f"/console/deposits/{caller_id}{step}", fields)
            assert page.status == 422 and page.has(words), (amount, step)
            assert page.has("ヤマダ タロウ")  # what was typed is kept
    bad_date = {**(await deposit_form(b, caller_id, "1000")), "paid_on": "昨日"}
    assert (await b.post(f"/console/deposits/{caller_id}", bad_date)).has("日付の形式が正しくありません")
    assert await ledger.entries(pool, tenant, caller_id) == []
    assert await audit.recent(pool, tenant) == []


async def test_another_tenants_caller_is_not_found(console: Console, browser: BrowserFactory) -> None:
    pool = pool_of(console)
    theirs = await caller(console, console.b.tenant_id, "ベータの人", "09099990000")
    mine = await caller(console, console.a.tenant_id, "アルファの人", "09099990001")
    b = await operator(console, browser)
    assert (await b.get(f"/console/deposits/{theirs}")).status == 404
    assert not (await b.get("/console/deposits?q=0909999")).has("ベータの人")
    fields = await deposit_form(b, mine, "1000")
    for step in ("", "/book"):
        page = await b.post(f"/console/deposits/{theirs}{step}", fields)
        assert page.status == 404
    assert (await b.get(f"/console/callers/{theirs}/adjust")).status == 404
    assert await ledger.entries(pool, console.b.tenant_id, theirs) == []


async def adjust(b: Browser, caller_id: int, **values: str) -> dict[str, str]:
    form = await b.get(f"/console/callers/{caller_id}/adjust")
    assert form.status == 200
    return {"key": key_of(form.text), "kind": "adjustment", "charge_id": "", "memo": "", **values}


async def test_adjustments_need_a_reason_and_respect_the_balance(console: Console, browser: BrowserFactory) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    caller_id = await caller(console, tenant, "調整さん", "09011113333", yen=1_000)
    b = await operator(console, browser)
    no_reason = await adjust(b, caller_id, amount_yen="-300")
    page = await b.post(f"/console/callers/{caller_id}/adjust", no_reason)
    assert page.status == 422 and page.has("理由を入力してください")
    too_much = await adjust(b, caller_id, amount_yen="-1500", memo="誤入金の取り消し")
    assert (await b.post(f"/console/callers/{caller_id}/adjust", too_much)).has("現在の残高 1,000円 → 調整後 -500円")
    page = await b.post(f"/console/callers/{caller_id}/adjust/book", too_much)
    assert page.status == 409 and page.has("残高（後払いの場合は与信枠）が足りないため記帳できません")
    assert (await callers.get(pool, tenant, caller_id)).balance_yen == 1_000

    fields = await adjust(b, caller_id, amount_yen="-300", memo="誤入金の取り消し")
    confirm = await b.post(f"/console/callers/{caller_id}/adjust", fields)
    assert confirm.has("現在の残高 1,000円 → 調整後 700円")
    for _ in range(2):
        assert (await b.post(f"/console/callers/{caller_id}/adjust/book", fields)).has("700円")
    changed = {**fields, "amount_yen": "-200"}  # the same key for something else
    page = await b.post(f"/console/callers/{caller_id}/adjust/book", changed)
    assert page.status == 409 and page.has("既に別の内容で送信されています")
    assert [e.amount_yen for e in await ledger.entries(pool, tenant, caller_id)] == [1_000, -300]
    assert [r.action for r in await audit.recent(pool, tenant)] == ["ledger.adjustment"]


async def test_a_refund_gives_back_at_most_what_a_call_charged(console: Console, browser: BrowserFactory) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    caller_id = await caller(console, tenant, "返金さん", "09011114444", yen=2_000)
    await ended_call(console, tenant, caller_id, seconds=60, rate=300)
    [charge] = [e for e in await ledger.entries(pool, tenant, caller_id) if e.kind == "charge"]
    assert charge.amount_yen == -300
    b = await operator(console, browser)
    form = await b.get(f"/console/callers/{caller_id}/adjust")
    assert form.has(f'value="{charge.id}"')
    over = await adjust(b, caller_id, kind="refund", charge_id=str(charge.id), amount_yen="500", memo="音声不良")
    page = await b.post(f"/console/callers/{caller_id}/adjust/book", over)
    assert page.status == 409 and page.has("返金額がこの課金の残り")
    fields = await adjust(b, caller_id, kind="refund", charge_id=str(charge.id), amount_yen="300", memo="音声不良")
    assert (await b.post(f"/console/callers/{caller_id}/adjust", fields)).has("現在の残高 1,700円 → 返金後 2,000円")
    done = await b.post(f"/console/callers/{caller_id}/adjust/book", fields)
    assert done.status == 200 and done.has("返金を記帳しました")
    [refund] = [e for e in await ledger.entries(pool, tenant, caller_id) if e.kind == "refund"]
    assert refund.refund_of == charge.id and refund.amount_yen == 300
