"""Malformed console requests: a Japanese 4xx page, never a 500 (see also tests/http/test_malformed.py)."""

from __future__ import annotations

from daemon.repositories import ledger
from tests.console.conftest import BrowserFactory, Console
from tests.console.money_data import KEY, caller, operator, pool_of

NUL_IN_PART_HEADER = b'--b\r\nContent-Disposition: form-data; name="log\x00in"\r\n\r\nop-alpha\r\n--b--\r\n'


async def test_a_nul_in_a_part_header_of_the_login_form_is_a_400_page(
    console: Console, browser: BrowserFactory
) -> None:
    b = await browser()
    for content_type in ("multipart/form-data; boundary=b", "multipart/form-data"):
        async with b.session.post(
            b.base + "/console/login", data=NUL_IN_PART_HEADER, headers={"Content-Type": content_type}
        ) as response:
            text = await response.text()
            assert response.status == 400, text
            assert "送信されたフォームを読み取れませんでした" in text


async def test_a_flow_version_beyond_the_column_is_not_found(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.a.ivr)
    await b.get("/console/ivr/flows")
    for version in ("2147483648", "99999999999999999999999"):
        page = await b.post(f"/console/ivr/flows/{version}/publish")
        assert page.status == 404 and page.has("お探しのデータは見つかりませんでした"), page.text


async def test_a_deposit_booked_without_its_key_is_refused_and_books_nothing(
    console: Console, browser: BrowserFactory
) -> None:
    b = await operator(console, browser)
    caller_id = await caller(console, console.a.tenant_id, "山田太郎", "09011112222")
    await b.get(f"/console/deposits/{caller_id}")  # the form holds a key: this booking leaves it out
    no_key = {"amount_yen": "5000", "paid_on": "2026-12-01", "bank_memo": "ヤマダ"}
    page = await b.post(f"/console/deposits/{caller_id}/book", no_key)
    assert 400 <= page.status < 500 and page.has("記帳キーがありません"), page.text
    assert await ledger.entries(pool_of(console), console.a.tenant_id, caller_id) == []
    found = KEY.search(page.text)  # the form comes back with a fresh key, ready to send again
    assert found is not None and found.group(1).startswith("console-")
