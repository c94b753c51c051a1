"""The captures the emulator is checked against, replayed: scenarios, the replay runner, its outcomes.

For each outbound capture, the app side is replayed (same commands, same waits)
against the emulator with the equivalent CallerScript (``run``); an inbound
companion is replayed over the emulator's inbound socket.  All scenarios run
concurrently in one session fixture (tests/emulator/conftest.py), so the suite takes
as long as the longest call (about 17 s).

The 2026-12-02 captures play guidance WAVs from ``/tmp/e2e/var/prompts``, the
2026-12-06 ones sound files from ``/srv/capture``; here the commands name stand-in
WAVs of the same lengths in a temporary directory, and Application-Data is compared
with the captured directory put back.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from daemon.esl import Event, Frame
from emulator import CallerScript, CallResult, FakeFreeSwitch, FarEnd, Keys, Speech
from emulator.switch import Fallback
from tests.emulator.replay import ReplayApp, fs_frames, on_the_call, parse_frames, steps
from tests.stand_in_prompts import write_wav

COUNSELLOR = "08011112222"
ANSWERS = {COUNSELLOR: FarEnd("answer", answer_after=1.0)}
LINGER_SCALE = 0.02
CAPTURED_PROMPTS = "/tmp/e2e/var/prompts/"  # where the 2026-12-02 captures' WAVs were
#: The caller keyed 1 at 1.689 s, 1.647 s after the 200 OK, during welcome.wav (typeahead.md).
TYPED_DURING_WELCOME = CallerScript(dtmf=[(1.0, "1")])
TYPEAHEAD_PROMPTS = {"welcome.wav": 2.0, "choose_group.wav": 0.5}
CAPTURE_SCRATCH = "/srv/capture/"  # the 2026-12-06 captures' sound files and recordings
SOUNDS = {"announce.wav": 2.0, "hold.wav": 2.0}
#: The phone of the 2026-12-06 captures: 180 at once, 200 OK after 1 s; hold_*: BYE 2 s after its ACK.
PHONE_STAYS = {COUNSELLOR: FarEnd("answer", answer_after=1.0)}
PHONE_HANGS_UP = {COUNSELLOR: FarEnd("answer", answer_after=1.0, hangup_after=2.0)}
#: record_*: the caller's first RTP packet came 0.46 s after the record started.
#: The DTMF event was stamped 7.92 s after the record's EXECUTE, in the tick before its EXECUTE_COMPLETE.
SPEECH = Speech(seconds=7.08, start=0.46, silence_after=False, digits="#", keyed_at=7.90)


@dataclass(frozen=True)
class Scenario:
    name: str
    script: CallerScript
    fallback: Fallback = "guidance"
    fallback_cause: str = "NORMAL_TEMPORARY_FAILURE"
    inbound: str | None = None  # the inbound companion capture
    inbound_after_bridge: float | None = None  # connect it this long after CHANNEL_BRIDGE (else first)
    prompts: Mapping[str, float] = field(default_factory=dict)  # WAV name -> seconds, in ``captured``
    captured: str = CAPTURED_PROMPTS  # the captured sound directory, replaced by a temporary one
    inbound_lead: float | None = None  # the inbound companion connects this long before the call

    @property
    def outbound(self) -> str:
        return "inbound_show_channels.outbound" if self.name == "inbound_show_channels" else self.name


SCENARIOS = [
    Scenario("play_fs_hangup", CallerScript()),
    Scenario("play_caller_hangup", CallerScript(hangup_after=1.05)),
    Scenario("dtmf_digits", CallerScript(digits=[Keys("12#", delay=0.6, interval=0.7)])),
    Scenario("bridge_answered_caller_hangup", CallerScript(hangup_after=4.0, far_ends=ANSWERS)),
    Scenario(
        "bridge_counselor_hangup",
        CallerScript(far_ends={COUNSELLOR: FarEnd("answer", answer_after=1.0, hangup_after=2.0)}),
    ),
    Scenario("bridge_busy", CallerScript(far_ends={COUNSELLOR: FarEnd("busy")})),
    Scenario("bridge_noanswer", CallerScript(far_ends={COUNSELLOR: FarEnd("noanswer")})),
    Scenario("bridge_unreachable", CallerScript(far_ends={COUNSELLOR: FarEnd("unreachable")})),
    Scenario("api_commands", CallerScript()),
    Scenario("cutoff_in_bridge", CallerScript(far_ends=ANSWERS)),
    Scenario("cutoff_in_bridge_nolock", CallerScript(far_ends=ANSWERS)),
    Scenario("hangup_complete_vars", CallerScript(hangup_after=4.0, far_ends=ANSWERS)),
    Scenario("diversion", CallerScript(diversion="<sip:0355556666@127.0.0.1>;reason=unconditional")),
    Scenario("events_json", CallerScript()),
    Scenario("slow_connect", CallerScript()),
    Scenario("backstop_app_crash", CallerScript(), fallback="none", inbound="backstop_app_crash.inbound"),
    Scenario(
        "backstop_app_crash_fallback_dialplan",
        CallerScript(),
        fallback_cause="TEMPORARY_FAILURE",  # the captured dialplan's (invalid) cause name
        inbound="backstop_app_crash_fallback_dialplan.inbound",
    ),
    Scenario("backstop_crash_in_bridge", CallerScript(far_ends=ANSWERS), inbound="backstop_crash_in_bridge.inbound"),
    Scenario("crash_in_bridge_no_sched", CallerScript(hangup_after=3.5, far_ends=ANSWERS)),
    Scenario(
        "inbound_show_channels",
        CallerScript(hangup_after=3.0, far_ends=ANSWERS),
        inbound="inbound_show_channels",
        inbound_after_bridge=0.5,
    ),
    Scenario("refuse_busy_early_media", CallerScript(), prompts={"busy.wav": 1.0}),
    Scenario("refuse_unallocated_early_media", CallerScript(), prompts={"not_in_service.wav": 1.0}),
    Scenario("refuse_unavailable_early_media", CallerScript(), prompts={"unavailable.wav": 1.0}),
    Scenario("typeahead_lost", TYPED_DURING_WELCOME, prompts=TYPEAHEAD_PROMPTS),
    Scenario("typeahead_playback_terminators", TYPED_DURING_WELCOME, prompts=TYPEAHEAD_PROMPTS),
    Scenario("typeahead_file_string", TYPED_DURING_WELCOME, prompts=TYPEAHEAD_PROMPTS),
]


#: The inbound companion's t when the outbound connection was accepted (each NAME.md, or its api/filter time).
INBOUND_LEADS = {
    "billsec_rounding": 1.359,
    "billsec_rounding_early_answer": 1.347,
    "forward_announcement": 1.361,
    "forward_announcement_ringback": 1.372,
    "forward_announcement_bare_file": 1.380,
    "hold_break_bridge": 1.386,
    "hold_endless_break": 1.377,
    "hold_loops_break": 1.369,
    "hold_sendmsg_queued": 1.377,
    "hold_break_all_flushes": 1.394,
    "hold_unlocked_bridge": 1.382,
    "hold_transfer": 1.377,
    "hold_broadcast_locked": 1.393,
    "hold_broadcast_unlocked": 1.382,
}


def captured_2026_12_06(name: str, script: CallerScript) -> Scenario:
    """A 2026-12-06 capture: its sounds in /srv/capture, its inbound companion (if any) on the call's clock."""
    lead = INBOUND_LEADS.get(name)
    return Scenario(
        name,
        script,
        inbound=f"{name}.inbound" if lead is not None else None,
        prompts=SOUNDS,
        captured=CAPTURE_SCRATCH,
        inbound_lead=lead,
    )


