"""Billing seconds as billsec_rounding* show them: whole epoch units subtracted, µs exact.

The captured CHANNEL_HANGUP_COMPLETE of both legs (the caller's on the outbound
socket, the counsellor's on the inbound one) carries the stamps and every
duration FreeSWITCH derived from them; the emulator's billing variables, computed
from the same stamps, must equal them one by one.  The replayed calls then show the
counsellor leg's events reaching only the inbound socket.
"""

from __future__ import annotations

import pytest

from daemon.esl import Event
from emulator.channel import Channel, Profile, billing_variables
from tests.emulator.captures import Outcome, events, inbound_events, outbound_frames
from tests.emulator.replay import fs_frames

DURATIONS = [
    f"{stem}{unit}"
    for unit in ("sec", "msec", "usec")
    for stem in ("bill", "progress", "answer", "wait", "progress_media", "flow_bill")
] + ["duration", "mduration", "uduration"]


def hangup_complete(name: str) -> Event:
    found = [e for e in events(fs_frames(name)) if e.name == "CHANNEL_HANGUP_COMPLETE"]
    return found[-1]


def recomputed(captured: Event) -> dict[str, str | None]:
    """The emulator's billing variables for a channel with the captured stamps."""

    def us(name: str) -> int:
        return int(captured.get(f"variable_{name}_uepoch") or 0)

    profile = Profile(
        "inbound", "", "", "", "", "u", "sofia/x", us("start"),
        answered=us("answer"), progress=us("progress"), progress_media=us("progress_media"),
        hangup=us("end"), bridged=us("bridge"),
    )  # fmt: skip
    return dict(billing_variables(Channel(profile), "", None))


@pytest.mark.parametrize(
    ("capture", "billsec"),
    [
        ("billsec_rounding.jsonl", "9"),  # 8.56 s answered at .78, ended at .34
        ("billsec_rounding.inbound.jsonl", "8"),  # the counsellor's 7.48 s, from the phone's answer
        ("billsec_rounding_early_answer.jsonl", "8"),  # 8.52 s answered at .28
        ("billsec_rounding_early_answer.inbound.jsonl", "7"),
        ("forward_announcement.jsonl", "10"),  # 9.02 s: 342 - 332
    ],
)
def test_billing_variables_from_the_captured_stamps(capture: str, billsec: str) -> None:
    captured = hangup_complete(capture)
    ours = recomputed(captured)
    assert ours["billsec"] == captured.get("variable_billsec") == billsec
    assert {n: ours[n] for n in DURATIONS} == {n: captured.get(f"variable_{n}") for n in DURATIONS}


@pytest.mark.parametrize("name", ["billsec_rounding", "billsec_rounding_early_answer"])
def test_the_counsellor_leg_is_seen_only_inbound(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    ours_in = [(e.name, e.get("Answer-State"), e.get("Channel-State")) for e in events(inbound_events(outcome))]
    theirs_in = [
        (e.name, e.get("Answer-State"), e.get("Channel-State")) for e in events(fs_frames(f"{name}.inbound.jsonl"))
    ]
    assert ours_in == theirs_in  # ORIGINATE, PROGRESS, ANSWER, HANGUP, HANGUP_COMPLETE of the counsellor leg
    counsellor = events(inbound_events(outcome))[-1]
    leg = counsellor.get("Unique-ID")
    assert all(e.get("Unique-ID") != leg for e in events(outbound_frames(outcome)))
    for done in (counsellor, events(outbound_frames(outcome))[-1]):
        end, answer = int(done.get("variable_end_uepoch") or 0), int(done.get("variable_answer_uepoch") or 0)
        assert done.get("variable_billsec") == str(end // 1_000_000 - answer // 1_000_000)
        assert done.get("variable_billmsec") == str(end // 1000 - answer // 1000)
        assert done.get("variable_billusec") == str(end - answer)
    phone_answer = next(e for e in events(inbound_events(outcome)) if e.name == "CHANNEL_ANSWER")
    assert counsellor.get("variable_answer_uepoch") == phone_answer.get("Caller-Channel-Answered-Time")
