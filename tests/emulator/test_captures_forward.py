"""The announcement to the answering person (forward_announcement*): it runs on the answered leg,
the caller's CHANNEL_BRIDGE comes when it ends, and the caller hears ringback only if ``ringback`` is set."""

from __future__ import annotations

from daemon.esl import Event
from emulator import CallResult
from tests.emulator.captures import Outcome, events, find, inbound_events, outbound_frames, stamp
from tests.emulator.replay import fs_frames

TICK = 0.02


def inbound_shape(found: list[Event]) -> list[tuple[str, str | None, str | None]]:
    return [(e.name, e.get("Application"), e.get("Hangup-Cause")) for e in found]


def silent_between(result: CallResult, start: float, end: float) -> bool:
    return not any(h.start < end - TICK and h.end > start + TICK for h in result.heard)


def test_announcement_runs_on_the_answered_leg(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["forward_announcement"]
    b_leg = events(inbound_events(outcome))
    assert inbound_shape(b_leg) == inbound_shape(events(fs_frames("forward_announcement.inbound.jsonl")))
    answered = stamp(find(b_leg, "CHANNEL_ANSWER"))
    played = find(b_leg, "CHANNEL_EXECUTE_COMPLETE", "playback")
    assert played.get("Application-Response") == "FILE PLAYED"
    a_leg = events(outbound_frames(outcome))
    bridged = stamp(find(a_leg, "CHANNEL_BRIDGE"))
    assert abs(bridged - answered - 2.0) <= 2 * TICK  # CHANNEL_BRIDGE = answered and announced
    assert abs(bridged - stamp(played)) <= TICK
    started = stamp(find(a_leg, "CHANNEL_EXECUTE", "bridge"))
    names = [e.name for e in a_leg if started < stamp(e) < bridged]
    assert names == []  # nothing reaches the caller's socket while the phone rings and hears the announcement
    assert silent_between(outcome.result, started, bridged)  # and the caller hears nothing at all


def test_ringback_plays_until_the_bridge(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["forward_announcement_ringback"]
    a_leg = events(outbound_frames(outcome))
    started = stamp(find(a_leg, "CHANNEL_EXECUTE", "bridge"))
    bridged = stamp(find(a_leg, "CHANNEL_BRIDGE"))
    (ringback,) = [h for h in outcome.result.heard if h.what.startswith("ringback")]
    assert ringback.what == "ringback %(2000,4000,440,480)"
    assert abs(ringback.start - started) <= 2 * TICK and abs(ringback.end - bridged) <= 2 * TICK


def test_a_bare_file_is_an_invalid_application(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["forward_announcement_bare_file"]
    b_leg = events(inbound_events(outcome))
    assert inbound_shape(b_leg) == inbound_shape(events(fs_frames("forward_announcement_bare_file.inbound.jsonl")))
    assert find(b_leg, "CHANNEL_HANGUP").get("Hangup-Cause") == "DESTINATION_OUT_OF_ORDER"
    a_leg = events(outbound_frames(outcome))
    assert not [e for e in a_leg if e.name == "CHANNEL_BRIDGE"]
    done = find(a_leg, "CHANNEL_EXECUTE_COMPLETE", "bridge")
    assert done.get("variable_originate_disposition") == "DESTINATION_OUT_OF_ORDER"
    assert done.get("variable_DIALSTATUS") == "INVALIDARGS"
    assert outcome.result.hangup_by == "app"  # the caller stayed up (continue_on_fail) until the app hung up
    assert [a.outcome for a in outcome.result.bridged_to] == ["DESTINATION_OUT_OF_ORDER"]
