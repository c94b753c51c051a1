"""The emulator against the real FreeSWITCH 1.10.12 captures, frame by frame.

What the emulator sent in each replayed capture (tests/emulator/captures.py) is
compared with what FreeSWITCH sent: same frame kinds in the same order, same event
names, Application / Application-Response / Hangup-Cause / states, and for every
event the same header names in the same order (variables included).  UUIDs, times,
ports and tags differ by nature; CHANNEL_PARK is a race (absent from both sides); the
linger notice's position is a race too and is checked on its own.  What the
2026-12-06 captures are about (lengths, billing seconds, timing, what the caller
heard) is checked in test_captures_*.py.
"""

from __future__ import annotations

import itertools
import json

import pytest

from tests.emulator.captures import BY_NAME, SCENARIOS, Outcome, inbound_events, outbound_frames
from tests.emulator.replay import Norm, comparable, fs_frames


def describe(norm: Norm | None) -> str:
    return norm.describe()[:160] if norm is not None else "(nothing)"


def compare(theirs: list[Norm], ours: list[Norm]) -> list[str]:
    """Human-readable differences; empty when the sequences agree."""
    problems = []
    for index, (a, b) in enumerate(itertools.zip_longest(theirs, ours)):
        if a is None or b is None or a.kind != b.kind or a.values != b.values:
            problems.append(f"#{index}: FreeSWITCH {describe(a)}\n      emulator {describe(b)}")
            break
        if a.names != b.names:
            problems.append(
                f"#{index} {describe(a)}: missing {sorted(a.names - b.names)}, extra {sorted(b.names - a.names)}"
            )
        elif a.order != b.order:
            problems.append(f"#{index} {describe(a)}: same headers in another order")
    return problems


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
def test_same_frames_as_freeswitch(outcomes: dict[str, Outcome], name: str) -> None:
    scenario = BY_NAME[name]
    theirs, their_linger = comparable(fs_frames(scenario.outbound + ".jsonl"))
    ours, our_linger = comparable(outbound_frames(outcomes[name]), outcomes[name].rename)
    assert compare(theirs, ours) == []
    assert (their_linger >= 0) == (our_linger >= 0), "linger notice present on one side only"
    if our_linger >= 0:
        hangup = next(i for i, n in enumerate(ours) if n.kind[1:3] == ("event", "CHANNEL_HANGUP"))
        assert our_linger > hangup, "the linger notice comes after CHANNEL_HANGUP"


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
def test_app_misbehaved_in_no_way(outcomes: dict[str, Outcome], name: str) -> None:
    assert outcomes[name].result.errors == []


def test_caller_hangup_is_recv_bye(outcomes: dict[str, Outcome]) -> None:
    result = outcomes["play_caller_hangup"].result
    assert (result.hangup_by, result.hangup_cause) == ("caller", "NORMAL_CLEARING")
    assert result.variables["sip_hangup_disposition"] == "recv_bye"
    assert outcomes["play_fs_hangup"].result.variables["sip_hangup_disposition"] == "send_bye"


def test_billing_of_a_bridged_call(outcomes: dict[str, Outcome]) -> None:
    """hangup_complete_vars.md: billsec counts from the caller's answer, waitsec to the bridge."""
    result = outcomes["hangup_complete_vars"].result
    v = result.variables
    epoch = {name: int(v[f"{name}_epoch"]) for name in ("start", "answer", "bridge", "end")}
    assert result.answered and 3.9 <= int(v["billusec"]) / 1e6 <= 4.2
    assert result.billsec == int(v["billsec"]) == epoch["end"] - epoch["answer"]  # whole seconds subtracted
    assert int(v["duration"]) == epoch["end"] - epoch["start"]
    assert int(v["answersec"]) == epoch["answer"] - epoch["start"] and int(v["answerusec"]) < 500_000
    assert int(v["waitsec"]) == epoch["bridge"] - epoch["start"] and 1.0 <= int(v["waitusec"]) / 1e6 <= 2.0
    assert v["last_bridge_role"] == "originator" and "last_bridge_hangup_cause" not in v
    assert v["bridge_hangup_cause"] == "NORMAL_CLEARING" and v["originate_disposition"] == "SUCCESS"
    assert [a.outcome for a in result.bridged_to] == ["SUCCESS"]
    counsellor = outcomes["bridge_counselor_hangup"].result.variables
    assert counsellor["last_bridge_hangup_cause"] == "NORMAL_CLEARING"


