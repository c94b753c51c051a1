"""What the caller and the far ends do (the test's script), and what happened (CallResult)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

FarEndKind = Literal["answer", "busy", "noanswer", "unreachable"]


@dataclass(frozen=True, slots=True)
class FarEnd:
    """The phone behind one dial string (a sipp UAS in the captures).

    ``answer``: 180 at once, 200 after ``answer_after`` s (bridge_answered_caller_hangup);
    ``hangup_after`` s after answering it sends BYE (bridge_counselor_hangup).
    ``busy``: 486 at once (bridge_busy).  ``noanswer``: 180 only, until the originate
    timeout (bridge_noanswer).  ``unreachable``: nothing listens, 503 at once
    (bridge_unreachable).
    """

    kind: FarEndKind = "answer"
    answer_after: float = 1.0
    hangup_after: float | None = None


@dataclass(frozen=True, slots=True)
class Keys:
    """What the caller keys after one prompt: ``delay`` s after the prompt ended, then every ``interval`` s.

    dtmf_digits: the prompt ended at 1.06 s, the digits came at 1.69, 2.39 and 3.10 s.
    """

    digits: str
    delay: float = 0.6
    interval: float = 0.7


@dataclass(frozen=True, slots=True)
class Speech:
    """What the caller's phone sends during one ``record`` (one ``digits`` entry).

    The first RTP packet arrives ``start`` s after the record started; the first
    ``seconds`` of the stream are speech, in ``ptime`` ms packets.  After the speech the
    phone goes on sending RTP of silence (``silence_after``; a phone does), or stops
    (SIPp streaming a pcap: record_caller_speech).  ``rtp=False``: no RTP at all
    (record_no_rtp).  ``digits`` are keyed from ``keyed_at`` s after the record started
    (the DTMF event's time), every ``interval`` s.  A :class:`Keys` entry met by a
    record is ``Speech(seconds=delay, digits=digits, keyed_at=delay)``: speech from the
    start, silence after it.  ``hangs_up_at``: the caller sends BYE that many seconds after the
    record started (record_caller_hangup).
    """

    seconds: float = 0.0
    start: float = 0.0
    ptime: int = 20
    silence_after: bool = True
    rtp: bool = True
    digits: str = ""
    keyed_at: float | None = None
    interval: float = 0.7
    hangs_up_at: float | None = None


@dataclass(slots=True)
class CallerScript:
    """One inbound call and everything its caller does.

    ``digits``: one entry per try of ``play_and_get_digits`` (each retry consumes the
    next entry), keyed from the end of that try's prompt while it listens; a ``record``
    consumes one entry too (a :class:`Speech`, or :class:`Keys`).
    ``hangup_after``: the caller hangs up this many seconds after the call was answered;
    ``hangup_early_after``: this many seconds after the 183 (early media, never
    answered); ``hangup_after_bridge``: this many seconds after the first
    CHANNEL_BRIDGE.  ``hangup_unanswered_after``: the caller gives up if the call is
    still not answered this many seconds after it started.  ``dtmf``: presses at fixed
    times (seconds after the answer, digit), whatever the channel is doing: FreeSWITCH
    queues them and the running application decides (a ``playback`` drops digits that
    are not ``playback_terminators``, a ``play_and_get_digits`` prompt stops at one and
    keeps it, the park loop between applications drops them).  ``far_ends`` is keyed
    by the user part of the dial string.  ``connect_timeout`` bounds the TCP connect
    to the daemon; ``connect_wait`` is how long the socket app waits for ``connect``
    (mod_event_socket reads the first command with a 25 s limit).
    """

    caller: str = "09012345678"
    caller_name: str = "Taro"
    destination: str = "0312345678"
    diversion: str | None = None
    digits: Sequence[str | Keys | Speech] = ()
    hangup_after: float | None = None
    hangup_early_after: float | None = None
    hangup_after_bridge: float | None = None
    hangup_unanswered_after: float | None = None
    dtmf: Sequence[tuple[float, str]] = ()
    far_ends: Mapping[str, FarEnd] = field(default_factory=dict)
    connect_timeout: float = 5.0
    connect_wait: float = 25.0


class LegOutcome(NamedTuple):
    """One leg of a dial string: its endpoint, how it ended, its UUID."""

    endpoint: str
    outcome: str  # SUCCESS, LOSE_RACE, USER_BUSY, NO_ANSWER, NORMAL_TEMPORARY_FAILURE, ORIGINATOR_CANCEL
    uuid: str


class BridgeAttempt(NamedTuple):
    """One dial string the bridge app tried (a ``,`` ring-all group; each ``|`` group is its own).

    ``result.bridged_to[0][0]`` is the dial string, ``[1]`` its outcome.
    """

    dial_string: str
    outcome: str  # SUCCESS or the originate failure cause
    at: float  # epoch seconds when the legs were created
    legs: tuple[LegOutcome, ...] = ()


@dataclass(slots=True)
class Broadcast:
    """A uuid_broadcast / sched_broadcast and what the caller leg made of it.

    Indexable like ``(requested_at, path, leg)``: ``result.broadcasts[0][1]`` is the path.
    """

    requested_at: float
    path: str
    leg: str
    scheduled: bool = False
    started_at: float | None = None  # CHANNEL_EXECUTE on the caller leg
    completed_at: float | None = None
    response: str | None = None  # FILE PLAYED, PLAYBACK ERROR; None: never played on the A leg

    def __getitem__(self, index: int) -> object:
        return (
            self.requested_at,
            self.path,
            self.leg,
            self.scheduled,
            self.started_at,
            self.completed_at,
            self.response,
        )[index]


class Heard(NamedTuple):
    """A stretch of sound the caller got from FreeSWITCH (epoch seconds): a playback's path,
    ``ringback <tone>``, or ``far end <user>`` while bridged."""

    start: float
    end: float
    what: str


@dataclass(slots=True)
class CallResult:
    """What the emulator saw during one call (epoch float seconds throughout)."""

    call_uuid: str
    start_time: float
    answered: bool = False
    answer_time: float | None = None
    end_time: float | None = None
    hangup_cause: str | None = None
    hangup_by: str | None = None  # app, caller, far_end, sched_hangup, fallback, uuid_kill, dialplan, park
    billsec: int = 0
    apps: list[tuple[str, str]] = field(default_factory=list)
    api_commands: list[str] = field(default_factory=list)
    bridged_to: list[BridgeAttempt] = field(default_factory=list)
    broadcasts: list[Broadcast] = field(default_factory=list)
    #: What the caller heard, in order; nothing between two stretches (no RTP at all: forward_announcement).
    heard: list[Heard] = field(default_factory=list)
    frames_sent: list[bytes] = field(default_factory=list)
    frames_received: list[bytes] = field(default_factory=list)
    events_sent: list[str] = field(default_factory=list)
    first_command_latency: float | None = None
    connected: bool = False  # the app sent ``connect``
    socket_closed_by: str | None = None  # "fs" or "app"
    fallback_ran: bool = False
    #: The responses the caller got to its INVITE, in order: 100, then 183 (early media) and/or 200,
    #: or a final refusal (486, 404, 503, 480 …) for a call hung up unanswered.
    sip_responses: list[int] = field(default_factory=lambda: [100])
    sip_reason: str | None = None  # the Reason header of the final refusal
    errors: list[str] = field(default_factory=list)
    #: The daemon's ``uuid_kill`` (its first): when its bytes reached the emulator (the kernel's stamp)
    #: and when the emulator's loop ran it; when FreeSWITCH's backstop (``sched_hangup``) was due, if it fired.
    kill_arrived: float | None = None
    kill_run: float | None = None
    backstop_due: float | None = None
    final_variables: Callable[[], dict[str, str]] | None = field(default=None, repr=False)

    @property
    def sip_final(self) -> int | None:
        """The final response to the INVITE (200 when answered, the refusal otherwise)."""
        finals = [code for code in self.sip_responses if code >= 200]
        return finals[0] if finals else None

    @property
    def variables(self) -> dict[str, str]:
        """The channel variables as CHANNEL_HANGUP_COMPLETE carried them (decoded on demand)."""
        return self.final_variables() if self.final_variables is not None else {}
