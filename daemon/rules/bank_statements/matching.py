"""Who a transfer came from: a caller (by フリガナ, then amount) or, on our own account, which invoice it pays.

A caller is proposed only when the names agree (:func:`kana.match_key`: the
bank's ``ﾔﾏﾀﾞ ﾊﾅｺ`` is the operator's ``やまだ はなこ``).  Several callers with
the name: the one who owes exactly the amount (a postpaid caller settling
their bill) is proposed, else none and the operator chooses.  No name: the line
stays open for a hand match; an amount alone never names a caller.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from daemon.rules.bank_statements.kana import display, match_key

BY_NAME, BY_NAME_AND_AMOUNT, AMBIGUOUS, NONE = "name", "name_and_amount", "ambiguous", "none"


@dataclass(frozen=True, slots=True)
class Payer:
    """A caller as matching sees them: their フリガナ and what they owe (a negative balance)."""

    caller_id: int
    furigana: str
    balance_yen: int


@dataclass(frozen=True, slots=True)
class Match:
    caller_id: int | None
    how: str  # BY_NAME | BY_NAME_AND_AMOUNT | AMBIGUOUS | NONE
    candidates: tuple[int, ...] = ()


def match(payer_key: str, amount_yen: int, payers: Sequence[Payer]) -> Match:
    """The caller to propose for a transfer of ``amount_yen`` from ``payer_key`` (a :func:`match_key`)."""
    named = [p for p in payers if payer_key and match_key(p.furigana) == payer_key]
    if len(named) == 1:
        return Match(named[0].caller_id, BY_NAME_AND_AMOUNT if -named[0].balance_yen == amount_yen else BY_NAME)
    owing = [p for p in named if -p.balance_yen == amount_yen]
    if len(owing) == 1:
        return Match(owing[0].caller_id, BY_NAME_AND_AMOUNT, tuple(p.caller_id for p in named))
    if named:
        return Match(None, AMBIGUOUS, tuple(p.caller_id for p in named))
    return Match(None, NONE)


# -- our invoices, paid by our tenants ------------------------------------------------

BY_NUMBER, BY_NUMBER_AND_AMOUNT, BY_AMOUNT = "number", "number_and_amount", "amount"
_NOT_DIGITS = re.compile(r"\D")


@dataclass(frozen=True, slots=True)
class Invoice:
    """An unpaid invoice as matching sees it: its number (``INV-7-202611``) and total."""

    number: str
    total_yen: int


def invoice_digits(number: str) -> str:
    """What a remitter can type of an invoice number into a 振込依頼人名: its digits (``7202611``)."""
    return _NOT_DIGITS.sub("", number)


def match_invoice(payer: str, amount_yen: int, invoices: Sequence[Invoice]) -> tuple[str | None, str]:
    """(invoice number, how) for a transfer to our account: its number in the remitter's text, else the amount.

    The number: the invoice's digits appear in the remitter's text (``7202611 ｶ)ｱｸﾒ``).
    The amount alone names an invoice only when exactly one unpaid invoice has that total.
    """
    typed = invoice_digits(display(payer))
    named = [i for i in invoices if typed and invoice_digits(i.number) in typed]
    if len(named) == 1:
        return named[0].number, BY_NUMBER_AND_AMOUNT if named[0].total_yen == amount_yen else BY_NUMBER
    same = [i for i in invoices if i.total_yen == amount_yen]
    if len(same) == 1 and not named:
        return same[0].number, BY_AMOUNT
    return None, AMBIGUOUS if named or same else NONE
