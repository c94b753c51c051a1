"""When must a caller's talking calls end?  One balance, many calls.

A caller may be in several consultations at once, all paid from one balance.
Their charges grow at once, so they all end together at the latest instant ``T``
at which the sum of their charges still fits the money available:

    max T  such that  Σ_i charge_i(billed_seconds(T − answer_i)) ≤ available

Each ``charge_i`` is a non-decreasing step function of ``T``, so the sum is too
and a binary search over microseconds finds ``T`` exactly (one paying call
needs no search: its own limit in whole seconds is ``T``).  Whenever a call of
the caller starts or ends or money lands, the deadline is computed again from
the database and every live cutoff of that caller is re-armed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from daemon.rules.billing.charges import MICROS, Tariff, billed_seconds


@dataclass(frozen=True, slots=True)
class TalkingCall:
    answer_us: int  # counsellor answered (FreeSWITCH clock)
    tariff: Tariff


def charges_at(calls: Sequence[TalkingCall], at_us: int) -> int:
    return sum(c.tariff.charge(billed_seconds(at_us - c.answer_us)) for c in calls)


def paying(available_yen: int, calls: Sequence[TalkingCall]) -> list[TalkingCall]:
    """The calls whose cost can end them: those a free talk (rate 0, minimum within the money) leaves out."""
    return [c for c in calls if c.tariff.seconds_for(available_yen) is not None]


def fits(available_yen: int, calls: Sequence[TalkingCall], at_us: int) -> bool:
    """Do the paying calls, all still talking at ``at_us``, cost no more than the money?

    The charges only grow, so this is ``joint_deadline(...) >= at_us`` without the
    search (for ``at_us`` not before the first answer).
    """
    return charges_at(paying(available_yen, calls), at_us) <= available_yen


def joint_deadline(available_yen: int, calls: Sequence[TalkingCall]) -> int | None:
    """The last microsecond at which the paying calls may still be talking.

    ``available_yen`` is the prepaid balance (or, postpaid, credit limit minus
    what is owed), before any of these calls is charged.  Calls that cost
    nothing whatever their length (rate 0, no minimum) never end for money and
    are left out; None means no call needs a cutoff.  The result may lie before
    now: the calls must end at once.
    """
    ended_by_money = paying(available_yen, calls)
    if not ended_by_money:
        return None
    if len(ended_by_money) == 1:
        # Billed seconds are started seconds, so ``s`` paid seconds last until answer + s s exactly
        # (no money at all: ``seconds_for`` is 0, the answer itself).
        only = ended_by_money[0]
        return only.answer_us + (only.tariff.seconds_for(available_yen) or 0) * MICROS
    start = min(c.answer_us for c in ended_by_money)
    if charges_at(ended_by_money, start) > available_yen:
        return start
    # A call can't outlast its own solo limit, so the latest answer plus the
    # largest solo limit (+1 s) is already too late: the search is bounded.
    solo = max(c.tariff.seconds_for(available_yen) or 0 for c in ended_by_money)
    hi = max(c.answer_us for c in ended_by_money) + (solo + 1) * MICROS
    lo = start  # invariant: charges_at(lo) <= available < charges_at(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if charges_at(ended_by_money, mid) <= available_yen:
            lo = mid
        else:
            hi = mid
    return lo