@pytest.mark.parametrize(
    ("name", "disposition"),
    [
        ("bridge_busy", "USER_BUSY"),
        ("bridge_noanswer", "NO_ANSWER"),
        ("bridge_unreachable", "NORMAL_TEMPORARY_FAILURE"),
    ],
)
def test_failed_bridges(outcomes: dict[str, Outcome], name: str, disposition: str) -> None:
    result = outcomes[name].result
    complete = [f for f in outbound_frames(outcomes[name]) if f.content_type == "text/event-plain"]
    bridge_done = next(
        f.event()
        for f in complete
        if f.event().name == "CHANNEL_EXECUTE_COMPLETE" and f.event().get("Application") == "bridge"
    )
    assert bridge_done.get("variable_originate_disposition") == disposition
    assert [a.outcome for a in result.bridged_to] == [disposition]
    assert result.hangup_by == "app"


def test_noanswer_gives_up_on_a_whole_second(outcomes: dict[str, Outcome]) -> None:
    """bridge_noanswer: originate_timeout=3 ended after 2.39 s: somewhere in (2, 3] s."""
    frames = [f.event() for f in outbound_frames(outcomes["bridge_noanswer"]) if f.content_type == "text/event-plain"]
    bridge = [e for e in frames if e.get("Application") == "bridge"]
    took = (int(bridge[1]["Event-Date-Timestamp"]) - int(bridge[0]["Event-Date-Timestamp"])) / 1e6
    assert 2.0 <= took <= 3.1


def test_event_lock_holds_the_broadcast(outcomes: dict[str, Outcome]) -> None:
    locked = outcomes["cutoff_in_bridge"].result.broadcasts
    unlocked = outcomes["cutoff_in_bridge_nolock"].result.broadcasts
    assert [b.response for b in locked] == [None]  # queued behind the bridge, dropped at hangup
    assert [b.response for b in unlocked] == ["FILE PLAYED"]  # played inside the bridge


def test_sched_broadcast_runs_on_whole_seconds(outcomes: dict[str, Outcome]) -> None:
    result = outcomes["api_commands"].result
    scheduled = next(b for b in result.broadcasts if b.scheduled)
    assert scheduled.started_at is not None
    assert 0.0 < scheduled.started_at - scheduled.requested_at < 1.8
    assert result.hangup_by == "uuid_kill"


def test_crash_outside_a_bridge_ends_the_call_at_once(outcomes: dict[str, Outcome]) -> None:
    plain = outcomes["backstop_app_crash"].result
    assert (plain.hangup_by, plain.hangup_cause) == ("fallback", "NORMAL_CLEARING")
    assert plain.end_time is not None and plain.end_time - plain.start_time < 0.5
    guided = outcomes["backstop_app_crash_fallback_dialplan"].result
    assert guided.fallback_ran and guided.hangup_cause == "NORMAL_CLEARING"  # TEMPORARY_FAILURE is no cause


def test_crash_in_bridge_with_backstop(outcomes: dict[str, Outcome]) -> None:
    """backstop_crash_in_bridge: the bridge outlives the app; sched_hangup ends it 2-3.5 s after arming."""
    outcome = outcomes["backstop_crash_in_bridge"]
    result = outcome.result
    assert (result.hangup_by, result.hangup_cause) == ("sched_hangup", "ALLOTTED_TIMEOUT")
    assert result.socket_closed_by == "app"
    bridge = next(
        f.event()
        for f in outbound_frames(outcome)
        if f.content_type == "text/event-plain" and f.event().name == "CHANNEL_BRIDGE"
    )
    armed = int(bridge["Event-Date-Timestamp"]) / 1e6
    assert result.end_time is not None and 2.0 < result.end_time - armed < 3.6


def test_crash_in_bridge_without_backstop_runs_on(outcomes: dict[str, Outcome]) -> None:
    result = outcomes["crash_in_bridge_no_sched"].result
    assert result.hangup_by == "caller" and result.answer_time is not None and result.end_time is not None
    assert result.end_time - result.answer_time >= 3.4


