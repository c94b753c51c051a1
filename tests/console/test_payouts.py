"""Payout report: per counsellor, the calls, talk time and yen charged in a period, with totals."""

from __future__ import annotations

from daemon.repositories import counsellors, ledger, payouts
from tests.console.conftest import BrowserFactory, Console
from tests.console.money_data import caller, ended_call, operator, pool_of


async def test_each_counsellor_and_the_totals(console: Console, browser: BrowserFactory) -> None:
    pool, tenant = pool_of(console), console.a.tenant_id
    taro = await caller(console, tenant, "山田太郎", "09011112222", yen=5_000)
    tanaka = await counsellors.create(pool, tenant, name="田中先生", phone_number="09088887777")
    suzuki = await counsellors.create(pool, tenant, name="鈴木先生", phone_number="09088886666")
    await counsellors.create(pool, tenant, name="暇な先生", phone_number="09088885555")
    await ended_call(console, tenant, taro, seconds=60, counsellor_id=tanaka)  # 300円
    refunded = await ended_call(console, tenant, taro, seconds=120, counsellor_id=tanaka)  # 600円, 100円 back
    await ended_call(console, tenant, taro, seconds=180, counsellor_id=suzuki)  # 900円
    old = await ended_call(console, tenant, taro, seconds=60, counsellor_id=suzuki)
    await pool.execute("UPDATE call_records SET created_at = '2020-01-15 03:00:00+00' WHERE call_uuid = $1", old)
    await ledger.post(pool, tenant, taro, "refund", 100, memo="音声不良", charge=ledger.ChargeRef(call_uuid=refunded))
    theirs = await caller(console, console.b.tenant_id, "ベータの人", "09099990000", yen=1_000)
    beta_sensei = await counsellors.create(pool, console.b.tenant_id, name="ベータ先生", phone_number="09011110000")
    await ended_call(console, console.b.tenant_id, theirs, seconds=60, counsellor_id=beta_sensei)

    by_name = {t.name: t for t in await _totals(console)}
    tanaka_row = by_name["田中先生"]
    assert (tanaka_row.calls, tanaka_row.talk_seconds, tanaka_row.charged_yen) == (2, 180, 800)
    assert (by_name["鈴木先生"].calls, by_name["鈴木先生"].charged_yen) == (2, 1_200)  # no period: every call
    assert by_name["暇な先生"].calls == 0 and "ベータ先生" not in by_name

    b = await operator(console, browser)
    page = await b.get("/console/payouts")  # this month by default
    assert page.status == 200
    assert page.has("田中先生") and page.has("800円") and page.has("3分0秒") and page.has("暇な先生")
    assert page.has('id="total-calls">3件') and page.has('id="total-yen">1,700円') and not page.has("ベータ先生")
    then = await b.get("/console/payouts?since=2020-01-15&until=2020-01-15")  # until is included
    assert then.has('id="total-calls">1件') and then.has('id="total-yen">300円')
    bad = await b.get("/console/payouts?since=2026-13-01")
    assert bad.status == 422 and bad.has("日付の形式が正しくありません")
    backwards = await b.get("/console/payouts?since=2026-12-02&until=2026-12-01")
    assert backwards.status == 422 and backwards.has("終了日は開始日以降にしてください")


async def _totals(console: Console) -> list[payouts.CounsellorTotal]:
    return await payouts.counsellor_totals(pool_of(console), console.a.tenant_id, since=None, until=None)
