"""Deposits from an imported bank statement, against the real PostgreSQL: booked once per statement line."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from daemon.repositories import audit, callers, ledger, tenants
from daemon.rules.bank_statements.matching import AMBIGUOUS, BY_NAME, BY_NAME_AND_AMOUNT, NONE
from daemon.services import deposit_import, money
from daemon.services.actor import Actor
from daemon.services.errors import Invalid, NotFound

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bank_statements"
ZENGIN = (FIXTURES / "zengin_transactions.txt").read_bytes()
OPERATOR = Actor.cli("op")


async def _caller(pool: asyncpg.Pool, tenant: int, name: str, furigana: str, **more: object) -> int:
    fields: dict[str, object] = {"billing": "prepaid", "payment_method": "bank_transfer", **more}
    return await callers.create(pool, tenant, name=name, furigana=furigana, **fields)  # type: ignore[arg-type]


async def _deposits(pool: asyncpg.Pool, tenant: int, caller: int) -> list[int]:
    return [e.amount_yen for e in await ledger.entries(pool, tenant, caller) if e.kind == "deposit"]


async def test_an_imported_statement_is_matched_by_furigana_and_booked_once(pool: asyncpg.Pool) -> None:
    shop = await tenants.create_tenant(pool, "shop", 1)
    hanako = await _caller(pool, shop, "山田花子", "やまだ はなこ")
    kitto = await _caller(pool, shop, "佐藤キット", "サトウ キット")  # the bank writes ｻﾄｳ ｷﾂﾄ
    first = await deposit_import.import_statement(pool, OPERATOR, shop, "meisai.txt", ZENGIN)
    assert (first.read, first.new) == (5, 5)

    found = {p.line.id: p for p in await deposit_import.proposals(pool, OPERATOR, shop)}
    matched = {p.line.payer: p.caller.id for p in found.values() if p.caller}
    assert matched == {"ヤマダ\u3000ハナコ": hanako, "サトウ\u3000キツト": kitto}
    unmatched = [p for p in found.values() if p.caller is None]
    assert [(p.line.payer, p.match.how) for p in unmatched] == [("スズキ\u3000イチロウ", NONE)]

    choices = [(p.line.id, p.caller.id) for p in found.values() if p.caller]
    outcomes = await deposit_import.book(pool, OPERATOR, shop, choices)
    assert sorted(o.status for o in outcomes) == ["booked"] * 4
    assert await _deposits(pool, shop, hanako) == [3000, 3000, 3000]  # two on 12-03: two transfers, both kept
    assert await _deposits(pool, shop, kitto) == [5000]
    assert (await callers.get(pool, shop, hanako)).balance_yen == 9000

    # the same file again: nothing new stored, nothing open but the stranger, nothing booked twice
    again = await deposit_import.import_statement(pool, OPERATOR, shop, "meisai.txt", ZENGIN)
    assert (again.read, again.new) == (5, 0)
    assert [p.line.payer for p in await deposit_import.proposals(pool, OPERATOR, shop)] == ["スズキ\u3000イチロウ"]
    # the confirmation sent twice (a double click): each line answers "already", the ledger holds it once
    replay = await deposit_import.book(pool, OPERATOR, shop, choices)
    assert {o.status for o in replay} == {"already"}
    assert await _deposits(pool, shop, hanako) == [3000, 3000, 3000]
    actions = [row.action for row in await audit.recent(pool, limit=100)]
    assert actions.count("ledger.deposit") == 4 and actions.count("bank.line_booked") == 4
    assert actions.count("bank.import") == 2


async def test_an_unmatched_line_is_booked_by_hand_match_and_a_refused_one_leaves_the_rest(pool: asyncpg.Pool) -> None:
    shop = await tenants.create_tenant(pool, "shop", 1)
    ichiro = await _caller(pool, shop, "鈴木一郎", "")
    full = await _caller(pool, shop, "佐藤キット", "サトウキツト")
    for _ in range(10):  # a balance at its ceiling (1,000,000,000 yen) takes no deposit
        await money.book(pool, OPERATOR, shop, full, money.Booking("deposit", 100_000_000))
    await deposit_import.import_statement(pool, OPERATOR, shop, "m.txt", ZENGIN)
    open_lines = {p.line.payer: p.line.id for p in await deposit_import.proposals(pool, OPERATOR, shop)}
    choices = [(open_lines["サトウ\u3000キツト"], full), (open_lines["スズキ\u3000イチロウ"], ichiro)]
    refused, booked = await deposit_import.book(pool, OPERATOR, shop, choices)
    assert (refused.status, refused.code, booked.status) == ("refused", "balance_too_large", "booked")
    assert await _deposits(pool, shop, ichiro) == [12345]
    assert "サトウ\u3000キツト" in {p.line.payer for p in await deposit_import.proposals(pool, OPERATOR, shop)}
    entry = (await ledger.entries(pool, shop, ichiro))[-1]
    assert entry.memo == "振込日 2026-12-04 スズキ\u3000イチロウ"


async def test_lines_of_another_tenant_are_not_found(pool: asyncpg.Pool) -> None:
    a = await tenants.create_tenant(pool, "a", 1)
    b = await tenants.create_tenant(pool, "b", 1)
    hanako = await _caller(pool, a, "山田花子", "ヤマダ ハナコ")
    await deposit_import.import_statement(pool, OPERATOR, a, "m.txt", ZENGIN)
    line = next(p.line.id for p in await deposit_import.proposals(pool, OPERATOR, a) if p.caller)
    tenant_b = Actor.tenant_token(b)
    [outcome] = await deposit_import.book(pool, tenant_b, b, [(line, hanako)])
    assert (outcome.status, outcome.code) == ("refused", "not_found")
    with pytest.raises(NotFound):
        await deposit_import.ignore(pool, tenant_b, b, line)
    assert await _deposits(pool, a, hanako) == []
    # the same file in tenant b's own account is b's, and new there
    assert (await deposit_import.import_statement(pool, tenant_b, b, "m.txt", ZENGIN)).new == 5


async def test_a_hand_deposit_of_the_same_transfer_is_shown_and_an_ignored_line_can_be_reopened(
    pool: asyncpg.Pool,
) -> None:
    shop = await tenants.create_tenant(pool, "shop", 1)
    kitto = await _caller(pool, shop, "佐藤キット", "サトウ キット")
    hand = await money.book(pool, OPERATOR, shop, kitto, money.Booking("deposit", 5000, "振込日 2026-12-02 サトウ"))
    await deposit_import.import_statement(pool, OPERATOR, shop, "m.txt", ZENGIN)
    [kitto_line] = [p for p in await deposit_import.proposals(pool, OPERATOR, shop) if p.caller]
    assert kitto_line.same_transfer == (hand.id,)
    await deposit_import.ignore(pool, OPERATOR, shop, kitto_line.line.id)
    assert [p for p in await deposit_import.proposals(pool, OPERATOR, shop) if p.caller] == []
    await deposit_import.reopen(pool, OPERATOR, shop, kitto_line.line.id)
    assert [p.line.id for p in await deposit_import.proposals(pool, OPERATOR, shop) if p.caller] == [kitto_line.line.id]


async def test_several_callers_of_one_name_are_told_apart_by_what_they_owe_or_left_to_the_operator(
    pool: asyncpg.Pool,
) -> None:
    shop = await tenants.create_tenant(pool, "shop", 1)
    await _caller(pool, shop, "山田花子", "ヤマダ ハナコ")
    await _caller(pool, shop, "山田華子", "ヤマダ ハナコ")
    await deposit_import.import_statement(pool, OPERATOR, shop, "m.txt", ZENGIN)
    hows = {
        p.match.how for p in await deposit_import.proposals(pool, OPERATOR, shop) if p.line.payer.startswith("ヤマダ")
    }
    assert hows == {AMBIGUOUS}
    assert BY_NAME and BY_NAME_AND_AMOUNT  # the other outcomes: tests/bank/test_matching.py


async def test_a_file_that_is_no_statement_is_refused_and_stores_nothing(pool: asyncpg.Pool) -> None:
    shop = await tenants.create_tenant(pool, "shop", 1)
    with pytest.raises(Invalid) as refused:
        await deposit_import.import_statement(pool, OPERATOR, shop, "x.csv", "名前,金額\r\na,1\r\n".encode())
    assert refused.value.problems[0].type == "bad_statement"
    assert await pool.fetchval("SELECT count(*) FROM bank_imports") == 0