@pytest.mark.parametrize(
    "name", ["backstop_app_crash", "backstop_app_crash_fallback_dialplan", "backstop_crash_in_bridge"]
)
def test_inbound_hangup_complete(outcomes: dict[str, Outcome], name: str) -> None:
    scenario = BY_NAME[name]
    assert scenario.inbound is not None
    theirs, _ = comparable(fs_frames(scenario.inbound + ".jsonl"))
    ours, _ = comparable(inbound_events(outcomes[name]))
    assert [n.kind for n in ours] == [n.kind for n in theirs]
    assert [n.values for n in ours] == [n.values for n in theirs]
    for got, want in zip(ours, theirs, strict=True):  # both legs' CHANNEL_HANGUP_COMPLETE
        assert got.names == want.names, (sorted(want.names - got.names), sorted(got.names - want.names))


def test_inbound_show_channels(outcomes: dict[str, Outcome]) -> None:
    theirs = [f for f in fs_frames("inbound_show_channels.jsonl") if f.content_type == "api/response"]
    ours = [f for f in inbound_events(outcomes["inbound_show_channels"]) if f.content_type == "api/response"]
    assert len(ours) == len(theirs) == 2
    for mine, real in zip(ours, theirs, strict=True):
        a, b = json.loads(mine.body), json.loads(real.body)
        assert a["row_count"] == b["row_count"]
        for row_a, row_b in zip(a["rows"], b["rows"], strict=True):
            assert list(row_a) == list(row_b)
            for key in (
                "direction",
                "name",
                "state",
                "cid_name",
                "cid_num",
                "dest",
                "application",
                "application_data",
                "callstate",
                "callee_name",
                "callee_num",
                "b_state",
                "b_dest",
            ):
                assert row_a.get(key) == row_b.get(key), key
    theirs_events, _ = comparable(fs_frames("inbound_show_channels.jsonl"))
    ours_events, _ = comparable(inbound_events(outcomes["inbound_show_channels"]))
    assert [n.kind for n in ours_events] == [n.kind for n in theirs_events]
    assert [n.values for n in ours_events] == [n.values for n in theirs_events]
    for got, want in zip(ours_events, theirs_events, strict=True):  # far end first, then the caller
        assert got.names == want.names, (sorted(want.names - got.names), sorted(got.names - want.names))


@pytest.mark.parametrize(
    ("name", "cause", "status", "q850"),
    [
        ("refuse_busy_early_media", "USER_BUSY", 486, 17),
        ("refuse_unallocated_early_media", "UNALLOCATED_NUMBER", 404, 1),
        ("refuse_unavailable_early_media", "NORMAL_TEMPORARY_FAILURE", 503, 41),
    ],
)
def test_refusal_is_early_media_then_the_cause(
    outcomes: dict[str, Outcome], name: str, cause: str, status: int, q850: int
) -> None:
    """refuse_early_media.md: 100, 183 (the guidance is heard), then the cause's final response; never answered."""
    result = outcomes[name].result
    assert result.sip_responses == [100, 183, status]
    assert result.sip_reason == f'Q.850;cause={q850};text="{cause}"'
    assert not result.answered and result.billsec == 0
    assert "CHANNEL_PROGRESS_MEDIA" in result.events_sent and "CHANNEL_ANSWER" not in result.events_sent
    v = result.variables
    assert (v["hangup_cause"], v["hangup_cause_q850"], v["billsec"]) == (cause, str(q850), "0")
    assert v["sip_hangup_disposition"] == "send_refuse"


def pagd_result(outcome: Outcome) -> dict[str, str | None]:
    done = [
        f.event()
        for f in outbound_frames(outcome)
        if f.content_type == "text/event-plain"
        and f.event().name == "CHANNEL_EXECUTE_COMPLETE"
        and f.event().get("Application") == "play_and_get_digits"
    ]
    return {k: done[-1].get(f"variable_{k}") for k in ("group_code", "read_result", "playback_terminator_used")}


def test_typeahead_three_ways(outcomes: dict[str, Outcome]) -> None:
    """typeahead.md: lost after a plain playback; a terminator only stops the playback; file_string keeps it."""
    assert pagd_result(outcomes["typeahead_lost"]) == {
        "group_code": None,
        "read_result": "failure",
        "playback_terminator_used": None,
    }
    assert pagd_result(outcomes["typeahead_playback_terminators"]) == {
        "group_code": None,
        "read_result": "failure",
        "playback_terminator_used": "1",
    }
    assert pagd_result(outcomes["typeahead_file_string"]) == {
        "group_code": "1",
        "read_result": "timeout",
        "playback_terminator_used": None,
    }
    for name in ("typeahead_lost", "typeahead_playback_terminators", "typeahead_file_string"):
        assert outcomes[name].result.sip_responses == [100, 200]
