"""What a counsellor earns from a call, and what the operator keeps (the commission).

A counsellor's pay rate is either a percent of what the caller was charged for
the call (refunds taken off), or yen per minute of billed talk.  Per-minute pay
runs by the second like the charge, but is rounded *down*: the operator never
pays out a yen the call did not earn by its seconds, and a 30-second call at
100 yen/min pays 50 yen, not a whole minute.  The commission is the charge less
the pay; with a per-minute rate above the caller's tariff (or free seconds) it
can be negative, and the report shows it so.  Integer yen only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from daemon.rules.billing.limits import MAX_RATE_YEN_PER_MIN

PayKind = Literal["percent", "per_minute"]
KINDS: tuple[PayKind, ...] = ("percent", "per_minute")
KIND_NAMES: dict[str, str] = {"percent": "課金額の％", "per_minute": "1分あたりの円"}


@dataclass(frozen=True, slots=True)
class PayRate:
    kind: PayKind
    value: int  # percent 0..100, or yen per minute
    effective_from: date

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a pay rate is one of {', '.join(KINDS)}")
        limit = 100 if self.kind == "percent" else MAX_RATE_YEN_PER_MIN
        if not 0 <= self.value <= limit:
            raise ValueError(f"a {self.kind} pay rate is 0 to {limit}")

    def pay(self, charged_yen: int, billed_seconds: int) -> int:
        """The counsellor's yen for one call that was charged ``charged_yen`` for ``billed_seconds``."""
        if self.kind == "percent":
            return max(charged_yen, 0) * self.value // 100
        return max(billed_seconds, 0) * self.value // 60

    @property
    def label(self) -> str:
        """As a person reads it: 「課金額の40%」, 「1分あたり120円」."""
        return f"課金額の{self.value}%" if self.kind == "percent" else f"1分あたり{self.value:,}円"


def rate_on(rates: list[PayRate], day: date) -> PayRate | None:
    """The rate in force on ``day``: the latest that starts on or before it (None: no rate yet)."""
    applicable = [r for r in rates if r.effective_from <= day]
    return max(applicable, key=lambda r: r.effective_from) if applicable else None


@dataclass(frozen=True, slots=True)
class PayLine:
    """One counsellor's calls over a period: what was charged, what they earn, what the operator keeps."""

    calls: int = 0
    billed_seconds: int = 0
    charged_yen: int = 0
    pay_yen: int = 0
    unrated_calls: int = 0  # calls on a day no rate was in force: they pay nothing until one is set

    @property
    def commission_yen(self) -> int:
        return self.charged_yen - self.pay_yen

    @property
    def billed_minutes(self) -> int:
        """Billed talk in whole minutes, a started minute counting (the report's 課金分数)."""
        return -(-self.billed_seconds // 60)

    def __add__(self, other: PayLine) -> PayLine:
        return PayLine(
            self.calls + other.calls,
            self.billed_seconds + other.billed_seconds,
            self.charged_yen + other.charged_yen,
            self.pay_yen + other.pay_yen,
            self.unrated_calls + other.unrated_calls,
        )

    def add(self, rate: PayRate | None, charged_yen: int, billed_seconds: int) -> PayLine:
        """This line with one more call, paid at ``rate`` (None: no rate in force that day)."""
        pay = rate.pay(charged_yen, billed_seconds) if rate is not None else 0
        return self + PayLine(1, billed_seconds, charged_yen, pay, int(rate is None))
