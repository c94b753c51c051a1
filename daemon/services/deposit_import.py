"""Deposits from a bank statement: import the file, propose who paid, book the confirmed lines once each.

1. :func:`import_statement` reads the file (:mod:`daemon.rules.bank_statements`)
   and stores its incoming lines; a line imported before is not stored again.
2. :func:`proposals`: every open line with the caller its remitter's name names
   (the caller's フリガナ, then the amount; :mod:`~daemon.rules.bank_statements.matching`)
   and the deposits of that caller that look like this very transfer
   (same amount and 振込日, booked by hand), so the operator sees a double booking coming.
3. :func:`book`: the lines the operator confirmed, each in a transaction of its
   own through :func:`daemon.services.money.book` (ledger row + audit row), with
   the idempotency key ``bank-<line key>``: the same transfer is never booked
   twice, whether the file is imported again, the form sent twice, or two
   operators confirm at once (the line is locked; the second finds it booked).
   One line refused (a balance at its ceiling) leaves the others booked.

Lines that match no one stay open for a hand match; a line that is not a
caller's money (our own transfer between accounts) can be set aside
(:func:`ignore`) and brought back (:func:`reopen`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from daemon.repositories import bank_lines, callers
from daemon.repositories.bank_lines import BankLine, Stored
from daemon.repositories.callers import CallerRow
from daemon.rules import bank_statements
from daemon.rules.bank_statements.matching import Match, Payer, match
from daemon.services import money
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import Conflict, Invalid, NotFound, Problem

BAD_STATEMENT = "bad_statement"
BOOKED, ALREADY, REFUSED = "booked", "already", "refused"


def memo(line: BankLine) -> str:
    """The deposit's memo: its 振込日 first, as the hand form writes it (duplicates are found by it)."""
    return f"振込日 {line.booked_on.isoformat()} {line.payer}".strip()


def idempotency_key(line: BankLine) -> str:
    return f"bank-{line.line_key}"


async def read_and_store(pool: asyncpg.Pool, actor: Actor, owner: int | None, file_name: str, data: bytes) -> Stored:
    """Read a statement and store its new lines for ``owner`` (None: the platform's account), audited."""
    try:
        statement = bank_statements.read(data)
    except bank_statements.BadStatement as exc:
        raise Invalid([Problem(("file",), str(exc), BAD_STATEMENT, {"line": exc.line})]) from None
    async with change(pool, actor) as c:
        stored = await bank_lines.store(c.pool, owner, statement, file_name[:255])
        await c.record(
            "bank.import",
            tenant_id=owner,
            target=f"bank import {stored.import_id}",
            after={
                "format": statement.format,
                "account": statement.account,
                "file": file_name[:255],
                "entries": stored.read,
                "new": stored.new,
            },
        )
    return stored


async def import_statement(pool: asyncpg.Pool, actor: Actor, tenant_id: int, file_name: str, data: bytes) -> Stored:
    """An operator's statement: its incoming lines, stored once each, to be matched to callers."""
    return await read_and_store(pool, actor, actor.scope(tenant_id), file_name, data)


@dataclass(frozen=True, slots=True)
class Proposal:
    line: BankLine
    match: Match
    caller: CallerRow | None
    candidates: tuple[CallerRow, ...] = ()
    same_transfer: tuple[int, ...] = field(default_factory=tuple)  # ledger ids of deposits that look like it


async def open_count(pool: asyncpg.Pool, actor: Actor, tenant_id: int) -> int:
    return await bank_lines.count(pool, actor.scope(tenant_id), bank_lines.OPEN)


async def proposals(pool: asyncpg.Pool, actor: Actor, tenant_id: int, limit: int = 1000) -> list[Proposal]:
    """The open lines, newest first (``limit`` of them), each with the caller proposed and any deposit booked
    for it already."""
    tenant = actor.scope(tenant_id)
    everyone = await callers.list_all(pool, tenant)
    by_id = {c.id: c for c in everyone}
    payers = [Payer(c.id, c.furigana, c.balance_yen) for c in everyone if c.furigana]
    out: list[Proposal] = []
    for line in await bank_lines.lines(pool, tenant, bank_lines.OPEN, limit):
        found = match(line.payer_key, line.amount_yen, payers)
        who = by_id.get(found.caller_id) if found.caller_id else None
        twins = await bank_lines.same_transfer(pool, tenant, who.id, line.amount_yen, line.booked_on) if who else []
        candidates = tuple(by_id[i] for i in found.candidates)
        out.append(Proposal(line, found, who, candidates, tuple(twins)))
    return out