SCENARIOS += [
    captured_2026_12_06("record_caller_speech", CallerScript(digits=[SPEECH])),
    captured_2026_12_06(
        "record_caller_speech_ptime30",
        CallerScript(digits=[Speech(7.08, start=0.46, ptime=30, silence_after=False, digits="#", keyed_at=7.96)]),
    ),
    captured_2026_12_06(
        "record_caller_hangup",
        CallerScript(digits=[Speech(10.0, start=0.46, silence_after=False, hangs_up_at=4.48)]),
    ),
    captured_2026_12_06("record_no_rtp", CallerScript(digits=[Speech(rtp=False)])),
    captured_2026_12_06("record_no_rtp_limit", CallerScript(digits=[Speech(rtp=False)])),
    captured_2026_12_06("record_silent_rtp", CallerScript(digits=[Speech(start=0.46)])),
    captured_2026_12_06("billsec_rounding", CallerScript(hangup_after=8.5, far_ends=PHONE_STAYS)),
    captured_2026_12_06("billsec_rounding_early_answer", CallerScript(hangup_after=8.5, far_ends=PHONE_STAYS)),
    captured_2026_12_06("forward_announcement", CallerScript(hangup_after=9.0, far_ends=PHONE_STAYS)),
    captured_2026_12_06("forward_announcement_ringback", CallerScript(hangup_after=9.0, far_ends=PHONE_STAYS)),
    captured_2026_12_06("forward_announcement_bare_file", CallerScript(far_ends=PHONE_STAYS)),
    captured_2026_12_06("hold_break_bridge", CallerScript(far_ends=PHONE_HANGS_UP)),
    captured_2026_12_06("hold_endless_break", CallerScript()),
    captured_2026_12_06("hold_loops_break", CallerScript(far_ends=PHONE_HANGS_UP)),
    captured_2026_12_06("hold_sendmsg_queued", CallerScript(far_ends=PHONE_HANGS_UP)),
    captured_2026_12_06("hold_break_all_flushes", CallerScript(far_ends=PHONE_HANGS_UP)),
    captured_2026_12_06("hold_unlocked_bridge", CallerScript(far_ends=PHONE_HANGS_UP)),
    captured_2026_12_06("hold_transfer", CallerScript(far_ends=PHONE_HANGS_UP)),
    captured_2026_12_06("hold_broadcast_locked", CallerScript()),
    captured_2026_12_06("hold_broadcast_unlocked", CallerScript()),
    captured_2026_12_06("caller_hangs_up_while_waiting", CallerScript(hangup_after=4.0)),
]
BY_NAME = {s.name: s for s in SCENARIOS}


