"""A bank statement as the readers hand it over: the account and its incoming transfers.

Only money that came in is a line (a deposit to book or an invoice paid);
withdrawals are dropped by the readers.  Each line has a :attr:`Line.key` that
is the same whenever the same transfer is read again, from the same file or a
later statement of the same account that covers the same days: the account,
the date, the amount, the remitter's name and the transfer's place among the
identical transfers of that day (two people named ヤマダ　タロウ paying 3,000 yen
on the same day are two lines, and stay two on re-import).  The key is what
makes a booking idempotent per statement line.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from daemon.rules.bank_statements.kana import display, match_key

MAX_LINE_YEN = 10_000_000_000  # no single transfer is larger: a figure past it is a misread file


class BadStatement(ValueError):
    """The file is not a statement we read, or is damaged; ``line`` is the 1-based record that broke (0: the file)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line
        self.reason = message


@dataclass(frozen=True, slots=True)
class Line:
    """One incoming transfer: its date (勘定日), amount in yen, and the remitter (振込依頼人名)."""

    booked_on: date
    amount_yen: int
    payer: str  # full-width katakana as read (kana.display)
    reference: str = ""  # the bank's own number of the line (照会番号), where the format has one
    sequence: int = 0  # among identical (date, amount, payer) lines of the statement: 0, 1, ...
    account: str = ""  # the statement's account, as in Statement.account
    payer_key: str = ""  # kana.match_key(payer), what names are compared by

    @property
    def key(self) -> str:
        """The line's identity across imports (hex SHA-256, 64 characters)."""
        text = "|".join(
            (self.account, self.booked_on.isoformat(), str(self.amount_yen), self.payer_key, str(self.sequence))
        )
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Statement:
    """What a reader made of a file: its format, the account it is of, and its incoming lines in file order."""

    format: str  # zengin | rakuten | sbi | paypay
    account: str  # "0036-251-1234567" (bank-branch-number) or the format's name where the file does not say
    lines: tuple[Line, ...] = field(default_factory=tuple)

    @property
    def total_yen(self) -> int:
        return sum(line.amount_yen for line in self.lines)


def numbered(account: str, lines: Iterable[tuple[date, int, str, str]]) -> tuple[Line, ...]:
    """(date, amount, remitter, reference) in file order → lines with their account and sequence numbers."""
    seen: Counter[tuple[date, int, str]] = Counter()
    made: list[Line] = []
    for booked_on, amount, payer, reference in lines:
        shown = display(payer)
        key = match_key(shown)
        ident = (booked_on, amount, key)
        made.append(Line(booked_on, amount, shown, reference, seen[ident], account, key))
        seen[ident] += 1
    return tuple(made)


def amount(text: str, line: int) -> int:
    """A yen amount as banks write it (``1,000``, ``1000円``, ``"+3,000"``); over :data:`MAX_LINE_YEN` is refused."""
    cleaned = text.strip().replace(",", "").replace("円", "").replace("¥", "").replace("\\", "").lstrip("+")
    if not cleaned.isdigit() or not cleaned.isascii():
        raise BadStatement(f"amount {text!r} is not a number of yen", line)
    value = int(cleaned)
    if value > MAX_LINE_YEN:
        raise BadStatement(f"amount {value:,} yen is beyond any single transfer", line)
    return value
