"""Hypothesis strategies for the billing rules' tests: a caller's live calls."""

from __future__ import annotations

from hypothesis import strategies as st

from daemon.rules.billing.charges import Tariff
from daemon.rules.billing.deadline import TalkingCall


def talking_calls(answers: st.SearchStrategy[int], rates: st.SearchStrategy[int]) -> st.SearchStrategy[TalkingCall]:
    """One live call answered at one of ``answers`` (µs), at one of ``rates`` (yen/min), with any free
    seconds (up to 2 minutes) and minimum charge (up to 500 yen)."""
    return st.builds(
        TalkingCall,
        answer_us=answers,
        tariff=st.builds(
            Tariff,
            rate_yen_per_min=rates,
            free_seconds=st.integers(0, 120),
            minimum_charge_yen=st.integers(0, 500),
        ),
    )
