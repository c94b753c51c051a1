"""The affordability rule: whom a limited caller's money covers for the minimum talk (pure, no database)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daemon.rules.billing.affordable import Purse, at_rate, required_seconds
from daemon.rules.billing.charges import MICROS, Tariff
from daemon.rules.billing.deadline import TalkingCall

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


def test_a_free_group_is_always_within_reach() -> None:
    assert purse(0).talk_us(Tariff(0)) is None
    assert purse(0).affords(Tariff(0), 3600)


@given(yen=st.integers(0, 1_000_000), rate=st.integers(1, 100_000), minimum=st.integers(1, 3600))
def test_affords_exactly_when_the_minimum_talk_is_paid(yen: int, rate: int, minimum: int) -> None:
    tariff = Tariff(rate)
    assert purse(yen).affords(tariff, minimum) == (tariff.charge(minimum) <= yen)
