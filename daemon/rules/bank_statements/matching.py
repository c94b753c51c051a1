"""Which caller a transfer came from: the remitter's name against callers' フリガナ, then the amount.

A caller is proposed only when the names agree (:func:`kana.match_key`: the
bank's ``ﾔﾏﾀﾞ ﾊﾅｺ`` is the operator's ``やまだ はなこ``).  Several callers with
the name: the one who owes exactly the amount (a postpaid caller settling
their bill) is proposed, else none and the operator chooses.  No name: the line
stays open for a hand match; an amount alone never names a caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from daemon.rules.bank_statements.kana import match_key

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
