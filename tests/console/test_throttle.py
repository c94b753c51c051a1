"""The per-address login brake."""

from __future__ import annotations

from daemon.console.throttle import LoginThrottle


def test_an_address_gets_its_attempts_then_waits_out_the_window() -> None:
    now = [0.0]
    throttle = LoginThrottle(attempts=3, window=60.0, clock=lambda: now[0])
    assert [throttle.allow("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert throttle.allow("10.0.0.2")  # another address is not held up
    now[0] = 59.0
    assert not throttle.allow("10.0.0.1")
    now[0] = 60.5
    assert throttle.allow("10.0.0.1")


def test_refused_attempts_do_not_extend_the_wait() -> None:
    now = [0.0]
    throttle = LoginThrottle(attempts=1, window=10.0, clock=lambda: now[0])
    assert throttle.allow("a")
    for t in (1.0, 5.0, 9.0):
        now[0] = t
        assert not throttle.allow("a")
    now[0] = 10.5
    assert throttle.allow("a")
