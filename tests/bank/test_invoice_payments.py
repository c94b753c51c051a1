"""Our invoices paid: matched from our own statement by number or amount, paid once, by hand too; overdue listed."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from daemon.repositories import audit, invoices
from daemon.services import invoice_payments
from daemon.services.actor import Actor
from daemon.services.errors import Conflict, Forbidden
from tests.db.test_invoices import AFTER_MARCH, MARCH, TERMS, jst, tenant_since

ADMIN = Actor.cli("root")
TOTAL = 16_280  # March, one line (14,800 + 10% tax)


def _statement(*rows: tuple[str, int, str]) -> bytes:
    """Our account's statement as 楽天銀行 exports it (Shift_JIS)."""
    lines = ["取引日,入出金(円),取引後残高(円),入出金内容"]
    lines += [f"{day},{yen},0,振込＊{who}" for day, yen, who in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


async def _issued(pool: asyncpg.Pool, name: str) -> str:
    tenant = await tenant_since(pool, jst(2026, 2, 10), 1, name)
    return (await invoices.close(pool, tenant, MARCH, TERMS, AFTER_MARCH)).number


async def test_our_statement_pays_invoices_by_number_or_amount_once(pool: asyncpg.Pool) -> None:
    acme, beta = await _issued(pool, "株式会社アクメ"), await _issued(pool, "ベータ商店")
    acme_digits = acme.replace("INV-", "").replace("-", "")
    data = _statement(
        ("20260420", TOTAL, f"{acme_digits} ｶ)ｱｸﾒ"),  # the number typed before the name
        ("20260421", 500, "ﾀﾞﾚｶ"),  # neither
    )
    assert (await invoice_payments.import_statement(pool, ADMIN, "ours.csv", data)).new == 2
    found = {p.line.payer: p for p in await invoice_payments.proposals(pool, ADMIN)}
    acme_line = next(p for payer, p in found.items() if payer.startswith(acme_digits))
    assert (acme_line.invoice and acme_line.invoice.number, acme_line.how) == (acme, "number_and_amount")
    assert found["ダレカ"].invoice is None
    # with acme's proposal taken, a transfer of the right total and no number names beta: the only one left
    [outcome] = await invoice_payments.pay_from_statement(pool, ADMIN, [(acme_line.line.id, acme)])
    assert outcome.status == "paid"
    more = _statement(("20260422", TOTAL, "ﾍﾞｰﾀｼｮｳﾃﾝ"))
    await invoice_payments.import_statement(pool, ADMIN, "ours2.csv", more)
    [beta_line] = [p for p in await invoice_payments.proposals(pool, ADMIN) if p.invoice]
    assert (beta_line.invoice and beta_line.invoice.number, beta_line.how) == (beta, "amount")

    # the same statement again and the same confirmation again: nothing paid twice
    assert (await invoice_payments.import_statement(pool, ADMIN, "ours.csv", data)).new == 0
    [again] = await invoice_payments.pay_from_statement(pool, ADMIN, [(acme_line.line.id, acme)])
    assert again.status == "already"
    # another line naming a paid invoice is refused, the line stays open
    [other] = [p.line.id for p in await invoice_payments.proposals(pool, ADMIN) if p.line.payer == "ダレカ"]
    [refused] = await invoice_payments.pay_from_statement(pool, ADMIN, [(other, acme)])
    assert (refused.status, refused.code) == ("refused", "invoice_already_paid")
    assert [p.number for p in await invoice_payments.unpaid(pool, ADMIN)] == [beta]
    [paid] = await invoice_payments.paid(pool, ADMIN)
    assert (paid.number, paid.paid_on, paid.amount_yen) == (acme, date(2026, 4, 20), TOTAL)
    assert [r.action for r in await audit.recent(pool)].count("invoice.paid") == 1


async def test_an_invoice_is_marked_paid_by_hand_once_and_overdue_ones_are_listed(pool: asyncpg.Pool) -> None:
    acme, beta = await _issued(pool, "株式会社アクメ"), await _issued(pool, "ベータ商店")
    dues = await invoice_payments.unpaid(pool, ADMIN)
    due_on = dues[0].due_on
    assert invoice_payments.overdue(dues, due_on) == []  # due today is not overdue yet
    assert {d.number for d in invoice_payments.overdue(dues, date.fromordinal(due_on.toordinal() + 1))} == {acme, beta}

    await invoice_payments.mark_paid(pool, ADMIN, acme, date(2026, 4, 30), TOTAL, "現金で受領")
    with pytest.raises(Conflict) as twice:
        await invoice_payments.mark_paid(pool, ADMIN, acme, date(2026, 4, 30), TOTAL, "")
    assert twice.value.code == "invoice_already_paid"
    [row] = [r for r in await audit.recent(pool) if r.action == "invoice.paid"]
    assert (row.target, row.after["memo"], row.after["hand"]) == (f"invoice {acme}", "現金で受領", True)
    assert [d.number for d in await invoice_payments.unpaid(pool, ADMIN)] == [beta]
    with pytest.raises(Forbidden):
        await invoice_payments.mark_paid(pool, Actor.tenant_token(1), beta, date(2026, 4, 30), TOTAL, "")
