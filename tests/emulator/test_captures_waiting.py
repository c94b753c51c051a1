"""Waiting-line primitives as the hold_* captures and caller_hangs_up_while_waiting show them.

Each test states one behaviour a waiting line is built on (emulator/README.md lists the
combinations that work), checked on the replayed capture.
"""

from __future__ import annotations

from daemon.esl import Event
from tests.emulator.captures import Outcome, events, find, outbound_frames, stamp

TICK = 0.02


def shape(found: list[Event]) -> list[tuple[str, str | None]]:
    return [(e.name, e.get("Application")) for e in found if e.name not in ("CHANNEL_STATE",)]


def test_uuid_break_ends_a_looping_tone_then_the_bridge_runs(outcomes: dict[str, Outcome]) -> None:
    found = events(outbound_frames(outcomes["hold_break_bridge"]))
    hold = find(found, "CHANNEL_EXECUTE_COMPLETE", "playback")
    assert hold.get("Application-Response") == "FILE PLAYED" and hold.get("variable_playback_terminator_used") is None
    assert 2.9 <= stamp(hold) - stamp(find(found, "CHANNEL_EXECUTE", "playback")) <= 3.1
    assert outcomes["hold_break_bridge"].result.bridged_to[0].outcome == "SUCCESS"


def test_break_all_drops_the_queued_bridge_silently(outcomes: dict[str, Outcome]) -> None:
    result = outcomes["hold_break_all_flushes"].result
    found = events(outbound_frames(outcomes["hold_break_all_flushes"]))
    assert ("CHANNEL_EXECUTE", "bridge") not in shape(found)
    assert result.bridged_to == [] and result.errors == [] and result.hangup_by == "app"


def test_a_bridge_queued_behind_a_locked_hold_runs_after_the_break(outcomes: dict[str, Outcome]) -> None:
    found = events(outbound_frames(outcomes["hold_sendmsg_queued"]))
    names = shape(found)
    assert names.index(("CHANNEL_EXECUTE", "bridge")) == names.index(("CHANNEL_EXECUTE_COMPLETE", "playback")) + 1
    gap = stamp(find(found, "CHANNEL_EXECUTE", "bridge")) - stamp(find(found, "CHANNEL_EXECUTE_COMPLETE", "playback"))
    assert gap <= 2 * TICK


def test_endless_playback_ignores_uuid_break(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["hold_endless_break"]
    names = shape(events(outbound_frames(outcome)))
    assert names.index(("CHANNEL_HANGUP", None)) < names.index(("CHANNEL_EXECUTE_COMPLETE", "endless_playback"))
    assert outcome.result.hangup_by == "uuid_kill"  # the queued sendmsg hangup never ran


def test_loops_minus_one_completes_every_pass_with_one_uuid(outcomes: dict[str, Outcome]) -> None:
    found = [e for e in events(outbound_frames(outcomes["hold_loops_break"])) if e.get("Application") == "playback"]
    assert [(e.name, e.get("variable_current_loop")) for e in found] == [
        ("CHANNEL_EXECUTE", "1"),
        ("CHANNEL_EXECUTE_COMPLETE", "1"),
        ("CHANNEL_EXECUTE", "2"),
        ("CHANNEL_EXECUTE_COMPLETE", "2"),
        ("CHANNEL_EXECUTE", "3"),
        ("CHANNEL_EXECUTE_COMPLETE", "3"),
    ]
    assert len({e.get("Application-UUID") for e in found}) == 1
    assert {e.get("variable_total_loops") for e in found} == {"-1"}


def test_an_unlocked_hold_plays_broadcasts_inside_and_resumes(outcomes: dict[str, Outcome]) -> None:
    result = outcomes["hold_broadcast_unlocked"].result
    assert [(b.scheduled, b.response) for b in result.broadcasts] == [(False, "FILE PLAYED"), (True, "FILE PLAYED")]
    found = events(outbound_frames(outcomes["hold_broadcast_unlocked"]))
    hold_done = stamp(find(found, "CHANNEL_EXECUTE_COMPLETE", "playback", nth=2))  # the hold's own, after both
    assert all(b.completed_at is not None and b.completed_at < hold_done for b in result.broadcasts)
    assert 0.1 <= (result.broadcasts[0].started_at or 0) - result.broadcasts[0].requested_at <= 0.3


def test_a_locked_hold_holds_the_broadcast_back(outcomes: dict[str, Outcome]) -> None:
    result = outcomes["hold_broadcast_locked"].result
    found = events(outbound_frames(outcomes["hold_broadcast_locked"]))
    hold_done = stamp(find(found, "CHANNEL_EXECUTE_COMPLETE", "playback"))
    (broadcast,) = result.broadcasts
    assert broadcast.response == "FILE PLAYED" and broadcast.started_at is not None
    assert 0.15 <= broadcast.started_at - hold_done <= 0.3  # played only after the break, outside any hold


def test_a_bridge_inside_an_unlocked_hold_gives_the_hold_back(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["hold_unlocked_bridge"]
    names = shape(events(outbound_frames(outcome)))
    assert names.index(("CHANNEL_EXECUTE", "bridge")) < names.index(("CHANNEL_EXECUTE_COMPLETE", "playback"))
    hold = next(h for h in outcome.result.heard if h.what.startswith("tone_stream"))
    talk = next(h for h in outcome.result.heard if h.what.startswith("far end"))
    assert hold.start < talk.start and talk.end < hold.end - 1.0  # the hold tone came back after the talk


def test_uuid_transfer_takes_the_call_from_the_socket(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["hold_transfer"]
    found = events(outbound_frames(outcome))
    assert find(found, "CHANNEL_EXECUTE_COMPLETE", "playback").get("Application-Response") == "PLAYBACK ERROR"
    assert find(found, "CHANNEL_EXECUTE_COMPLETE", "socket").get("Application-Response") == "PLAYBACK ERROR"
    names = shape(found)
    assert names.index(("CHANNEL_EXECUTE_COMPLETE", "socket")) < names.index(("CHANNEL_EXECUTE", "bridge"))
    assert outcome.result.bridged_to[0].outcome == "SUCCESS"  # the inline bridge, not the app's
    assert ("bridge", "sofia/external/08011112222@127.0.0.1:5090") not in outcome.result.apps


def test_the_caller_hangs_up_while_waiting(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["caller_hangs_up_while_waiting"]
    found = events(outbound_frames(outcome))
    tail = found[[e.name for e in found].index("CHANNEL_HANGUP") :]
    assert shape(tail) == [
        ("CHANNEL_HANGUP", None),
        ("CHANNEL_EXECUTE_COMPLETE", "playback"),
        ("CHANNEL_UNPARK", None),
        ("CHANNEL_EXECUTE_COMPLETE", "socket"),
        ("CHANNEL_HANGUP_COMPLETE", None),
    ]
    assert tail[1].get("Application-Response") == "PLAYBACK ERROR"
    assert stamp(tail[-1]) - stamp(tail[0]) <= TICK
    assert outcome.result.hangup_by == "caller"
