"""The affordability rule: whom a limited caller's money covers for the minimum talk (pure, no database)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daemon.rules.billing.affordable import Purse, at_rate, required_seconds
from daemon.rules.billing.charges import MICROS, Tariff
from daemon.rules.billing.deadline import TalkingCall
from tests.billing.strategies import talking_calls

NOW = 1_800_000_000 * MICROS


def purse(yen: int, *talking: TalkingCall) -> Purse:
    return Purse(yen, talking, NOW)


def test_a_minute_at_the_rate_is_the_boundary() -> None:
    assert purse(600).affords(Tariff(600), 60)
    assert not purse(599).affords(Tariff(600), 60)
    assert purse(599).affords(Tariff(600), 59)


def test_the_dearer_member_is_out_of_reach_first() -> None:
    group = Tariff(600)
    money = purse(1000)
    assert money.affords(at_rate(group, None), 60)  # the group's 600/min: 100 s
    assert not money.affords(at_rate(group, 3000), 60)  # 3,000/min: 20 s
    assert at_rate(group, 3000) == Tariff(3000)


def test_free_seconds_never_make_an_empty_purse_affordable() -> None:
    """Free seconds cover the minimum talk, but the first chargeable second must still be paid."""
    free = Tariff(600, free_seconds=120)
    assert required_seconds(free, 60) == 121
    assert not purse(0).affords(free, 60)
    assert purse(10).affords(free, 60)


def test_other_live_calls_share_the_money() -> None:
    """600 yen alone is a minute; with another 600/min call running since now, half a minute each."""
    other = TalkingCall(NOW, Tariff(600))
    assert purse(600).affords(Tariff(600), 60)
    assert not purse(600, other).affords(Tariff(600), 60)
    assert purse(600, other).affords(Tariff(600), 30)


def test_a_microsecond_of_another_call_counts() -> None:
    """The other call answered 1 µs before now has started its 61st second when the new one ends its 60th."""
    other = TalkingCall(NOW - 1, Tariff(60))
    assert not purse(120, other).affords(Tariff(60), 60)
    assert purse(121, other).affords(Tariff(60), 60)


def test_a_free_group_is_always_within_reach() -> None:
    assert purse(0).talk_us(Tariff(0)) is None
    assert purse(0).affords(Tariff(0), 3600)


@given(yen=st.integers(0, 1_000_000), rate=st.integers(1, 100_000), minimum=st.integers(1, 3600))
def test_affords_exactly_when_the_minimum_talk_is_paid(yen: int, rate: int, minimum: int) -> None:
    tariff = Tariff(rate)
    assert purse(yen).affords(tariff, minimum) == (tariff.charge(minimum) <= yen)


talking_st = st.lists(
    talking_calls(
        # whole seconds before now, give or take a microsecond: the charges' steps meet the required talk's end
        st.builds(lambda s, d: NOW - s * MICROS + d, st.integers(0, 3600), st.sampled_from([-1, 0, 1, 400_000])),
        st.integers(0, 3000),
    ),
    max_size=3,
)


@given(
    yen=st.integers(-100, 200_000),
    talking=talking_st,
    rate=st.integers(0, 3000),
    free=st.integers(0, 120),
    minimum_charge=st.integers(0, 500),
    minimum=st.integers(0, 3600),
)
def test_affords_agrees_with_the_talk_the_deadline_leaves(
    yen: int, talking: list[TalkingCall], rate: int, free: int, minimum_charge: int, minimum: int
) -> None:
    """The one-sum test gives the answer of the joint deadline's search, other live calls included."""
    tariff = Tariff(rate, free, minimum_charge)
    money = purse(yen, *talking)
    left = money.talk_us(tariff)
    expected = left is None or left >= required_seconds(tariff, minimum) * MICROS
    assert money.affords(tariff, minimum) == expected
