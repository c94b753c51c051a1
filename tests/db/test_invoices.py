"""Invoices on a real PostgreSQL: the history every change path writes, previews, closing, adjustments."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from daemon.postgres.migrate import migrate, migration_files
from daemon.repositories import contracts, invoices, tenants
from daemon.rules.billing.invoice import JST, Invoice, Issuer, NoContract, Period, epoch_us, month_usage
from tests.db.earlier_schema import schema_before

MARCH = Period(2026, 3)
APRIL = Period(2026, 4)
TERMS = invoices.Terms(
    issuer=Issuer(
        name="calld株式会社", registration_number="T7000012050002", bank_account="みずほ銀行 本店 普通 1234567"
    ),
    due_days=30,
)
AFTER_MARCH = datetime(2026, 4, 2, 10, 0, tzinfo=JST)
IN_MAY = datetime(2026, 5, 3, 9, 0, tzinfo=JST)


def jst(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=JST)


async def tenant_since(pool: asyncpg.Pool, at: datetime, lines: int, name: str = "株式会社アクメ") -> int:
    """A tenant whose contract began at ``at`` (the same rows create_tenant writes, stamped in the past)."""
    async with pool.acquire() as conn, conn.transaction():
        tenant_id: int = await conn.fetchval(
            "INSERT INTO tenants (name, created_at) VALUES ($1, $2) RETURNING id", name, at
        )
        await conn.execute(
            "INSERT INTO line_contracts (tenant_id, lines, updated_at) VALUES ($1, $2, $3)", tenant_id, lines, at
        )
    return tenant_id


async def lines_at(pool: asyncpg.Pool, tenant_id: int, lines: int, at: datetime) -> None:
    await pool.execute(
        "UPDATE line_contracts SET lines = $2, updated_at = $3 WHERE tenant_id = $1", tenant_id, lines, at
    )


async def forwarded(
    pool: asyncpg.Pool, tenant_id: int, answered: datetime, charge_yen: int | None, billsec: int = 60
) -> None:
    answer_us = epoch_us(answered)
    ended = charge_yen is not None
    await pool.execute(
        "INSERT INTO forward_legs (leg_uuid, call_uuid, tenant_id, node_id, number, state, outcome, created_us,"
        " answer_us, end_us, billsec, unit_seconds, yen_per_unit, charge_yen)"
        " VALUES ($1, $2, $3, 'node-a', '09012345678', $4, $5, $6, $6, $7, $8, 60, 30, $9)",
        uuid.uuid4(),
        uuid.uuid4(),
        tenant_id,
        "ended" if ended else "talking",
        "answered" if ended else None,
        answer_us,
        answer_us + billsec * 1_000_000 if ended else None,
        billsec if ended else None,
        charge_yen,
    )


def amounts(invoice: Invoice) -> list[tuple[str, int, int]]:
    return [(line.code, line.quantity, line.amount_yen) for line in invoice.lines]


async def preview(pool: asyncpg.Pool, tenant_id: int, period: Period, now: datetime = IN_MAY) -> Invoice:
    return await invoices.invoice(pool, tenant_id, period, TERMS, now)


# History.


async def test_every_change_path_writes_the_history_in_its_transaction(pool: asyncpg.Pool) -> None:
    tenant_id = await tenants.create_tenant(pool, "acme", 2)
    await tenants.set_lines(pool, tenant_id, 5)
    assert await contracts.set_forwarding(pool, tenant_id, True) is False
    assert await contracts.set_forwarding(pool, tenant_id, True) is True  # no change, no row
    await pool.execute("UPDATE line_contracts SET lines = 3 WHERE tenant_id = $1", tenant_id)  # plain SQL, no stamp
    await pool.execute("UPDATE line_contracts SET lines = 3 WHERE tenant_id = $1", tenant_id)  # no change
    history = await contracts.changes(pool, tenant_id)
    assert [(c.lines, c.forwarding) for c in history] == [(2, False), (5, False), (5, True), (3, True)]
    stamps = [c.changed_at for c in history]
    assert stamps == sorted(stamps)
    db_now: datetime = await pool.fetchval("SELECT now()")
    assert db_now - timedelta(minutes=1) < stamps[0] and stamps[-1] <= db_now

    with pytest.raises(tenants.NotFound):
        await tenants.set_lines(pool, tenant_id + 1, 4)
    with pytest.raises(tenants.NotFound):
        await contracts.set_forwarding(pool, tenant_id + 1, True)
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await conn.execute("UPDATE line_contracts SET lines = 9 WHERE tenant_id = $1", tenant_id)
                raise RuntimeError("rolled back")
    assert len(await contracts.changes(pool, tenant_id)) == 4
    assert await pool.fetchval("SELECT count(*) FROM contract_history") == 4


async def test_the_history_is_append_only(pool: asyncpg.Pool) -> None:
    tenant_id = await tenants.create_tenant(pool, "acme", 1)
    for sql in ("UPDATE contract_history SET lines = 0", "DELETE FROM contract_history"):
        with pytest.raises(asyncpg.RaiseError, match="never changed or deleted"):
            await pool.execute(sql)
    assert [c.lines for c in await contracts.changes(pool, tenant_id)] == [1]


# Months.


async def test_a_line_raised_mid_month_is_charged_for_the_whole_month(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1)
    await lines_at(pool, tenant_id, 3, jst(2026, 3, 15, 14, 30))
    assert amounts(await preview(pool, tenant_id, Period(2026, 2))) == [("base", 1, 14_800)]
    march = await preview(pool, tenant_id, MARCH)
    assert amounts(march) == [("base", 1, 14_800), ("extra_lines", 2, 20_000)]
    assert (march.subtotal_yen, march.tax_yen, march.total_yen) == (34_800, 3_480, 38_280)
    assert amounts(await preview(pool, tenant_id, APRIL)) == [("base", 1, 14_800), ("extra_lines", 2, 20_000)]


async def test_a_line_lowered_mid_month_is_charged_this_month_not_the_next(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 4)
    await lines_at(pool, tenant_id, 2, jst(2026, 3, 20))
    assert amounts(await preview(pool, tenant_id, MARCH)) == [("base", 1, 14_800), ("extra_lines", 3, 30_000)]
    assert amounts(await preview(pool, tenant_id, APRIL)) == [("base", 1, 14_800), ("extra_lines", 1, 10_000)]


async def test_forwarding_added_mid_month(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1)
    await contracts.set_forwarding(pool, tenant_id, True, at=jst(2026, 3, 28, 9))
    await contracts.set_forwarding(pool, tenant_id, False, at=jst(2026, 4, 3, 9))
    await forwarded(pool, tenant_id, jst(2026, 3, 29, 10), 150, billsec=150)
    await forwarded(pool, tenant_id, jst(2026, 3, 30, 10), 30, billsec=20)
    assert amounts(await preview(pool, tenant_id, Period(2026, 2))) == [("base", 1, 14_800)]
    march = await preview(pool, tenant_id, MARCH)
    assert amounts(march) == [("base", 1, 14_800), ("forwarding_addon", 1, 10_000), ("forwarding_calls", 2, 180)]
    assert (march.usage.forwarding_calls, march.usage.forwarding_seconds) == (2, 170)
    assert march.tax_yen == 2_498  # 24,980 × 10 %
    assert amounts(await preview(pool, tenant_id, APRIL)) == [  # on for two days of April
        ("base", 1, 14_800),
        ("forwarding_addon", 1, 10_000),
        ("forwarding_calls", 0, 0),
    ]
    assert amounts(await preview(pool, tenant_id, Period(2026, 5), IN_MAY + timedelta(days=40))) == [
        ("base", 1, 14_800)
    ]


async def test_a_month_with_no_calls(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 2)
    await contracts.set_forwarding(pool, tenant_id, True, at=jst(2026, 2, 11))
    other = await tenant_since(pool, jst(2026, 2, 10), 1, name="other")
    await forwarded(pool, other, jst(2026, 3, 5), 500)  # someone else's call
    march = await preview(pool, tenant_id, MARCH)
    assert amounts(march) == [
        ("base", 1, 14_800),
        ("extra_lines", 1, 10_000),
        ("forwarding_addon", 1, 10_000),
        ("forwarding_calls", 0, 0),
    ]
    assert march.total_yen == 38_280


async def test_forwarded_calls_belong_to_the_month_of_their_answer_in_tokyo(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1)
    await contracts.set_forwarding(pool, tenant_id, True, at=jst(2026, 2, 11))
    await forwarded(pool, tenant_id, jst(2026, 3, 1, 0, 0, 0) - timedelta(microseconds=1), 1)  # Feb 28 23:59:59.999999
    await forwarded(pool, tenant_id, jst(2026, 3, 1, 0, 0, 0), 10)
    await forwarded(pool, tenant_id, jst(2026, 3, 31, 23, 59, 59), 100)  # 14:59:59 UTC: still March in Tokyo
    await forwarded(pool, tenant_id, jst(2026, 4, 1, 0, 0, 0), 1000)  # 15:00 UTC on March 31st: April in Tokyo
    totals = {}
    for period in (Period(2026, 2), MARCH, APRIL):
        got = await preview(pool, tenant_id, period)
        totals[str(period)] = [x.amount_yen for x in got.lines if x.code == "forwarding_calls"]
    assert totals == {"2026-02": [1], "2026-03": [110], "2026-04": [1000]}


async def test_a_month_before_the_contract_has_no_invoice(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 3, 31, 23, 59, 59), 1)
    with pytest.raises(NoContract):
        await preview(pool, tenant_id, Period(2026, 2))
    assert amounts(await preview(pool, tenant_id, MARCH)) == [("base", 1, 14_800)]  # one second of March: all of it
    with pytest.raises(tenants.NotFound):
        await preview(pool, tenant_id + 1, MARCH)
    with pytest.raises(invoices.InvoiceRefused, match="has not begun"):
        await preview(pool, tenant_id, Period(2026, 6))


# Closing.


async def test_a_closed_invoice_never_changes_even_when_the_history_does(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1)
    await forwarded(pool, tenant_id, jst(2026, 3, 10), 200)
    closed = await invoices.close(pool, tenant_id, MARCH, TERMS, AFTER_MARCH)
    assert closed.status == "closed" and closed.closed_at == AFTER_MARCH
    assert (closed.number, str(closed.issued_on), str(closed.due_on)) == ("INV-1-202603", "2026-04-02", "2026-05-02")
    assert closed.total_yen == (14_800 + 200) * 110 // 100

    # Afterwards: a backdated raise into March, a late call, a renamed tenant, other issuer settings.
    await lines_at(pool, tenant_id, 5, jst(2026, 3, 15))
    await forwarded(pool, tenant_id, jst(2026, 3, 11), 999)
    await pool.execute("UPDATE tenants SET name = 'renamed' WHERE id = $1", tenant_id)
    other_terms = invoices.Terms(issuer=TERMS.issuer.model_copy(update={"name": "someone else"}), due_days=5)
    history = contracts.states(await contracts.changes(pool, tenant_id))
    assert month_usage(history, MARCH).max_lines == 5  # a recomputation would differ…

    again = await invoices.invoice(pool, tenant_id, MARCH, other_terms, IN_MAY)
    assert again == closed  # …the stored invoice does not
    assert again.addressee == "株式会社アクメ" and again.issuer.name == "calld株式会社"
    for sql in ("UPDATE invoices SET total_yen = 0, subtotal_yen = 0, tax_yen = 0", "DELETE FROM invoices"):
        with pytest.raises(asyncpg.RaiseError, match="never changed or deleted"):
            await pool.execute(sql)
    with pytest.raises(invoices.InvoiceRefused, match="closed already"):
        await invoices.close(pool, tenant_id, MARCH, TERMS, IN_MAY)
    row = await pool.fetchrow("SELECT number, subtotal_yen, tax_yen, total_yen FROM invoices")
    assert row is not None and tuple(row) == ("INV-1-202603", 15_000, 1_500, 16_500)


@pytest.mark.parametrize(
    ("now", "words"),
    [
        (jst(2026, 3, 31, 23, 59, 59), "is the current month"),
        (jst(2026, 2, 20), "is in the future"),
    ],
)
async def test_only_a_month_that_is_over_can_be_closed(pool: asyncpg.Pool, now: datetime, words: str) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1)
    with pytest.raises(invoices.InvoiceRefused, match=words):
        await invoices.close(pool, tenant_id, MARCH, TERMS, now)
    assert await pool.fetchval("SELECT count(*) FROM invoices") == 0
    closed = await invoices.close(pool, tenant_id, MARCH, TERMS, jst(2026, 4, 1, 0, 0, 0))
    assert closed.issued_on.isoformat() == "2026-04-01"


async def test_closing_waits_for_calls_still_in_progress(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1)
    await forwarded(pool, tenant_id, jst(2026, 3, 31, 23, 58), None)  # answered in March, still talking
    with pytest.raises(invoices.InvoiceRefused, match="1 forwarded call"):
        await invoices.close(pool, tenant_id, MARCH, TERMS, AFTER_MARCH)
    await pool.execute("UPDATE forward_legs SET state = 'ended', billsec = 300, charge_yen = 150")
    closed = await invoices.close(pool, tenant_id, MARCH, TERMS, AFTER_MARCH)
    assert [x.amount_yen for x in closed.lines if x.code == "forwarding_calls"] == [150]


async def test_closing_needs_the_issuer(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1)
    unset = invoices.Terms(issuer=Issuer(name="", registration_number=""), due_days=30)
    assert (await invoices.invoice(pool, tenant_id, MARCH, unset, AFTER_MARCH)).total_yen == 16_280  # preview is fine
    with pytest.raises(invoices.InvoiceRefused, match="CALLD_INVOICE_ISSUER_NAME"):
        await invoices.close(pool, tenant_id, MARCH, unset, AFTER_MARCH)


# Adjustments.


async def test_corrections_of_a_closed_month_go_into_the_next(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1)
    closed = await invoices.close(pool, tenant_id, MARCH, TERMS, AFTER_MARCH)
    with pytest.raises(invoices.InvoiceRefused, match=r"corrections go into an open month, e\.g\. 2026-04"):
        await invoices.add_adjustment(pool, tenant_id, MARCH, -1000, "3月分の誤請求", TERMS, AFTER_MARCH)

    added = await invoices.add_adjustment(pool, tenant_id, APRIL, -1005, "3月分 転送通話の過請求", TERMS, AFTER_MARCH)
    assert (added.period, added.amount_yen, added.replayed) == ("2026-04", -1005, False)
    april = await preview(pool, tenant_id, APRIL)
    assert amounts(april) == [("base", 1, 14_800), ("adjustment", 1, -1005)]
    assert april.lines[-1].description == "調整: 3月分 転送通話の過請求"
    assert (april.subtotal_yen, april.tax_yen, april.total_yen) == (13_795, 1_379, 15_174)  # 1,379.5 → 1,379
    assert await invoices.invoice(pool, tenant_id, MARCH, TERMS, IN_MAY) == closed


async def test_adjustments_are_exactly_once_and_bounded(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1)
    first = await invoices.add_adjustment(
        pool, tenant_id, MARCH, 500, "工事費", TERMS, AFTER_MARCH, idempotency_key="adj-1"
    )
    again = await invoices.add_adjustment(
        pool, tenant_id, MARCH, 500, "工事費", TERMS, AFTER_MARCH, idempotency_key="adj-1"
    )
    assert again.replayed and again.id == first.id
    with pytest.raises(invoices.InvoiceRefused, match="idempotency_key"):
        await invoices.add_adjustment(
            pool, tenant_id, MARCH, 600, "工事費", TERMS, AFTER_MARCH, idempotency_key="adj-1"
        )
    with pytest.raises(invoices.InvoiceRefused, match="exceeds 2026-03's charges"):
        await invoices.add_adjustment(pool, tenant_id, MARCH, -15_301, "返金", TERMS, AFTER_MARCH)
    await invoices.add_adjustment(pool, tenant_id, MARCH, -15_300, "返金", TERMS, AFTER_MARCH)  # down to zero is fine
    assert (await preview(pool, tenant_id, MARCH)).total_yen == 0
    with pytest.raises(invoices.InvoiceRefused, match="has not begun"):
        await invoices.add_adjustment(pool, tenant_id, Period(2026, 5), 1, "先の月", TERMS, AFTER_MARCH)
    with pytest.raises(NoContract):
        await invoices.add_adjustment(pool, tenant_id, Period(2026, 1), 1, "契約前", TERMS, AFTER_MARCH)
    with pytest.raises(asyncpg.RaiseError):
        await pool.execute("DELETE FROM invoice_adjustments")
    assert await pool.fetchval("SELECT count(*) FROM invoice_adjustments") == 2


async def test_an_adjustment_racing_the_close_is_either_on_the_invoice_or_refused(pool: asyncpg.Pool) -> None:
    for attempt in range(6):
        tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1, name=f"race-{attempt}")
        closing, adding = await asyncio.gather(
            invoices.close(pool, tenant_id, MARCH, TERMS, AFTER_MARCH),
            invoices.add_adjustment(pool, tenant_id, MARCH, 100, "競合", TERMS, AFTER_MARCH),
            return_exceptions=True,
        )
        assert isinstance(closing, Invoice)
        on_invoice = [x.amount_yen for x in closing.lines if x.code == "adjustment"]
        if isinstance(adding, invoices.InvoiceRefused):
            assert on_invoice == []
        else:
            assert isinstance(adding, invoices.Adjustment) and on_invoice == [100]


async def test_closed_invoices_are_listed(pool: asyncpg.Pool) -> None:
    tenant_id = await tenant_since(pool, jst(2026, 2, 10), 1)
    assert await invoices.closed_invoices(pool, tenant_id) == []
    await invoices.close(pool, tenant_id, MARCH, TERMS, AFTER_MARCH)
    await invoices.close(pool, tenant_id, Period(2026, 2), TERMS, AFTER_MARCH)
    listed = await invoices.closed_invoices(pool, tenant_id)
    assert [(c.number, c.total_yen) for c in listed] == [("INV-1-202602", 16_280), ("INV-1-202603", 16_280)]
    assert listed[0].closed_at == AFTER_MARCH.astimezone(UTC)


async def test_contracts_that_existed_before_the_history_get_their_line_changes(pg_server: str, tmp_path: Path) -> None:
    """The migration seeds the history from line_contract_changes; the add-on counts from the migration on."""
    async with schema_before(pg_server, tmp_path, 11) as conn:
        old = await conn.fetchval(
            "INSERT INTO tenants (name, created_at) VALUES ('old', '2026-01-05 10:00+09') RETURNING id"
        )
        await conn.execute("INSERT INTO line_contracts (tenant_id, lines, forwarding) VALUES ($1, 2, true)", old)
        await conn.execute(
            "INSERT INTO line_contract_changes (tenant_id, old_lines, new_lines, changed_at) VALUES"
            " ($1, NULL, 1, '2026-01-05 10:00+09'), ($1, 1, 4, '2026-02-10 12:00+09'),"
            " ($1, 4, 2, '2026-03-03 12:00+09')",
            old,
        )
        bare = await conn.fetchval(
            "INSERT INTO tenants (name, created_at) VALUES ('bare', '2026-02-20 10:00+09') RETURNING id"
        )
        await conn.execute("INSERT INTO line_contracts (tenant_id, lines) VALUES ($1, 3)", bare)
        assert await migrate(conn) == [p.stem for p in migration_files() if int(p.name[:3]) >= 11]
        migrated_at: datetime = await conn.fetchval(
            "SELECT applied_at FROM schema_migrations WHERE version = '011_invoices'"
        )

        old_history = contracts.states(await contracts.changes(conn, old))
        assert [(s.lines, s.forwarding) for s in old_history] == [(1, False), (4, False), (2, False), (2, True)]
        assert old_history[-1].at == migrated_at
        assert month_usage(old_history, Period(2026, 2)).max_lines == 4
        assert (month_usage(old_history, MARCH).max_lines, month_usage(old_history, MARCH).forwarding) == (4, False)
        bare_history = contracts.states(await contracts.changes(conn, bare))
        assert [(s.at, s.lines, s.forwarding) for s in bare_history] == [(jst(2026, 2, 20, 10), 3, False)]