@dataclass
class Outcome:
    result: CallResult
    app: ReplayApp
    inbound: ReplayApp | None = None
    crash_time: float | None = None
    extra: dict[str, object] = field(default_factory=dict)
    rename: tuple[str, str] | None = None  # (our prompt directory, the captured one)
    files: dict[str, int] = field(default_factory=dict)  # recordings the call left: name -> bytes


def channel_uuid(name: str) -> str:
    uuid = fs_frames(name + ".jsonl")[0].get("Unique-ID")
    assert uuid
    return uuid


async def run(scenario: Scenario) -> Outcome:
    rename: tuple[str, str] | None = None
    if scenario.prompts:
        here = Path(tempfile.mkdtemp(prefix="calld-prompts-"))
        for name, seconds in scenario.prompts.items():
            write_wav(here / name, seconds)
        rename = (f"{here}/", scenario.captured)
    rewrite = (rename[1].encode(), rename[0].encode()) if rename is not None else None
    app = ReplayApp(steps(scenario.outbound + ".jsonl", rewrite=rewrite))
    port = await app.start()
    fs = FakeFreeSwitch(
        port=port,
        linger_scale=LINGER_SCALE,
        fallback=scenario.fallback,
        fallback_cause=scenario.fallback_cause,
        park_event=False,
    )
    inbound: ReplayApp | None = None
    inbound_task: asyncio.Future[None] | None = None
    recorded: dict[str, int] = {}
    try:
        if scenario.inbound is not None:
            server = await fs.serve_inbound("127.0.0.1", 0, "ClueCon")
            inbound_port = server.sockets[0].getsockname()[1]
            plan = steps(scenario.inbound + ".jsonl")
            if scenario.inbound_lead is not None:
                plan = on_the_call(plan, scenario.outbound + ".jsonl", scenario.inbound_lead)
            inbound = ReplayApp(plan)
            inbound.follow = app

            async def connect_inbound() -> None:
                assert inbound is not None
                if scenario.inbound_after_bridge is not None:
                    await app.wait_for(("event", "CHANNEL_BRIDGE", ""))
                    await asyncio.sleep(scenario.inbound_after_bridge)
                await inbound.connect("127.0.0.1", inbound_port)

            inbound_task = asyncio.ensure_future(connect_inbound())
            if scenario.inbound_lead is not None:
                await inbound.wait_for(("reply", "+OK accepted"))
                await asyncio.sleep(scenario.inbound_lead)
            elif scenario.inbound_after_bridge is None:
                await inbound.wait_for(("reply", "+OK event listener enabled plain"))
        result = await asyncio.wait_for(fs.place_call(scenario.script, call_uuid=channel_uuid(scenario.outbound)), 30)
        if inbound_task is not None:
            await asyncio.wait_for(inbound_task, 10)
        await asyncio.wait_for(app.done.wait(), 10)
    finally:
        await app.stop()
        await fs.close()
        if rename is not None:
            recorded = recordings(Path(rename[0]), scenario.prompts)
            shutil.rmtree(rename[0], ignore_errors=True)
    return Outcome(result, app, inbound, rename=rename, files=recorded)


def recordings(directory: Path, sounds: Mapping[str, float]) -> dict[str, int]:
    """The WAVs a call recorded into ``directory`` (not its stand-in sounds): name -> bytes."""
    return {f.name: f.stat().st_size for f in directory.glob("*.wav") if f.name not in sounds}


def events(frames: list[Frame]) -> list[Event]:
    return [f.event() for f in frames if f.content_type in ("text/event-plain", "text/event-json")]


def stamp(event: Event) -> float:
    """FreeSWITCH's time of an event (Event-Date-Timestamp), in seconds."""
    return int(event.get("Event-Date-Timestamp") or 0) / 1e6


def find(found: list[Event], name: str, application: str | None = None, nth: int = 0) -> Event:
    matches = [e for e in found if e.name == name and (application is None or e.get("Application") == application)]
    return matches[nth]


def outbound_frames(outcome: Outcome) -> list[Frame]:
    return parse_frames(outcome.result.frames_sent)


def inbound_events(outcome: Outcome) -> list[Frame]:
    assert outcome.inbound is not None
    return outcome.inbound.received
