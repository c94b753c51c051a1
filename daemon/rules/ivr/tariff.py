"""What a forwarded call costs the tenant: started units of talk, integer yen.

Billed seconds run from the forwarded party's answer to the end of the talk
(started seconds, FreeSWITCH's µs timestamps; :func:`daemon.rules.billing.charges.billed_seconds`);
the charge is ``ceil(billed / unit) × yen_per_unit``.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.rules.billing.charges import billed_seconds


@dataclass(frozen=True, slots=True)
class ForwardTariff:
    unit_seconds: int  # 1, 30 or 60
    yen_per_unit: int

    def __post_init__(self) -> None:
        if self.unit_seconds not in (1, 30, 60) or not 0 <= self.yen_per_unit <= 100_000:
            raise ValueError("a forwarding unit is 1, 30 or 60 s, at 0 to 100,000 yen")

    def charge(self, seconds: int) -> int:
        units = -(-seconds // self.unit_seconds)
        return units * self.yen_per_unit


#: Without a tariff of its own a tenant pays 20 yen per started minute.
DEFAULT_TARIFF = ForwardTariff(60, 20)


def talk_seconds(answer_us: int | None, end_us: int | None) -> int:
    if answer_us is None or end_us is None:
        return 0
    return billed_seconds(max(0, end_us - answer_us))
