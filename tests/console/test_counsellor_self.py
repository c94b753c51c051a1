"""A counsellor's own pages: the login their operator makes, duty in one tap, their own calls and pay only."""

from __future__ import annotations

from datetime import date

from daemon.repositories import counsellors, duty_pins, pay_rates
from daemon.rules.billing.pay import PayRate
from tests.console.client import PASSWORD, Browser
from tests.console.conftest import BrowserFactory, Console
from tests.console.money_data import caller, ended_call, operator, pool_of

HANAKO_LOGIN = "hanako"


async def _counsellor_with_login(console: Console, browser: BrowserFactory) -> tuple[int, Browser]:
    """花子先生, her login made by the operator on her setup page, and her browser logged in."""
    pool, tenant = pool_of(console), console.a.tenant_id
    hanako = await counsellors.create(pool, tenant, name="花子先生", phone_number="09077778888", on_duty=False)
    op = await operator(console, browser)
    made = await op.post(
        f"/console/counsellors/{hanako}/setup/login", {"login": HANAKO_LOGIN.upper(), "password": PASSWORD}
    )
    assert made.status == 200 and made.has("ログインを作成しました") and made.has("hanako")
    b = await browser()
    home = await b.login(HANAKO_LOGIN)
    assert home.status == 200 and home.url.endswith("/console/me"), home.url
    return hanako, b


async def test_the_operator_makes_the_login_and_the_counsellor_lands_on_their_page(
    console: Console, browser: BrowserFactory
) -> None:
    hanako, b = await _counsellor_with_login(console, browser)
    page = await b.get("/console/me")
    assert page.has("花子先生さん") and page.has("待機開始") and page.has("相談員）")  # the role in the header
    assert not page.has("/console/callers") and not page.has("/console/board")  # no operator's menu

    op = await operator(console, browser)
    again = await op.post(f"/console/counsellors/{hanako}/setup/login", {"login": "hanako2", "password": PASSWORD})
    assert again.status == 409 and again.has("この相談員のログインは作成済みです")
    other = await counsellors.create(pool_of(console), console.a.tenant_id, name="別の先生", phone_number="09011113333")
    taken = await op.post(f"/console/counsellors/{other}/setup/login", {"login": "hanako", "password": PASSWORD})
    assert taken.status == 409 and taken.has("このログインIDは既に使われています")
    short = await op.post(f"/console/counsellors/{other}/setup/login", {"login": "betsu", "password": "short"})
    assert short.status == 422 and short.has("パスワードは10〜200文字にしてください")
    theirs = await counsellors.create(
        pool_of(console), console.b.tenant_id, name="ベータ先生", phone_number="09011110000"
    )
    foreign = await op.post(f"/console/counsellors/{theirs}/setup/login", {"login": "beta1", "password": PASSWORD})
    assert foreign.status == 404


async def test_duty_in_one_tap_audited_and_csrf_checked(console: Console, browser: BrowserFactory) -> None:
    hanako, b = await _counsellor_with_login(console, browser)
    pool = pool_of(console)
    on = await b.post("/console/me/duty", {"on_duty": "1"})
    assert on.status == 200 and on.has("待機を開始しました") and on.has("待機終了")
    assert await pool.fetchval("SELECT on_duty FROM counsellors WHERE id = $1", hanako) is True
    audit = await pool.fetchrow("SELECT action, login, target FROM audit_log ORDER BY id DESC LIMIT 1")
    assert audit is not None and tuple(audit) == ("counsellor.duty", HANAKO_LOGIN, f"counsellor {hanako}")

    forged = await b.post("/console/me/duty", {"on_duty": "0"}, csrf="not-the-token")
    assert forged.status == 403
    assert await pool.fetchval("SELECT on_duty FROM counsellors WHERE id = $1", hanako) is True
    off = await b.post("/console/me/duty", {"on_duty": "0"})
    assert (
        off.has("待機を終了しました")
        and await pool.fetchval("SELECT on_duty FROM counsellors WHERE id = $1", hanako) is False
    )


