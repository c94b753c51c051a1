"""The invoice admin API over HTTP: forwarding add-on, contract history, invoices as JSON, CSV and HTML."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import aiohttp
import asyncpg
import pytest

from daemon.app import Daemon
from daemon.rules.billing.invoice import JST, Period, epoch_us
from daemon.services import invoices as invoice_service
from tests.conftest import DaemonFactory
from tests.http.test_status_admin import ADMIN, call, url

ISSUER = {
    "invoice_issuer_name": "calld株式会社",
    "invoice_issuer_address": "東京都千代田区丸の内1-1-1",
    "invoice_registration_number": "T7000012050002",
    "invoice_bank_account": "みずほ銀行 丸の内支店 普通 1234567 カ）コールディー",
    "invoice_due_days": 20,
}

SetClock = Callable[[datetime], None]


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> SetClock:
    def set_to(at: datetime) -> None:
        monkeypatch.setattr(invoice_service, "clock", lambda: at)

    return set_to


async def new_tenant(
    http: aiohttp.ClientSession, daemon: Daemon, pool: asyncpg.Pool, name: str = "株式会社アクメ", lines: int = 1
) -> tuple[int, Period, datetime]:
    """A tenant created now; its first month (from the recorded history, not this test's clock)."""
    status, body = await call(http, daemon, "POST", "/api/v1/tenants", {"name": name, "lines": lines})
    assert status == 201, body
    created: datetime = await pool.fetchval(
        "SELECT changed_at FROM contract_history WHERE tenant_id = $1 ORDER BY id LIMIT 1", body["id"]
    )
    return body["id"], Period.containing(created), created


def after(period: Period) -> datetime:
    return period.end + timedelta(days=1, hours=10)


class Document(HTMLParser):
    """Text by element id, every text, and the rows of the items table."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.texts: list[str] = []
        self.rows: list[list[str]] = []
        self._open: list[str | None] = []
        self._cell: list[str] | None = None
        self._in_items = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("meta", "br"):
            return
        self._open.append(found.get("id"))
        if found.get("id") is not None:
            self.by_id[found["id"] or ""] = ""
        if tag == "table" and found.get("id") == "items":
            self._in_items = True
        if self._in_items and tag == "tr" and found.get("class") == "line":
            self.rows.append([])
        if self._in_items and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("meta", "br"):
            return
        self._open.pop()
        if tag == "table":
            self._in_items = False
        if tag == "td" and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        for ident in self._open:
            if ident is not None:
                self.by_id[ident] += data
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


def parse(html: str) -> Document:
    doc = Document()
    doc.feed(html)
    doc.close()
    return doc


async def add_leg(pool: asyncpg.Pool, tenant_id: int, answered: datetime, charge_yen: int, billsec: int) -> None:
    answer_us = epoch_us(answered)
    await pool.execute(
        "INSERT INTO forward_legs (leg_uuid, call_uuid, tenant_id, node_id, number, state, outcome, created_us,"
        " answer_us, end_us, billsec, unit_seconds, yen_per_unit, charge_yen) VALUES (gen_random_uuid(),"
        " gen_random_uuid(), $1, 'n', '09012345678', 'ended', 'answered', $2, $2, $3, $4, 1, 1, $5)",
        tenant_id,
        answer_us,
        answer_us + billsec * 1_000_000,
        billsec,
        charge_yen,
    )


# The add-on and the history.


async def test_forwarding_add_on_on_and_off_with_its_history(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    tenant_id, _, _ = await new_tenant(http, daemon, pool, lines=2)
    path = f"/api/v1/tenants/{tenant_id}/forwarding"
    assert await call(http, daemon, "PUT", path, {"enabled": True}) == (
        200,
        {"tenant_id": tenant_id, "forwarding": True, "previous_forwarding": False},
    )
    assert (await call(http, daemon, "PUT", path, {"enabled": True}))[1]["previous_forwarding"] is True
    assert (await call(http, daemon, "PUT", f"/api/v1/tenants/{tenant_id}/lines", {"lines": 3}))[0] == 200
    assert (await call(http, daemon, "PUT", path, {"enabled": False}))[1]["previous_forwarding"] is True
    assert await pool.fetchval("SELECT forwarding FROM line_contracts WHERE tenant_id = $1", tenant_id) is False

    status, body = await call(http, daemon, "GET", f"/api/v1/tenants/{tenant_id}/contract")
    assert status == 200
    assert [(c["lines"], c["forwarding"]) for c in body["changes"]] == [(2, False), (2, True), (3, True), (3, False)]
    assert all(datetime.fromisoformat(c["changed_at"]).tzinfo is not None for c in body["changes"])


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"enabled": "yes"}, 422, "valid boolean"),
        ({"enabled": 1}, 422, "valid boolean"),
        ({}, 422, "required"),
        ({"enabled": True, "lines": 2}, 422, "not permitted"),
    ],
)
async def test_bad_forwarding_requests_change_nothing(
    start_daemon: DaemonFactory,
    http: aiohttp.ClientSession,
    pool: asyncpg.Pool,
    body: dict[str, Any],
    status: int,
    words: str,
) -> None:
    daemon = await start_daemon()
    tenant_id, _, _ = await new_tenant(http, daemon, pool)
    got, payload = await call(http, daemon, "PUT", f"/api/v1/tenants/{tenant_id}/forwarding", body)
    assert got == status and words in payload["error"], payload
    assert await pool.fetchval("SELECT count(*) FROM contract_history") == 1


async def test_unknown_tenants_are_404(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    for method, path, body in [
        ("PUT", "/api/v1/tenants/77/forwarding", {"enabled": True}),
        ("GET", "/api/v1/tenants/77/contract", None),
        ("GET", "/api/v1/tenants/77/invoices", None),
        ("GET", "/api/v1/tenants/77/invoices/2026-03", None),
        ("GET", "/api/v1/tenants/77/invoices/2026-03.html", None),
        ("POST", "/api/v1/tenants/77/invoices/2026-03/close", None),
        ("POST", "/api/v1/tenants/77/invoices/2026-03/adjustments", {"amount_yen": 1, "reason": "x"}),
    ]:
        status, payload = await call(http, daemon, method, path, body)
        assert (status, payload["error"]) == (404, "no tenant with id 77"), (method, path)


# Invoices.


async def test_preview_close_and_the_stored_invoice(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool, set_clock: SetClock
) -> None:
    daemon = await start_daemon(**ISSUER)
    tenant_id, month, created = await new_tenant(http, daemon, pool, lines=3)
    path = f"/api/v1/tenants/{tenant_id}/invoices/{month}"
    await add_leg(pool, tenant_id, created + timedelta(seconds=1), 45, 90)

    set_clock(created + timedelta(seconds=5))
    status, preview = await call(http, daemon, "GET", path)
    assert status == 200
    assert preview["status"] == "open" and preview["closed_at"] is None
    assert preview["number"] == f"INV-{tenant_id}-{month.compact}"
    assert [(x["code"], x["amount_yen"]) for x in preview["lines"]] == [
        ("base", 14_800),
        ("extra_lines", 20_000),
        ("forwarding_calls", 45),
    ]
    assert (preview["subtotal_yen"], preview["tax_yen"], preview["total_yen"]) == (34_845, 3_484, 38_329)
    assert preview["taxes"] == [{"rate_percent": 10, "taxable_yen": 34_845, "tax_yen": 3_484}]
    assert preview["issuer"]["registration_number"] == "T7000012050002"

    status, refused = await call(http, daemon, "POST", path + "/close")
    assert status == 409 and "is the current month: only a month that is over can be closed" in refused["error"]

    set_clock(after(month))
    status, closed = await call(http, daemon, "POST", path + "/close")
    assert status == 201
    assert closed["status"] == "closed"
    assert closed["issued_on"] == (month.end + timedelta(days=1)).date().isoformat()
    assert datetime.fromisoformat(closed["due_on"]) - datetime.fromisoformat(closed["issued_on"]) == timedelta(days=20)
    assert {k: v for k, v in closed.items() if k not in ("status", "closed_at", "issued_on", "due_on")} == {
        k: v for k, v in preview.items() if k not in ("status", "closed_at", "issued_on", "due_on")
    }

    assert (await call(http, daemon, "PUT", f"/api/v1/tenants/{tenant_id}/lines", {"lines": 9}))[0] == 200
    set_clock(after(month.next()))
    assert await call(http, daemon, "GET", path) == (200, closed)
    status, again = await call(http, daemon, "POST", path + "/close")
    assert status == 409 and "closed already" in again["error"]
    status, listing = await call(http, daemon, "GET", f"/api/v1/tenants/{tenant_id}/invoices")
    assert status == 200
    assert [(i["number"], i["total_yen"]) for i in listing["invoices"]] == [(closed["number"], 38_329)]


async def test_month_refusals(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool, set_clock: SetClock
) -> None:
    daemon = await start_daemon(**ISSUER)
    tenant_id, month, created = await new_tenant(http, daemon, pool)
    set_clock(created)
    base = f"/api/v1/tenants/{tenant_id}/invoices"
    status, body = await call(http, daemon, "GET", f"{base}/{month.next()}")
    assert status == 409 and "has not begun yet" in body["error"]
    status, body = await call(http, daemon, "POST", f"{base}/{month.next()}/close")
    assert status == 409 and "in the future" in body["error"]
    earlier = Period(month.year - 1, month.month)
    status, body = await call(http, daemon, "GET", f"{base}/{earlier}.csv")
    assert status == 404 and f"had no contract in {earlier}" in body["error"]
    for bad in ("2026-13", "2026-00", "1999-12"):
        status, body = await call(http, daemon, "GET", f"{base}/{bad}")
        assert status == 422 and body["detail"][0]["loc"] == ["path", "period"], bad
    assert (await call(http, daemon, "GET", f"{base}/2026-3"))[0] == 404  # no such route


async def test_closing_without_the_issuer_is_refused(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool, set_clock: SetClock
) -> None:
    daemon = await start_daemon()
    tenant_id, month, _ = await new_tenant(http, daemon, pool)
    set_clock(after(month))
    status, body = await call(http, daemon, "POST", f"/api/v1/tenants/{tenant_id}/invoices/{month}/close")
    assert status == 409 and "CALLD_INVOICE_REGISTRATION_NUMBER" in body["error"]
    assert await pool.fetchval("SELECT count(*) FROM invoices") == 0


async def test_the_printable_document_in_japanese(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool, set_clock: SetClock
) -> None:
    daemon = await start_daemon(**ISSUER)
    tenant_id, month, created = await new_tenant(http, daemon, pool, name="<b>アクメ</b> & Co.", lines=2)
    assert (await call(http, daemon, "PUT", f"/api/v1/tenants/{tenant_id}/forwarding", {"enabled": True}))[0] == 200
    await add_leg(pool, tenant_id, created + timedelta(seconds=1), 123, 3725)
    path = f"/api/v1/tenants/{tenant_id}/invoices/{month}"

    set_clock(created + timedelta(seconds=5))
    async with http.get(url(daemon, path + ".html"), headers=ADMIN) as resp:
        assert resp.status == 200 and resp.content_type == "text/html" and resp.charset == "utf-8"
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        open_doc = parse(await resp.text())
    assert "未確定" in open_doc.by_id["preview"]

    set_clock(after(month))
    assert (await call(http, daemon, "POST", path + "/close"))[0] == 201
    async with http.get(url(daemon, path + ".html"), headers=ADMIN) as resp:
        html = await resp.text()
    doc = parse(html)
    assert "<b>アクメ</b>" not in html  # the tenant's name is text, never markup
    issued = month.end.astimezone(JST).date() + timedelta(days=1)
    due = issued + timedelta(days=20)
    assert doc.by_id["addressee"] == "<b>アクメ</b> & Co. 御中"
    assert doc.by_id["number"] == f"INV-{tenant_id}-{month.compact}"
    assert doc.by_id["issued-on"] == f"{issued.year}年{issued.month}月{issued.day}日"
    assert doc.by_id["due-on"] == f"{due.year}年{due.month}月{due.day}日"
    assert doc.by_id["registration-number"] == "T7000012050002"
    assert doc.by_id["issuer-name"] == "calld株式会社"
    assert doc.by_id["issuer-address"] == "東京都千代田区丸の内1-1-1"
    assert doc.by_id["bank-account"] == "みずほ銀行 丸の内支店 普通 1234567 カ）コールディー"
    assert doc.by_id["payment-note"] == "振込手数料はお客様のご負担となります"
    assert doc.by_id["subtotal"] == "34,923円"  # 14,800 + 10,000 + 10,000 + 123
    assert doc.by_id["tax-10"] == "3,492円"
    assert doc.by_id["total"] == doc.by_id["amount-due"] == "38,415円"
    assert doc.by_id["taxable-10"] == "34,923円"
    assert "preview" not in doc.by_id
    assert doc.rows == [
        ["基本料金（1回線を含む）", "1ヶ月", "14,800円", "14,800円", "10%"],
        ["追加回線", "1回線", "10,000円", "10,000円", "10%"],
        ["転送オプション", "1ヶ月", "10,000円", "10,000円", "10%"],
        ["転送通話料（通話時間 1時間02分05秒）", "1件", "—", "123円", "10%"],
    ]
    for word in (
        "請求書",
        "御中",
        "請求番号",
        "発行日",
        "支払期限",
        "明細",
        "小計",
        "消費税",
        "合計",
        "振込先",
        "登録番号",
    ):
        assert word in doc.text, word


async def test_csv_columns(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool, set_clock: SetClock
) -> None:
    daemon = await start_daemon(**ISSUER)
    tenant_id, month, created = await new_tenant(http, daemon, pool, lines=1)
    set_clock(created)
    path = f"/api/v1/tenants/{tenant_id}/invoices/{month}"
    status, _ = await call(http, daemon, "POST", path + "/adjustments", {"amount_yen": -5, "reason": "=1+1 端数調整"})
    assert status == 201
    async with http.get(url(daemon, path + ".csv"), headers=ADMIN) as resp:
        assert resp.status == 200 and resp.content_type == "text/csv"
        assert resp.headers["Content-Disposition"] == f'attachment; filename="INV-{tenant_id}-{month.compact}.csv"'
        raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [
        "invoice_number",
        "period",
        "kind",
        "description",
        "quantity",
        "unit",
        "unit_price_yen",
        "amount_yen",
        "tax_rate_percent",
    ]
    number = f"INV-{tenant_id}-{month.compact}"
    assert rows[1:] == [
        [number, str(month), "base", "基本料金（1回線を含む）", "1", "ヶ月", "14800", "14800", "10"],
        [number, str(month), "adjustment", "調整: =1+1 端数調整", "1", "式", "-5", "-5", "10"],
        [number, str(month), "subtotal", "小計（税抜）", "", "", "", "14795", ""],
        [number, str(month), "tax", "消費税（10%対象 14795円）", "", "", "", "1479", "10"],
        [number, str(month), "total", "合計（税込）", "", "", "", "16274", ""],
    ]


# Adjustments.


async def test_adjustments_over_http(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool, set_clock: SetClock
) -> None:
    daemon = await start_daemon(**ISSUER)
    tenant_id, month, _ = await new_tenant(http, daemon, pool)
    set_clock(after(month))
    base = f"/api/v1/tenants/{tenant_id}/invoices"
    body = {"amount_yen": 3_000, "reason": "設定作業費", "idempotency_key": "k-1"}
    status, first = await call(http, daemon, "POST", f"{base}/{month}/adjustments", body)
    assert status == 201
    assert {k: first[k] for k in ("tenant_id", "period", "amount_yen", "reason", "replayed")} == {
        "tenant_id": tenant_id,
        "period": str(month),
        "amount_yen": 3_000,
        "reason": "設定作業費",
        "replayed": False,
    }
    status, replay = await call(http, daemon, "POST", f"{base}/{month}/adjustments", body)
    assert status == 200 and replay["replayed"] is True and replay["id"] == first["id"]
    status, closed = await call(http, daemon, "POST", f"{base}/{month}/close")
    assert status == 201 and closed["subtotal_yen"] == 17_800

    status, refused = await call(
        http, daemon, "POST", f"{base}/{month}/adjustments", {"amount_yen": -3_000, "reason": "取消"}
    )
    assert status == 409 and f"corrections go into an open month, e.g. {month.next()}" in refused["error"]
    status, _ = await call(
        http, daemon, "POST", f"{base}/{month.next()}/adjustments", {"amount_yen": -3_000, "reason": "取消"}
    )
    assert status == 201
    assert (await call(http, daemon, "GET", f"{base}/{month.next()}"))[1]["subtotal_yen"] == 11_800


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"amount_yen": 0, "reason": "x"}, "0 yen changes nothing"),
        ({"amount_yen": "100", "reason": "x"}, "valid integer"),
        ({"amount_yen": 1.5, "reason": "x"}, "valid integer"),
        ({"amount_yen": 100_000_001, "reason": "x"}, "less than or equal"),
        ({"amount_yen": 100, "reason": "  "}, "give the reason"),
        ({"amount_yen": 100, "reason": "一行目\n二行目"}, "one line of text"),
        ({"amount_yen": 100}, "required"),
        ({"amount_yen": 100, "reason": "x", "idempotency_key": "has space"}, "pattern"),
    ],
)
async def test_bad_adjustments_are_422_and_write_nothing(
    start_daemon: DaemonFactory,
    http: aiohttp.ClientSession,
    pool: asyncpg.Pool,
    set_clock: SetClock,
    body: dict[str, Any],
    words: str,
) -> None:
    daemon = await start_daemon()
    tenant_id, month, created = await new_tenant(http, daemon, pool)
    set_clock(created)
    status, payload = await call(
        http, daemon, "POST", f"/api/v1/tenants/{tenant_id}/invoices/{month}/adjustments", body
    )
    assert status == 422 and words in payload["error"], payload
    assert await pool.fetchval("SELECT count(*) FROM invoice_adjustments") == 0


async def test_invoices_need_the_admin_token(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon()
    status, _ = await call(http, daemon, "GET", "/api/v1/tenants/1/invoices/2026-03.html", headers={})
    assert status == 401
