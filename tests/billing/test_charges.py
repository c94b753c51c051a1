"""Per-second charges in integer yen."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.rules.billing.charges import Tariff, billed_seconds

tariffs = st.builds(
    Tariff,
    rate_yen_per_min=st.integers(0, 2000),
    free_seconds=st.integers(0, 300),
    minimum_charge_yen=st.integers(0, 3000),
)


def test_started_seconds_count_whole() -> None:
    assert billed_seconds(0) == 0
    assert billed_seconds(1) == 1
    assert billed_seconds(1_000_000) == 1
    assert billed_seconds(1_000_001) == 2
    assert billed_seconds(-5) == 0


def test_examples() -> None:
    t = Tariff(200)  # 200 yen a minute
    assert t.charge(0) == 0
    assert t.charge(1) == 4  # ceil(200/60)
    assert t.charge(60) == 200
    assert t.charge(61) == 204
    free = Tariff(200, free_seconds=30, minimum_charge_yen=100)
    assert free.charge(30) == 0  # a call that ends within its free seconds is free
    assert free.charge(31) == 100  # minimum applies once it is chargeable
    assert free.charge(90) == 200


def test_negative_or_unbounded_tariff_is_refused() -> None:
    with pytest.raises(ValueError):
        Tariff(-1)
    Tariff(100_000, minimum_charge_yen=1_000_000)  # the largest allowed
    with pytest.raises(ValueError, match="at most"):
        Tariff(100_001)
    with pytest.raises(ValueError, match="at most"):
        Tariff(100, minimum_charge_yen=1_000_001)


@given(tariffs, st.integers(0, 100_000))
def test_charge_is_monotonic_and_exact(t: Tariff, seconds: int) -> None:
    assert t.charge(seconds) <= t.charge(seconds + 1)
    chargeable = max(0, seconds - t.free_seconds)
    if chargeable:
        exact = chargeable * t.rate_yen_per_min
        assert t.charge(seconds) * 60 >= exact  # rounded up, never down
        assert t.charge(seconds) == max(t.minimum_charge_yen, -(-exact // 60))


@given(tariffs, st.integers(0, 1_000_000))
def test_seconds_for_is_the_exact_limit(t: Tariff, yen: int) -> None:
    limit = t.seconds_for(yen)
    if limit is None:
        assert t.charge(10**7) <= yen
        return
    assert t.charge(limit) <= yen
    assert t.charge(limit + 1) > yen