async def test_own_calls_and_pay_only(console: Console, browser: BrowserFactory) -> None:
    hanako, b = await _counsellor_with_login(console, browser)
    pool, tenant = pool_of(console), console.a.tenant_id
    await pay_rates.put(pool, tenant, hanako, PayRate("percent", 40, date(2020, 1, 1)))
    taro = await caller(console, tenant, "山田太郎", "09011112222", yen=98_765)
    mine = await ended_call(console, tenant, taro, seconds=120, counsellor_id=hanako)  # 600円 → 240円
    await pool.execute("UPDATE call_records SET caller_number = '09011112222' WHERE call_uuid = $1", mine)
    someone = await counsellors.create(pool, tenant, name="他の先生", phone_number="09033334444")
    jiro = await caller(console, tenant, "佐藤次郎", "09055556666", yen=5_000)
    theirs = await ended_call(console, tenant, jiro, seconds=60, counsellor_id=someone)
    await pool.execute("UPDATE call_records SET caller_number = '09055556666' WHERE call_uuid = $1", theirs)

    page = await b.get("/console/me")
    assert page.has('id="today-calls">1件') and page.has('id="today-pay">240円') and page.has('id="month-pay">240円')
    assert page.has("090****2222") and page.has("2分0秒") and page.has("600円")
    for secret in ("09011112222", "山田太郎", "98,765", "佐藤次郎", "090****6666", "他の先生"):
        assert not page.has(secret), secret
    month = await b.get("/console/me/calls")
    assert month.has('id="month-calls">1件') and month.has('id="month-pay">240円')
    empty = await b.get("/console/me/calls?month=2020-01")
    assert empty.has('id="month-calls">0件') and empty.has("通話はありません")
    bad = await b.get("/console/me/calls?month=2020-1x")
    assert bad.status == 422 and bad.has("月の形式が正しくありません")


async def test_a_counsellor_cannot_open_the_operators_pages(console: Console, browser: BrowserFactory) -> None:
    _, b = await _counsellor_with_login(console, browser)
    for path in ("/console/board", "/console/callers", "/console/payouts", "/console/calls", "/console/counsellors"):
        assert (await b.get(path)).status == 403, path
    assert (await b.post("/console/counsellors/1/duty", {"on_duty": "1"})).status == 403
    op = await operator(console, browser)
    assert (await op.get("/console/me")).status == 403  # and an operator has no counsellor's page


async def test_own_duty_pin(console: Console, browser: BrowserFactory) -> None:
    hanako, b = await _counsellor_with_login(console, browser)
    pool, tenant = pool_of(console), console.a.tenant_id
    mismatch = await b.post("/console/me/pin", {"pin": "2468", "pin_again": "2469"})
    assert mismatch.status == 422 and mismatch.has("確認用の暗証番号が一致しません")
    letters = await b.post("/console/me/pin", {"pin": "12ab", "pin_again": "12ab"})
    assert letters.status == 422 and letters.has("4〜8桁の数字")
    assert not await duty_pins.has_pin(pool, tenant, hanako)
    saved = await b.post("/console/me/pin", {"pin": "2468", "pin_again": "2468"})
    assert saved.has("電話の暗証番号を変更しました") and await duty_pins.has_pin(pool, tenant, hanako)
    phone = await duty_pins.by_phone(pool, tenant, "09077778888")
    assert phone is not None and await duty_pins.verify(phone, "2468") and not await duty_pins.verify(phone, "2469")
    stored = await pool.fetchval("SELECT duty_pin_hash FROM counsellors WHERE id = $1", hanako)
    assert "2468" not in stored
    audit = await pool.fetchrow("SELECT action, after FROM audit_log ORDER BY id DESC LIMIT 1")
    assert audit is not None and audit["action"] == "counsellor.duty_pin" and "2468" not in audit["after"]


async def test_the_platform_lists_a_counsellors_login(console: Console, browser: BrowserFactory) -> None:
    hanako, _ = await _counsellor_with_login(console, browser)
    admin = await browser()
    await admin.login(console.admin)
    users = await admin.get("/console/admin/users")
    assert users.status == 200 and users.has("hanako") and users.has("相談員")
    user_id = await pool_of(console).fetchval("SELECT id FROM console_users WHERE counsellor_id = $1", hanako)
    detail = await admin.get(f"/console/admin/users/{user_id}")
    assert detail.status == 200 and detail.has("相談員")


async def test_the_operator_resets_a_forgotten_password(console: Console, browser: BrowserFactory) -> None:
    hanako, b = await _counsellor_with_login(console, browser)
    op = await operator(console, browser)
    short = await op.post(f"/console/counsellors/{hanako}/setup/password", {"new_password": "short"})
    assert short.status == 422 and short.has("パスワードは10〜200文字にしてください")
    reset = await op.post(f"/console/counsellors/{hanako}/setup/password", {"new_password": "a brand new secret"})
    assert reset.has("パスワードを再設定しました")
    assert (await b.get("/console/me")).url.split("?")[0].endswith("/console/login")  # her session ended
    fresh = await browser()
    assert (await fresh.login(HANAKO_LOGIN, "a brand new secret")).url.endswith("/console/me")
    nobody = await counsellors.create(pool_of(console), console.a.tenant_id, name="未作成", phone_number="09011113333")
    none = await op.post(f"/console/counsellors/{nobody}/setup/password", {"new_password": "a brand new secret"})
    assert none.status == 404
