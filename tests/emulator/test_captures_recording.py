"""``record`` as the record_* captures show it: the file holds the frames that arrived.

Each capture is replayed (tests/emulator/captures.py); here the replay's lengths,
variables and timing are compared with the captured ones.  Timing is compared on
FreeSWITCH's own event stamps, to the 20 ms media tick.
"""

from __future__ import annotations

import pytest

from tests.emulator.captures import Outcome, events, find, outbound_frames, stamp
from tests.emulator.replay import fs_frames

TICK = 0.02
#: How far a replayed record's length may be from the captured one.  The 41 replays share one event
#: loop (tests/emulator/captures.py), so a record of several seconds ends up to ~0.1 s late on a busy
#: machine; what matters (7.06 s of audio in a 7.92 s record, 3 s of no RTP) is far larger.
DURATION_ALLOWANCE = 0.25
RECORD_VARIABLES = ("record_ms", "record_samples", "record_seconds", "record_file_size", "silence_hits_exhausted")


def record_done(name: str, outcome: Outcome | None = None) -> tuple[float, dict[str, str | None]]:
    """How long the record ran (EXECUTE to EXECUTE_COMPLETE stamps) and its variables."""
    found = events(outbound_frames(outcome) if outcome is not None else fs_frames(name + ".jsonl"))
    start, done = find(found, "CHANNEL_EXECUTE", "record"), find(found, "CHANNEL_EXECUTE_COMPLETE", "record")
    values = {v: done.get(f"variable_{v}") for v in (*RECORD_VARIABLES, "playback_terminator_used")}
    values["response"] = done.get("Application-Response")
    return stamp(done) - stamp(start), values


@pytest.mark.parametrize(
    ("name", "ms"),
    [
        ("record_caller_speech", 7060),  # 7.08 s streamed in 20 ms packets, a 7.92 s record
        ("record_caller_speech_ptime30", 6860),  # the same in 30 ms packets: FreeSWITCH changed its ptime
        ("record_no_rtp", 0),  # silence detection ended it, nothing arrived
    ],
)
def test_the_file_holds_what_arrived(outcomes: dict[str, Outcome], name: str, ms: int) -> None:
    ran, ours = record_done(name, outcomes[name])
    captured_ran, theirs = record_done(name)
    assert ours == theirs
    assert ours["record_ms"] == str(ms) and ours["record_file_size"] == str(44 + 16 * ms)
    assert outcomes[name].files == {f"{name}.wav": 44 + 16 * ms}  # the WAV on disk: header + 16-bit samples
    assert abs(ran - captured_ran) <= DURATION_ALLOWANCE


def test_silent_rtp_is_written(outcomes: dict[str, Outcome]) -> None:
    """record_silent_rtp: the silence that arrived is in the file (2.520 s), unlike no RTP at all."""
    ran, ours = record_done("record_silent_rtp", outcomes["record_silent_rtp"])
    captured_ran, theirs = record_done("record_silent_rtp")
    assert ours["silence_hits_exhausted"] == theirs["silence_hits_exhausted"] == "true"
    assert abs(int(ours["record_ms"] or 0) - int(theirs["record_ms"] or 0)) <= 20  # one frame
    assert abs(ran - captured_ran) <= DURATION_ALLOWANCE  # 3.04 s on the switch, 3.00 here (README)


def test_the_time_limit_counts_whole_epoch_seconds(outcomes: dict[str, Outcome]) -> None:
    """record_no_rtp_limit: ``record F 5`` stops at int(start) + 6, between 5 and 6 s after it started."""
    found = events(outbound_frames(outcomes["record_no_rtp_limit"]))
    start = stamp(find(found, "CHANNEL_EXECUTE", "record"))
    done = stamp(find(found, "CHANNEL_EXECUTE_COMPLETE", "record"))
    # Never before the whole second (a ``start + 5`` timer would end up to a second early); late only by
    # the shared loop's delay, as DURATION_ALLOWANCE says.
    assert 5.0 < done - start <= 6.0 + DURATION_ALLOWANCE
    assert int(start) + 6 - TICK <= done <= int(start) + 6 + DURATION_ALLOWANCE
    _, ours = record_done("record_no_rtp_limit", outcomes["record_no_rtp_limit"])
    assert (ours["record_ms"], ours["record_file_size"], ours["silence_hits_exhausted"]) == ("0", "44", "false")


def test_caller_hangup_comes_before_the_record_completes(outcomes: dict[str, Outcome]) -> None:
    """record_caller_hangup: CHANNEL_HANGUP (with the linger notice), EXECUTE_COMPLETE(record) a tick later;
    the message up to the hang-up is kept, no terminator."""
    outcome = outcomes["record_caller_hangup"]
    found = events(outbound_frames(outcome))
    names = [(e.name, e.get("Application")) for e in found]
    hangup = names.index(("CHANNEL_HANGUP", None))
    assert names[hangup + 1] == ("CHANNEL_EXECUTE_COMPLETE", "record")
    gap = stamp(found[hangup + 1]) - stamp(found[hangup])
    assert TICK / 2 <= gap <= 2 * TICK
    _, ours = record_done("record_caller_hangup", outcome)
    assert abs(int(ours["record_ms"] or 0) - 4020) <= 20 and ours["playback_terminator_used"] is None
    assert outcome.files["record_caller_hangup.wav"] == int(ours["record_file_size"] or 0)
    assert outcome.result.hangup_by == "caller"