async def settled(pool: asyncpg.Pool, actor: Actor, tenant_id: int, limit: int = 200) -> list[BankLine]:
    """Lines booked or set aside, newest first."""
    tenant = actor.scope(tenant_id)
    return [line for line in await bank_lines.lines(pool, tenant, None, limit) if line.status != bank_lines.OPEN]


@dataclass(frozen=True, slots=True)
class Outcome:
    line_id: int
    status: str  # BOOKED | ALREADY | REFUSED
    caller_id: int
    entry_id: int | None = None
    code: str = ""
    message: str = ""


async def _book_one(pool: asyncpg.Pool, actor: Actor, tenant: int, line_id: int, caller_id: int) -> Outcome:
    async with change(pool, actor) as c:
        line = await bank_lines.lock(c.pool, tenant, line_id)
        if line.status != bank_lines.OPEN:
            c.unchanged()
            return Outcome(line_id, ALREADY, line.caller_id or caller_id, line.ledger_id)
        booking = money.Booking("deposit", line.amount_yen, memo(line), idempotency_key(line))
        entry = await money.book(c.pool, actor, tenant, caller_id, booking)
        await bank_lines.settle(c.pool, line.id, bank_lines.BOOKED, caller_id=caller_id, ledger_id=entry.id)
        await c.record(
            "bank.line_booked",
            tenant_id=tenant,
            target=f"bank line {line.id}",
            before={"status": line.status},
            after={"status": bank_lines.BOOKED, "caller_id": caller_id, "ledger_id": entry.id},
        )
    return Outcome(line_id, ALREADY if entry.replayed else BOOKED, caller_id, entry.id)


async def book(pool: asyncpg.Pool, actor: Actor, tenant_id: int, choices: Sequence[tuple[int, int]]) -> list[Outcome]:
    """Book each (line id, caller id) as a deposit, once per line; a refused line is reported, the rest booked."""
    tenant = actor.scope(tenant_id)
    outcomes: list[Outcome] = []
    for line_id, caller_id in choices:
        try:
            outcomes.append(await _book_one(pool, actor, tenant, line_id, caller_id))
        except (Conflict, Invalid, NotFound) as exc:
            outcomes.append(Outcome(line_id, REFUSED, caller_id, code=exc.code, message=exc.message))
    return outcomes


async def set_status(pool: asyncpg.Pool, actor: Actor, tenant: int | None, line_id: int, *, to: str) -> None:
    """An open line set aside (``to`` ignored) or an ignored one opened again, for the account's owner
    (``tenant`` as scoped by the caller; None: the platform's account), audited."""
    async with change(pool, actor) as c:
        line = await bank_lines.lock(c.pool, tenant, line_id)
        wanted_from = bank_lines.IGNORED if to == bank_lines.OPEN else bank_lines.OPEN
        if line.status != wanted_from:
            raise Conflict(f"statement line {line_id} is {line.status}", code="line_not_" + wanted_from)
        await bank_lines.settle(c.pool, line.id, to)
        await c.record(
            f"bank.line_{'reopened' if to == bank_lines.OPEN else 'ignored'}",
            tenant_id=tenant,
            target=f"bank line {line.id}",
            before={"status": line.status},
            after={"status": to},
        )


async def ignore(pool: asyncpg.Pool, actor: Actor, tenant_id: int, line_id: int) -> None:
    """Set an open line aside: not a caller's money (it stays listed, and can be reopened)."""
    await set_status(pool, actor, actor.scope(tenant_id), line_id, to=bank_lines.IGNORED)


async def reopen(pool: asyncpg.Pool, actor: Actor, tenant_id: int, line_id: int) -> None:
    await set_status(pool, actor, actor.scope(tenant_id), line_id, to=bank_lines.OPEN)
