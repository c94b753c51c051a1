"""Payout report: per counsellor the month's calls, billed minutes, charges, pay at the rate of each call's
date, and the operator's commission; the same as a CSV Excel opens."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

from daemon.repositories import counsellors, ledger, pay_rates
from daemon.rules.billing.pay import PayRate
from tests.console.conftest import BrowserFactory, Console
from tests.console.money_data import caller, ended_call, operator, pool_of


async def _in_january_2020(console: Console, call: uuid.UUID, day: int) -> None:
    """Moves a call to noon of that day of January 2020, Japan time."""
    at = f"2020-01-{day:02d} 12:00:00+09"
    sql = "UPDATE call_records SET created_at = $2::text::timestamptz WHERE call_uuid = $1"
    await pool_of(console).execute(sql, call, at)


async def _rate(console: Console, counsellor_id: int, kind: str, value: int, since: str) -> None:
    rate = PayRate(kind, value, date.fromisoformat(since))  # type: ignore[arg-type]
    await pay_rates.put(pool_of(console), console.a.tenant_id, counsellor_id, rate)


async def test_pay_and_commission_per_counsellor_and_the_totals(console: Console, browser: BrowserFactory) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    taro = await caller(console, tenant, "山田太郎", "09011112222", yen=5_000)
    tanaka = await counsellors.create(pool, tenant, name="田中先生", phone_number="09088887777")
    suzuki = await counsellors.create(pool, tenant, name="鈴木先生", phone_number="09088886666")
    await counsellors.create(pool, tenant, name="暇な先生", phone_number="09088885555")
    await _rate(console, tanaka, "percent", 50, "2020-01-01")
    await _rate(console, tanaka, "percent", 40, "2020-01-16")  # a raise of the commission from the 16th
    await _rate(console, suzuki, "per_minute", 120, "2020-01-01")
    await _rate(console, suzuki, "per_minute", 999, "2099-01-01")  # not yet
    await ended_call(console, tenant, taro, seconds=60, counsellor_id=tanaka)  # 300円 → 120円 (40%)
    refunded = await ended_call(console, tenant, taro, seconds=120, counsellor_id=tanaka)  # 600円, 100円 back
    await ledger.post(pool, tenant, taro, "refund", 100, memo="音声不良", charge=ledger.ChargeRef(call_uuid=refunded))
    await ended_call(console, tenant, taro, seconds=180, counsellor_id=suzuki)  # 900円 → 360円 (3分×120円)
    before_raise = await ended_call(console, tenant, taro, seconds=60, counsellor_id=tanaka)  # 300円 → 150円 (50%)
    await _in_january_2020(console, before_raise, 15)
    after_raise = await ended_call(console, tenant, taro, seconds=30, counsellor_id=suzuki)  # 150円 → 60円
    await _in_january_2020(console, after_raise, 20)
    theirs = await caller(console, console.b.tenant_id, "ベータの人", "09099990000", yen=1_000)
    beta_sensei = await counsellors.create(pool, console.b.tenant_id, name="ベータ先生", phone_number="09011110000")
    await ended_call(console, console.b.tenant_id, theirs, seconds=60, counsellor_id=beta_sensei)

    b = await operator(console, browser)
    page = await b.get("/console/payouts")  # this month by default
    assert page.status == 200
    assert page.has(f'id="payout-{tanaka}-pay">320円') and page.has(f'id="payout-{suzuki}-pay">360円')
    assert page.has("課金額の40%") and page.has("1分あたり120円") and page.has("暇な先生") and page.has("未設定")
    assert page.has('id="total-calls">3件') and page.has('id="total-yen">1,700円')
    assert page.has('id="total-pay">680円') and page.has('id="total-commission">1,020円')
    assert not page.has("ベータ先生")

    january = await b.get("/console/payouts?month=2020-01")  # each call at the rate of its own date
    assert january.has(f'id="payout-{tanaka}-pay">150円') and january.has(f'id="payout-{suzuki}-pay">60円')
    assert january.has('id="total-calls">2件') and january.has('id="total-commission">240円')
    bad = await b.get("/console/payouts?month=2026-13")
    assert bad.status == 422 and bad.has("月の形式が正しくありません")


async def test_the_csv_opens_in_excel(console: Console, browser: BrowserFactory) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    taro = await caller(console, tenant, "山田太郎", "09011112222", yen=5_000)
    tanaka = await counsellors.create(pool, tenant, name="=田中先生", phone_number="09088887777")
    await _rate(console, tanaka, "per_minute", 100, "2020-01-01")
    call = await ended_call(console, tenant, taro, seconds=90, counsellor_id=tanaka)  # 450円 → 150円
    await _in_january_2020(console, call, 31)

    b = await operator(console, browser)
    async with b.session.get(b.base + "/console/payouts.csv?month=2020-01") as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
        assert "payouts-2020-01.csv" in response.headers["Content-Disposition"]
        body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8 only with it
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["対象月", "集計期間（日本時間）", "相談員"] and "報酬（円）" in rows[0]
    header = rows[0]
    line = dict(zip(header, rows[1], strict=True))
    assert line["相談員"] == "'=田中先生"  # never a formula
    assert line["集計期間（日本時間）"] == "2020-01-01 00:00〜2020-01-31 24:00 JST"
    assert (line["通話数"], line["課金分数"], line["課金額（円）"], line["報酬（円）"]) == ("1", "2", "450", "150")
    assert line["運営手数料（円）"] == "300" and line["報酬率（月末時点）"] == "1分あたり100円"
    assert dict(zip(header, rows[-1], strict=True))["相談員"] == "合計"


async def test_the_operator_sets_a_rate_with_its_date(console: Console, browser: BrowserFactory) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    tanaka = await counsellors.create(pool, tenant, name="田中先生", phone_number="09088887777")
    b = await operator(console, browser)
    setup = f"/console/counsellors/{tanaka}/setup"
    saved = await b.post(setup + "/rates", {"kind": "percent", "value": "４５", "effective_from": "2026-12-01"})
    assert saved.status == 200 and saved.has("報酬率を保存しました") and saved.has("課金額の45%")
    history = await pay_rates.history(pool, tenant, tanaka)
    assert history == [PayRate("percent", 45, date(2026, 12, 1))]
    audit = await pool.fetchrow("SELECT action, login, after FROM audit_log ORDER BY id DESC LIMIT 1")
    assert audit is not None and (audit["action"], audit["login"]) == ("counsellor.pay_rate", console.a.operator)

    too_much = await b.post(setup + "/rates", {"kind": "percent", "value": "150", "effective_from": "2026-12-02"})
    assert too_much.status == 422 and too_much.has("0〜100の範囲で入力してください")
    no_date = await b.post(setup + "/rates", {"kind": "per_minute", "value": "100", "effective_from": "12月"})
    assert no_date.status == 422 and no_date.has("日付の形式が正しくありません")
    assert len(await pay_rates.history(pool, tenant, tanaka)) == 1

    removed = await b.post(setup + "/rates/delete", {"effective_from": "2026-12-01"})
    assert removed.has("報酬率を取り消しました") and await pay_rates.history(pool, tenant, tanaka) == []

    other = await counsellors.create(pool, console.b.tenant_id, name="ベータ先生", phone_number="09011110000")
    theirs = await b.post(
        f"/console/counsellors/{other}/setup/rates", {"kind": "percent", "value": "10", "effective_from": "2026-12-01"}
    )
    assert theirs.status == 404 and await pay_rates.history(pool, console.b.tenant_id, other) == []
