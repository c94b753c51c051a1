"""A scripted FreeSWITCH caller leg driving a real :class:`~daemon.outbound.session.Session` in memory.

No socket, no emulator, no database: the Session gets an in-memory transport;
what it writes is parsed as mod_event_socket would, and FreeSWITCH's answers
(replies, CHANNEL_* events in the order the transcripts show, disconnect
notices) are fed back on the next loop iteration, optionally in small chunks.
Call steps (``guidance.play``, ``keypad.read_digits`` …) can so be unit-tested::

    fake = FakeChannel()
    fake.script("play_and_get_digits", Step(variables={"group_code": "12"}, dtmf="12#"))
    session = await fake.start()
    assert await keypad.read_digits(session, prompts, "choose_group", var="group_code") == "12"

An application not scripted completes at once with FreeSWITCH's usual response
(``FILE PLAYED`` for ``playback``, ``+OK`` otherwise).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid as uuidlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from daemon.esl import Frame, Parser, replies
from daemon.esl.frame import Header
from daemon.outbound.session import Session
from emulator.listener import MYEVENTS, nix

DEFAULT_RESPONSES = {"playback": "FILE PLAYED", "play_and_get_digits": "", "bridge": ""}


@dataclass(frozen=True)
class Step:
    """What happens while one application runs."""

    response: str | None = None  # Application-Response (None: FreeSWITCH's usual one)
    variables: Mapping[str, str] = field(default_factory=dict)  # channel variables it sets
    dtmf: str = ""  # DTMF events the caller keys during it
    hangup: str | None = None  # the caller hangs up during it, with this cause
    events: tuple[str, ...] = ()  # extra events fired during it (CHANNEL_BRIDGE …)


class MemoryTransport(asyncio.Transport):
    """The Session's transport: writes go to the fake channel, close() ends the connection."""

    def __init__(self, channel: FakeChannel) -> None:
        super().__init__()
        self._channel = channel
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closing:
            self._channel.received(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self._shut("app")

    def abort(self) -> None:
        self._shut("app_abort")

    def _shut(self, by: str) -> None:
        if not self.closing:
            self.closing = True
            self._channel.lost(by)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class FakeChannel:
    """One caller leg on a ``socket … async full`` outbound connection."""

    def __init__(
        self,
        *,
        caller: str = "09012345678",
        destination: str = "0312345678",
        unique_id: str | None = None,
        chunk: int | None = None,
        extra_channel_data: Iterable[Header] = (),
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.unique_id = unique_id or str(uuidlib.uuid4())
        self.caller = caller
        self.destination = destination
        self.chunk = chunk
        self.extra_channel_data = list(extra_channel_data)
        self.variables: dict[str, str] = {}
        self.commands: list[Frame] = []  # every command the app wrote, parsed
        self.writes: list[bytes] = []  # every write() the app made
        self.executed: list[tuple[str, str]] = []  # applications run, with their argument
        self.api_replies: dict[str, str] = {}  # api command's first word -> body
        self.answered = False
        self.early_media = False
        self.hangup_cause: str | None = None
        self.closed_by: str | None = None  # "app", "app_abort" or "fs"
        self.subscribed: set[str] = set()  # the events the socket gets (myevents, less nixevent)
        self._steps: dict[str, deque[Step]] = {}
        self._parser = Parser(commands=True)
        self._out: list[bytes] = []
        self._seq = itertools.count(1000)
        self.session: Session | None = None
        self.transport: MemoryTransport | None = None
        self.closed = asyncio.Event()
        self._stalled: list[bytes] | None = None  # what FreeSWITCH holds back while stalled

    # -- test side ------------------------------------------------------------------

    def script(self, app: str, *steps: Step) -> None:
        """What the next runs of ``app`` do, in order (then the default)."""
        self._steps.setdefault(app, deque()).extend(steps)

    def connect(self, session: Session | None = None) -> Session:
        """FreeSWITCH's socket app connects: the Session's connection_made."""
        self.session = session or Session()
        self.transport = MemoryTransport(self)
        self.session.connection_made(self.transport)
        return self.session

    async def start(self, linger_seconds: int = 5) -> Session:
        """Connect and run ``Session.start`` (connect, myevents, linger)."""
        session = self.connect()
        await session.start(linger_seconds)
        return session

    def feed(self, data: bytes) -> None:
        """Send raw bytes to the app, as FreeSWITCH would (a hostile or broken peer)."""
        self._send(data)

    def caller_hangs_up(self, cause: str = "NORMAL_CLEARING") -> None:
        self._hangup(cause)

    def close(self) -> None:
        """FreeSWITCH closes the socket."""
        self.lost("fs")

    @property
    def apps(self) -> list[str]:
        return [app for app, _ in self.executed]

    # -- FreeSWITCH side ----------------------------------------------------------------

    def received(self, data: bytes) -> None:
        self.writes.append(data)
        for frame in self._parser.feed(data):
            self.commands.append(frame)
            self._command(frame)

    def lost(self, by: str) -> None:
        if self.closed_by is not None:
            return
        self.closed_by = by
        if self.transport is not None:
            self.transport.closing = True
        self.closed.set()
        if self.session is not None:
            self.loop.call_soon(self.session.connection_lost, None)

    def stall(self) -> None:
        """FreeSWITCH stops answering (a busy socket thread): commands are still read, nothing comes back."""
        self._stalled = []

    def unstall(self) -> None:
        held, self._stalled = self._stalled or [], None
        for data in held:
            self._send(data)

    def _send(self, data: bytes) -> None:
        if self._stalled is not None:
            self._stalled.append(data)
            return
        if not self._out:
            self.loop.call_soon(self._flush)
        self._out.append(data)

    def _flush(self) -> None:
        data = b"".join(self._out)
        self._out.clear()
        if self.closed_by is not None or self.session is None:
            return
        step = self.chunk or len(data)
        for i in range(0, len(data), step):
            self.session.data_received(data[i : i + step])

    def _reply(self, text: str, extra: Iterable[Header] = ()) -> None:
        self._send(replies.command_reply(text, extra))

    def _command(self, frame: Frame) -> None:
        line = (frame.line or "").strip()
        word, _, rest = line.partition(" ")
        if line == "connect":
            self._send(self._channel_data())
        elif word == "myevents":
            self.subscribed |= MYEVENTS
            self._reply("+OK Events Enabled")
        elif word == "nixevent":
            _all, known = nix(rest.split(), self.subscribed, all_events=False)
            self._reply("+OK events nixed" if known else "-ERR no keywords supplied")
        elif word == "linger":
            self._reply(f"+OK will linger {rest} seconds" if rest else "+OK will linger")
        elif word == "api":
            self._api(rest)
        elif line == "sendmsg" and frame.get("call-command") == "execute":
            self._reply("+OK")
            if self.hangup_cause is None:
                self._execute(frame.get("execute-app-name") or "", frame.get("execute-app-arg") or "", frame)
        elif line == "sendmsg" and frame.get("call-command") == "hangup":
            self._reply("+OK")
            self._hangup(frame.get("hangup-cause") or "NORMAL_CLEARING")
        else:
            self._reply("-ERR command not found")

    def _api(self, command: str) -> None:
        name, _, arg = command.partition(" ")
        if name == "uuid_kill" and arg.split()[:1] == [self.unique_id]:
            self._send(replies.api_response("+OK\n"))
            self._hangup(arg.split()[1] if len(arg.split()) > 1 else "NORMAL_CLEARING")
            return
        self._send(replies.api_response(self.api_replies.get(name, "+OK\n")))

    def _execute(self, app: str, arg: str, frame: Frame) -> None:
        self.executed.append((app, arg))
        queue = self._steps.get(app)
        step = queue.popleft() if queue else Step()
        app_headers = [
            ("Application", app),
            ("Application-Data", arg),
            ("Application-UUID", frame.get("Event-UUID") or ""),
        ]
        self._event("CHANNEL_EXECUTE", app_headers)
        if app == "answer" and not self.answered:
            if not self.early_media:
                self._event("CHANNEL_PROGRESS_MEDIA")
            self.answered = True
            self._event("CHANNEL_ANSWER")
        elif app == "pre_answer" and not self.early_media:
            self.early_media = True
            self._event("CHANNEL_PROGRESS_MEDIA")
        elif app == "set" and "=" in arg:
            name, _, value = arg.partition("=")
            self.variables[name] = value
        for name in step.events:
            self._event(name)
        for digit in step.dtmf:
            self._event("DTMF", [("DTMF-Digit", digit), ("DTMF-Duration", "1600"), ("DTMF-Source", "RTP")])
        self.variables.update(step.variables)
        response = step.response if step.response is not None else DEFAULT_RESPONSES.get(app, "+OK")
        if step.hangup is not None:
            self._hangup_event(step.hangup)
            if step.response is None and app == "playback":
                response = "PLAYBACK ERROR"
        self._event("CHANNEL_EXECUTE_COMPLETE", [*app_headers, ("Application-Response", response)])
        if app == "hangup":
            self._hangup(arg or "NORMAL_CLEARING")
        elif step.hangup is not None:
            self._down()

    def _hangup(self, cause: str) -> None:
        if self.hangup_cause is None:
            self._hangup_event(cause)
            self._down()

    def _hangup_event(self, cause: str) -> None:
        self.hangup_cause = cause
        self._event("CHANNEL_HANGUP", [("Hangup-Cause", cause)])

    def _down(self) -> None:
        """The end as FreeSWITCH reports it: the park and socket app return, state changes, HANGUP_COMPLETE."""
        self._event("CHANNEL_UNPARK")
        self._event("CHANNEL_EXECUTE_COMPLETE", [("Application", "socket"), ("Application-UUID", "socket-app")])
        self._event("CHANNEL_STATE", [("Channel-State", "CS_HANGUP")])
        self._event("CHANNEL_STATE", [("Channel-State", "CS_REPORTING")])
        cause = self.hangup_cause or "NORMAL_CLEARING"
        self._event(
            "CHANNEL_HANGUP_COMPLETE",
            [("Hangup-Cause", cause), ("variable_billsec", "0" if not self.answered else "1")],
            leading=[("Hangup-Cause", cause)],  # repeated, as in every capture
        )
        self._send(replies.disconnect_linger(self.unique_id, self._channel_name(), 5))

    # -- frames -------------------------------------------------------------------------

    def _channel_name(self) -> str:
        return f"sofia/external/{self.caller}@127.0.0.1:5070"

    def _channel_headers(self) -> list[Header]:
        state = "hangup" if self.hangup_cause else ("answered" if self.answered else "ringing")
        return [
            ("Core-UUID", "7d6d9c62-0b3e-4b46-9d7c-6f4d2f1e9a01"),
            ("FreeSWITCH-Hostname", "fs1"),
            ("Event-Date-Timestamp", str(time.time_ns() // 1000)),
            ("Event-Sequence", str(next(self._seq))),
            ("Channel-Name", self._channel_name()),
            ("Unique-ID", self.unique_id),
            ("Answer-State", state),
            ("Caller-Caller-ID-Number", self.caller),
            ("Caller-Destination-Number", self.destination),
            *[(f"variable_{k}", v) for k, v in self.variables.items()],
        ]

    def _event(self, name: str, tail: Iterable[Header] = (), leading: Iterable[Header] = ()) -> None:
        if name not in self.subscribed:
            return
        self._send(replies.event_plain([("Event-Name", name), *leading, *self._channel_headers(), *tail]))

    def _channel_data(self) -> bytes:
        created = str(time.time_ns() // 1000)
        return replies.encoded_block(
            [
                ("Event-Name", "CHANNEL_DATA"),
                *self._channel_headers(),
                ("Caller-Caller-ID-Name", self.caller),
                ("Caller-Channel-Created-Time", created),
                *self.extra_channel_data,
                ("Content-Type", "command/reply"),
                ("Reply-Text", "+OK\n"),
                ("Socket-Mode", "async"),
                ("Control", "full"),
            ]
        )
