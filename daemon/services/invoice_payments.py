"""Our invoices marked paid: from our own bank statement (the operators' reader) or by hand; overdue ones listed.

The platform's staff only.  Our statement is stored like an operator's
(:func:`daemon.services.deposit_import.read_and_store`, owner None: the
platform's account), so a line is stored once however often it is imported.
Each open line is proposed the invoice whose number its remitter typed, or
whose total it pays when only one unpaid invoice has it
(:func:`~daemon.rules.bank_statements.matching.match_invoice`); the admin
confirms, and each confirmed line pays its invoice in a transaction of its own
(line locked, one payment per invoice, an ``invoice.paid`` audit row).
A payment that came another way (cash, a transfer from an account whose
statement we do not import) is marked by hand, audited the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg

from daemon.repositories import bank_lines, invoice_payments
from daemon.repositories.bank_lines import BankLine, Stored
from daemon.repositories.invoice_payments import Due, Payment
from daemon.rules.bank_statements.matching import Invoice, match_invoice
from daemon.services import deposit_import
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import Conflict, Invalid, NotFound, Problem

PAID, ALREADY, REFUSED = "paid", "already", "refused"
ALREADY_PAID = "invoice_already_paid"
MAX_MEMO = 500


async def import_statement(pool: asyncpg.Pool, actor: Actor, file_name: str, data: bytes) -> Stored:
    actor.require_platform()
    return await deposit_import.read_and_store(pool, actor, None, file_name, data)


async def unpaid(pool: asyncpg.Pool, actor: Actor) -> list[Due]:
    actor.require_platform()
    return await invoice_payments.unpaid(pool)


def overdue(dues: Sequence[Due], today: date) -> list[Due]:
    """The unpaid invoices whose due date has passed (Japan's ``today``)."""
    return [d for d in dues if d.due_on < today]


async def paid(pool: asyncpg.Pool, actor: Actor, limit: int = 100) -> list[Payment]:
    actor.require_platform()
    return await invoice_payments.payments(pool, limit)


@dataclass(frozen=True, slots=True)
class Proposal:
    line: BankLine
    invoice: Due | None
    how: str


async def proposals(pool: asyncpg.Pool, actor: Actor) -> list[Proposal]:
    """Open lines of our account, each with the invoice it seems to pay."""
    actor.require_platform()
    dues = await invoice_payments.unpaid(pool)
    by_number = {d.number: d for d in dues}
    candidates = [Invoice(d.number, d.total_yen) for d in dues]
    out: list[Proposal] = []
    for line in await bank_lines.lines(pool, None, bank_lines.OPEN):
        number, how = match_invoice(line.payer, line.amount_yen, candidates)
        out.append(Proposal(line, by_number.get(number) if number else None, how))
    return out


@dataclass(frozen=True, slots=True)
class Outcome:
    line_id: int
    number: str
    status: str  # PAID | ALREADY | REFUSED
    code: str = ""
    message: str = ""


def _refused(exc: invoice_payments.AlreadyPaid) -> Conflict:
    return Conflict(str(exc), code=ALREADY_PAID)


async def _pay_one(pool: asyncpg.Pool, actor: Actor, line_id: int, number: str) -> Outcome:
    async with change(pool, actor) as c:
        line = await bank_lines.lock(c.pool, None, line_id)
        if line.status != bank_lines.OPEN:
            c.unchanged()
            return Outcome(line_id, line.invoice_number or number, ALREADY)
        try:
            due = await invoice_payments.record(c.pool, number, line.booked_on, line.amount_yen, bank_line_id=line.id)
        except invoice_payments.AlreadyPaid as exc:
            raise _refused(exc) from None
        await bank_lines.settle(c.pool, line.id, bank_lines.BOOKED, invoice_number=number)
        await c.record(
            "invoice.paid",
            tenant_id=due.tenant_id,
            target=f"invoice {number}",
            before={"paid": False},
            after={
                "paid": True,
                "paid_on": line.booked_on.isoformat(),
                "amount_yen": line.amount_yen,
                "bank_line": line.id,
            },
        )
    return Outcome(line_id, number, PAID)


async def pay_from_statement(pool: asyncpg.Pool, actor: Actor, choices: Sequence[tuple[int, str]]) -> list[Outcome]:
    """Each (line id, invoice number) confirmed: the invoice paid by that line, once; refusals reported per line."""
    actor.require_platform()
    outcomes: list[Outcome] = []
    for line_id, number in choices:
        try:
            outcomes.append(await _pay_one(pool, actor, line_id, number))
        except (Conflict, NotFound) as exc:
            outcomes.append(Outcome(line_id, number, REFUSED, exc.code, exc.message))
    return outcomes


async def ignore(pool: asyncpg.Pool, actor: Actor, line_id: int) -> None:
    """Set a line of our account aside: money that pays no invoice (interest, a refund to us)."""
    actor.require_platform()
    await deposit_import.set_status(pool, actor, None, line_id, to=bank_lines.IGNORED)


async def mark_paid(pool: asyncpg.Pool, actor: Actor, number: str, paid_on: date, amount_yen: int, memo: str) -> Due:
    """An invoice paid another way, by hand: the date, the amount received and why (audited)."""
    actor.require_platform()
    memo = memo.strip()
    if amount_yen <= 0:
        raise Invalid([Problem(("amount_yen",), "the amount received is at least 1 yen", "greater_than")])
    if len(memo) > MAX_MEMO or any(ch < " " for ch in memo):
        raise Invalid([Problem(("memo",), f"the memo is one line of at most {MAX_MEMO} characters", "memo")])
    async with change(pool, actor) as c:
        try:
            due = await invoice_payments.record(c.pool, number, paid_on, amount_yen, memo=memo)
        except invoice_payments.AlreadyPaid as exc:
            raise _refused(exc) from None
        await c.record(
            "invoice.paid",
            tenant_id=due.tenant_id,
            target=f"invoice {number}",
            before={"paid": False},
            after={"paid": True, "paid_on": paid_on.isoformat(), "amount_yen": amount_yen, "memo": memo, "hand": True},
        )
    return due
