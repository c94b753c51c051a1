"""Callers: list with balance and billing, search, create, edit, PIN reset, detail with the ledger."""

from __future__ import annotations

from daemon.repositories import audit, callers, ledger
from tests.console.conftest import BrowserFactory, Console
from tests.console.money_data import caller, operator, pool_of


async def test_the_list_shows_balance_and_billing_and_searches(console: Console, browser: BrowserFactory) -> None:
    await caller(console, console.a.tenant_id, "山田太郎", "09011112222", yen=12_345)
    await caller(console, console.a.tenant_id, "佐藤花子", "08033334444")
    await caller(console, console.b.tenant_id, "他社の人", "09055556666", yen=999)
    b = await operator(console, browser)
    page = await b.get("/console/callers")
    assert page.status == 200
    assert page.has("山田太郎") and page.has("12,345円") and page.has("前払い") and page.has("佐藤花子")
    assert not page.has("他社の人")
    by_number = await b.get("/console/callers?q=090-1111")
    assert by_number.has("山田太郎") and not by_number.has("佐藤花子")
    by_international = await b.get("/console/callers?q=%2B8180333")
    assert by_international.has("佐藤花子") and not by_international.has("山田太郎")
    by_name = await b.get("/console/callers?q=花子")
    assert by_name.has("佐藤花子") and not by_name.has("山田太郎")
    assert (await b.get("/console/callers?q=100%25")).has("当てはまる利用者はいません")


async def test_create_edit_and_reset_the_pin_all_audited(console: Console, browser: BrowserFactory) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    b = await operator(console, browser)
    form = await b.get("/console/callers/new")
    assert form.status == 200 and form.has("利用者の登録")
    page = await b.post(
        "/console/callers/new",
        {
            "name": "鈴木一郎",
            "numbers": "09012340000\n+818012340000",
            "billing": "postpaid",
            "payment_method": "card",
            "credit_limit_yen": "30,000",
            "pin": "4321",
        },
    )
    assert page.status == 200 and page.has("鈴木一郎") and page.has("後払い")
    [row] = await callers.list_all(pool, tenant)
    assert row.numbers == ("08012340000", "09012340000") and row.credit_limit_yen == 30_000 and row.has_pin
    assert page.url.endswith(f"/console/callers/{row.id}")

    edited = await b.post(
        f"/console/callers/{row.id}/edit",
        {"name": "鈴木一郎", "numbers": "09012340000", "billing": "postpaid", "payment_method": "card"},
    )
    assert edited.status == 200
    row = await callers.get(pool, tenant, row.id)
    assert row.numbers == ("09012340000",) and row.credit_limit_yen is None
    assert row.has_pin  # editing the settings keeps the PIN

    assert (await b.post(f"/console/callers/{row.id}/pin", {"pin": "98765"})).status == 200
    assert await callers.caller_by_pin(pool, tenant, "98765") is not None
    records = await audit.recent(pool, tenant)
    assert [r.action for r in records] == ["caller.pin_reset", "caller.update", "caller.create"]
    assert all("98765" not in str(r.after) and "4321" not in str(r.after) for r in records)
    assert records[1].before["numbers"] == ["08012340000", "09012340000"]
    assert records[1].after["numbers"] == ["09012340000"]


async def test_bad_input_is_said_in_japanese_and_changes_nothing(console: Console, browser: BrowserFactory) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    b = await operator(console, browser)
    page = await b.post(
        "/console/callers/new",
        {
            "name": "入力ミス",
            "numbers": "",
            "billing": "prepaid",
            "payment_method": "bank_transfer",
            "credit_limit_yen": "abc",
        },
    )
    assert page.status == 422 and page.has("数字で入力してください") and page.has("入力ミス")
    assert await callers.list_all(pool, tenant) == []
    caller_id = await caller(console, tenant, "既存", "09000000001")
    page = await b.post(f"/console/callers/{caller_id}/pin", {"pin": "12"})
    assert page.status == 422 and page.has("形式が正しくありません")
    assert not (await callers.get(pool, tenant, caller_id)).has_pin
    taken = await b.post(
        "/console/callers/new",
        {"name": "二重", "numbers": "09000000001", "billing": "prepaid", "payment_method": "bank_transfer"},
    )
    assert taken.status == 409 and taken.has("既に別の利用者に登録されています")
    rules = (
        ({"numbers": "090-1234-567"}, "0901234567 は10桁です。090で始まる番号は11桁です"),  # hyphens are fine
        ({"payment_method": "card"}, "カード払いの利用者は後払いにしてください"),
        ({"credit_limit_yen": "1000"}, "与信枠は後払いの利用者にだけ設定できます"),
        ({"numbers": "09011112222\n09011112222"}, "同じ電話番号が二度入力されています"),
    )
    for wrong, words in rules:
        fields = {"name": "規則", "numbers": "", "billing": "prepaid", "payment_method": "bank_transfer", **wrong}
        page = await b.post("/console/callers/new", fields)
        assert page.status == 422 and page.has(words), wrong
    assert [c.name for c in await callers.list_all(pool, tenant)] == ["既存"]
    assert await audit.recent(pool, tenant) == []


async def test_the_detail_shows_the_ledger_newest_first(console: Console, browser: BrowserFactory) -> None:
    caller_id = await caller(console, console.a.tenant_id, "台帳さん", "09077778888", yen=1_000)
    await ledger.post(pool_of(console), console.a.tenant_id, caller_id, "deposit", 2_500, memo="二回目")
    b = await operator(console, browser)
    page = await b.get(f"/console/callers/{caller_id}")
    assert page.status == 200 and page.has("3,500円") and page.has("2,500円")
    assert page.text.index("二回目") < page.text.index("opening deposit")


async def test_another_tenants_caller_is_not_found(console: Console, browser: BrowserFactory) -> None:
    theirs = await caller(console, console.b.tenant_id, "ベータの人", "09099990000")
    b = await operator(console, browser)
    for path in (f"/console/callers/{theirs}", f"/console/callers/{theirs}/edit"):
        page = await b.get(path)
        assert page.status == 404 and page.has("見つかりません") and not page.has("ベータの人")
    page = await b.post(f"/console/callers/{theirs}/pin", {"pin": "1234"})
    assert page.status == 404
    assert not (await callers.get(pool_of(console), console.b.tenant_id, theirs)).has_pin
