"""Whom a limited caller's money can pay for, and for how long.

A prepaid caller (or a postpaid one with a credit limit) is offered only to
counsellors whose rate the money covers for the group's minimum talk: ringing
someone the caller could afford for ten seconds spends the counsellor's time on
a greeting and the caller's money on nothing.  The money is shared with the
caller's other live calls (:mod:`daemon.rules.billing.deadline`), so the test is
the joint deadline with the new call answered now, not the balance divided by
a rate.  Whatever the minimum talk, the money must pay at least the first
chargeable second (a caller is never connected for free seconds alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from daemon.rules.billing.charges import MICROS, Tariff
from daemon.rules.billing.deadline import TalkingCall, fits, joint_deadline

DEFAULT_MINIMUM_TALK_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Purse:
    """A limited caller's money as a new call would meet it ``now_us``."""

    available_yen: int
    talking: Sequence[TalkingCall]  # the caller's other live calls, paid from the same money
    now_us: int

    def talk_us(self, tariff: Tariff) -> int | None:
        """How long a call at ``tariff`` answered now could last (None: its cost never ends it)."""
        if tariff.seconds_for(self.available_yen) is None:
            return None
        deadline = joint_deadline(self.available_yen, [*self.talking, TalkingCall(self.now_us, tariff)])
        return None if deadline is None else max(0, deadline - self.now_us)

    def affords(self, tariff: Tariff, minimum_talk_seconds: int) -> bool:
        """True when the money pays ``minimum_talk_seconds`` (and one chargeable second) at ``tariff``.

        That is ``talk_us(tariff)`` reaching the required talk; as the charges only
        grow, it is one sum of them at the required talk's end, not the deadline's
        search (a caller is checked against every group of a tenant when the chosen
        one is out of reach).
        """
        if tariff.seconds_for(self.available_yen) is None:
            return True
        end_us = self.now_us + required_seconds(tariff, minimum_talk_seconds) * MICROS
        return fits(self.available_yen, [*self.talking, TalkingCall(self.now_us, tariff)], end_us)


def required_seconds(tariff: Tariff, minimum_talk_seconds: int) -> int:
    """The talk the money must cover: the minimum, and always past the free seconds."""
    return max(minimum_talk_seconds, tariff.free_seconds + 1)


def at_rate(tariff: Tariff, rate_yen_per_min: int | None) -> Tariff:
    """The group's tariff at a counsellor's own rate (None: the group's rate)."""
    if rate_yen_per_min is None:
        return tariff
    return Tariff(rate_yen_per_min, tariff.free_seconds, tariff.minimum_charge_yen)
