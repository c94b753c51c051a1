"""What a consultation costs.

Billing runs from the moment the counsellor answers to the end of the talk, by
the second: a started second counts as a whole one.  The charge is
``ceil(chargeable seconds × rate ÷ 60)`` yen, where the first ``free_seconds``
are not chargeable.  A minimum charge applies to any call that got past its free
seconds.  Integer arithmetic only: money never touches a float.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.rules.billing.limits import MAX_MINIMUM_CHARGE_YEN, MAX_RATE_YEN_PER_MIN

MICROS = 1_000_000


@dataclass(frozen=True, slots=True)
class Tariff:
    rate_yen_per_min: int
    free_seconds: int = 0
    minimum_charge_yen: int = 0

    def __post_init__(self) -> None:
        if self.rate_yen_per_min < 0 or self.free_seconds < 0 or self.minimum_charge_yen < 0:
            raise ValueError("rates, free seconds and minimum charges are never negative")
        if self.rate_yen_per_min > MAX_RATE_YEN_PER_MIN or self.minimum_charge_yen > MAX_MINIMUM_CHARGE_YEN:
            raise ValueError(
                f"a rate is at most {MAX_RATE_YEN_PER_MIN:,} yen/min and a minimum charge"
                f" at most {MAX_MINIMUM_CHARGE_YEN:,} yen"
            )

    def charge(self, billed_seconds: int) -> int:
        """Yen for ``billed_seconds`` of talk."""
        chargeable = billed_seconds - self.free_seconds
        if chargeable <= 0:
            return 0
        amount = -(-chargeable * self.rate_yen_per_min // 60)
        return max(amount, self.minimum_charge_yen)

    def seconds_for(self, yen: int) -> int | None:
        """The most seconds of talk that cost at most ``yen`` (None: unlimited)."""
        if yen < 0:
            return 0
        if self.rate_yen_per_min == 0 and self.minimum_charge_yen <= yen:
            return None
        if self.minimum_charge_yen > yen:
            return self.free_seconds
        if self.rate_yen_per_min == 0:
            return None
        # largest s with ceil(s*rate/60) <= yen  <=>  s*rate <= yen*60
        return self.free_seconds + yen * 60 // self.rate_yen_per_min


def billed_seconds(talk_us: int) -> int:
    """Started seconds of a talk lasting ``talk_us`` microseconds."""
    if talk_us <= 0:
        return 0
    return -(-talk_us // MICROS)
