"""The joint deadline of one caller's simultaneous calls."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daemon.rules.billing.charges import MICROS, Tariff
from daemon.rules.billing.deadline import TalkingCall, charges_at, joint_deadline
from tests.billing.strategies import talking_calls

T0 = 1_795_582_441_546_294


def test_one_call_lasts_what_the_balance_buys() -> None:
    assert joint_deadline(1000, [TalkingCall(T0, Tariff(100))]) == T0 + 600 * MICROS


def test_two_calls_share_the_balance_and_end_together() -> None:
    calls = [TalkingCall(T0, Tariff(100)), TalkingCall(T0, Tariff(100))]
    assert joint_deadline(1000, calls) == T0 + 300 * MICROS


def test_free_calls_need_no_cutoff() -> None:
    assert joint_deadline(0, [TalkingCall(T0, Tariff(0))]) is None
    assert joint_deadline(0, []) is None


def test_no_money_means_now() -> None:
    assert joint_deadline(0, [TalkingCall(T0, Tariff(100))]) == T0


calls_st = st.lists(talking_calls(st.integers(T0, T0 + 600 * MICROS), st.integers(1, 1000)), min_size=1, max_size=5)


@given(st.integers(0, 50_000), calls_st)
def test_deadline_is_the_last_affordable_microsecond(available: int, calls: list[TalkingCall]) -> None:
    deadline = joint_deadline(available, calls)
    assert deadline is not None
    start = min(c.answer_us for c in calls)
    if deadline == start and charges_at(calls, start) > available:
        return  # already too expensive: end at once
    assert charges_at(calls, deadline) <= available
    assert charges_at(calls, deadline + 1) > available
