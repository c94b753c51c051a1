"""The call core's pure rules: backstop time, warning buckets, guidance arguments."""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.calls import bridge, guidance
from daemon.calls.cutoff import BACKSTOP_GUARD_US, backstop_time
from daemon.esl import UnsafeValueError
from daemon.outbound.session import Session
from daemon.prompts.catalog import PROMPTS, warning_prompt

NOW = 1_796_197_890_000_000  # 2026-12-02, µs


@given(st.integers(min_value=1_000_001, max_value=600_000_000), st.integers(min_value=0, max_value=999_999))
def test_backstop_is_the_first_whole_second_after_deadline_plus_guard(ahead_us: int, phase_us: int) -> None:
    now = NOW + phase_us
    deadline = now + ahead_us
    when = backstop_time(deadline, now)
    if when == "+1":  # less than a second away: int(now) + 1 inside FreeSWITCH
        runtime = now // 1_000_000 + 1
    else:
        runtime = int(when)
        assert runtime * 1_000_000 - now >= 1_000_000  # cannot arrive after it passed
    assert runtime * 1_000_000 >= deadline + BACKSTOP_GUARD_US  # never before the daemon's own cut
    assert runtime * 1_000_000 < deadline + BACKSTOP_GUARD_US + 1_000_000  # the first such second


def test_backstop_close_or_past_deadline_uses_relative_time() -> None:
    assert backstop_time(NOW + 800_000, NOW + 500_000) == "+1"  # 891 is only 0.5 s away
    assert backstop_time(NOW - 5_000_000, NOW) == "+1"  # an absolute past time would never fire
    assert backstop_time(NOW + 10_000_000, NOW) == str(math.ceil((NOW + 10_200_000) / 1e6))


def test_backstop_avoids_an_epoch_that_mod_commands_reads_as_zero() -> None:
    """mod_commands: sec = atol(argv[0] + 1); 0 hangs up at once (2000000000 -> 000000000)."""
    deadline = 2_000_000_000 * 1_000_000 - 500_000
    assert backstop_time(deadline, deadline - 60_000_000) == "2000000001"


@pytest.mark.parametrize(
    ("left", "name"),
    [
        (599.99, "balance_warning_10m"),
        (900.0, "balance_warning_10m"),
        (125.0, "balance_warning_2m"),
        (59.7, "balance_warning_1m"),  # the timer fired a few ms late: still about a minute
        (58.0, "balance_warning_50s"),  # never more than is left
        (19.0, "balance_warning_10s"),
        (9.0, "balance_warning"),  # "soon"
        (0.0, "balance_warning"),
        (math.nan, "balance_warning"),
    ],
)
def test_warning_bucket(left: float, name: str) -> None:
    assert warning_prompt(left) == name
    assert name in PROMPTS


class Library:
    def path(self, name: str) -> str:
        return f"/srv/prompts/{name}.wav"


def test_guidance_sequence_is_one_file_string() -> None:
    assert guidance.sequence(Library(), ["welcome"]) == "/srv/prompts/welcome.wav"
    assert (
        guidance.sequence(Library(), ["welcome", "/srv/acme/menu.wav", "choose_group"])
        == "file_string:///srv/prompts/welcome.wav!/srv/acme/menu.wav!/srv/prompts/choose_group.wav"
    )
    with pytest.raises(ValueError):
        guidance.sequence(Library(), [])
    with pytest.raises(ValueError):
        guidance.sequence(Library(), ["/srv/acme/my menu.wav"])  # play_and_get_digits splits on spaces
    with pytest.raises(ValueError):
        guidance.sequence(Library(), ["/srv/acme/a!b.wav"])  # file_string's separator
    with pytest.raises(UnsafeValueError):
        guidance.sequence(Library(), ["/srv/acme/a.wav\napi uuid_kill all"])


def test_a_refused_guidance_path_stays_refused() -> None:
    """Paths that passed the checks are remembered; one that failed them is checked, and refused, every time."""
    assert guidance.source(Library(), "/srv/acme/menu.wav") == "/srv/acme/menu.wav"
    assert guidance.source(Library(), "/srv/acme/menu.wav") == "/srv/acme/menu.wav"
    for _ in range(2):
        with pytest.raises(ValueError):
            guidance.source(Library(), "/srv/acme/my menu.wav")
        with pytest.raises(UnsafeValueError):
            guidance.source(Library(), "/srv/acme/a.wav\napi uuid_kill all")


def test_refusals_have_their_own_causes() -> None:
    assert guidance.REFUSAL_CAUSES == {
        "busy": "USER_BUSY",
        "not_in_service": "UNALLOCATED_NUMBER",
        "unavailable": "NORMAL_TEMPORARY_FAILURE",
        "call_declined": "CALL_REJECTED",  # a blocked caller: 603 Decline
    }


@dataclass(frozen=True)
class Phone:
    dial_string: str


def test_dial_string_rings_at_once_or_in_turn_and_shows_the_service_number() -> None:
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    legs = [(a, Phone("sofia/external/0801@gw")), (b, Phone("sofia/external/0802@gw"))]
    at_once = bridge.dial_string(legs, ring_timeout_s=20, shown_number="0312345678")
    assert at_once == (
        "{originate_timeout=20,origination_caller_id_number=0312345678,"
        "origination_caller_id_name=0312345678,ignore_early_media=true}"
        f"[origination_uuid={a}]sofia/external/0801@gw,[origination_uuid={b}]sofia/external/0802@gw"
    )
    in_turn = bridge.dial_string(legs, ring_timeout_s=20, shown_number="0312345678", simultaneous=False)
    assert in_turn.endswith(f"0801@gw|[origination_uuid={b}]sofia/external/0802@gw")
    with pytest.raises(ValueError):
        bridge.dial_string(legs, ring_timeout_s=20, shown_number="03,1234")  # would end the variable list
    with pytest.raises(UnsafeValueError):
        bridge.dial_string([(a, Phone("sofia/external/0801@gw\napi uuid_kill all"))], ring_timeout_s=5, shown_number="")


@pytest.mark.parametrize("count", [1, 2, 3])  # too few, the same one twice, too many
async def test_ring_wants_one_distinct_leg_uuid_per_target(count: int) -> None:
    """Leg uuids given by the caller (rows written before ringing) must match the targets one to one."""
    phones = [Phone("sofia/external/0801@gw"), Phone("sofia/external/0802@gw")]
    legs = [uuid.uuid4()] * count
    with pytest.raises(ValueError, match="one distinct leg uuid per target"):
        await bridge.ring(
            cast(Session, None),
            cast(asyncio.TaskGroup, None),
            phones,
            ring_timeout_s=5,
            shown_number="",
            leg_uuids=legs,
        )
