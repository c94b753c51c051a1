"""The event-socket listener: command parsing, replies, event subscriptions.

Follows ``parse_command`` in mod_event_socket.c (1.10): commands are matched by
case-insensitive prefix, a command FreeSWITCH does not know gets ``-ERR command not
found``, replies are plain ``command/reply`` blocks, ``api`` answers with an
``api/response`` whose body length is in Content-Length, and ``bgapi`` answers
``+OK Job-UUID: …`` plus a ``Job-UUID`` header and later fires BACKGROUND_JOB to every
listener subscribed to it (api_commands).  Both the outbound (per call) and the
inbound listener derive from :class:`Listener`.
"""

from __future__ import annotations

import asyncio
import time
import uuid as uuidlib
from typing import Protocol

from daemon.esl import Frame, Parser, ProtocolError
from daemon.esl.encoding import url_encode
from daemon.esl.replies import api_response, command_reply
from emulator.events import EventFactory, OutEvent

#: ``myevents`` subscribes to these (mod_event_socket.c, ``myevents``).
MYEVENTS = frozenset(
    {
        "CHANNEL_ANSWER",
        "CHANNEL_APPLICATION",
        "CHANNEL_BRIDGE",
        "CHANNEL_CREATE",
        "CHANNEL_DATA",
        "CHANNEL_DESTROY",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_STATE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_UNPARK",
        "DETECTED_SPEECH",
        "DTMF",
        "NOTALK",
        "TALK",
    }
)

#: Event names ``event`` accepts (switch_event.c EVENT_NAMES, the ones that matter here).
KNOWN_EVENTS = MYEVENTS | {
    "ALL",
    "API",
    "BACKGROUND_JOB",
    "CHANNEL_CALLSTATE",
    "CHANNEL_HOLD",
    "CHANNEL_UNHOLD",
    "CUSTOM",
    "HEARTBEAT",
    "PLAYBACK_START",
    "PLAYBACK_STOP",
    "RECORD_START",
    "RECORD_STOP",
    "RE_SCHEDULE",
    "SHUTDOWN",
}


def nix(words: list[str], names: set[str], *, all_events: bool) -> tuple[bool, int]:
    """``nixevent``'s words applied to a listener's ``names`` (changed in place), as mod_event_socket does.

    Each known name clears its entry of the event list, whoever set it (``event``,
    ``myevents``); ``ALL`` clears every entry; after ``event … ALL`` one name nixed
    leaves all the others subscribed.  Unknown names are skipped, and the words after
    CUSTOM are subclass names (the emulator fires no CUSTOM events).  Returns the new
    ``all_events`` and how many names were known (none: ``-ERR no keywords supplied``).
    """
    key_count = 0
    for word in (w.upper() for w in words):
        if word not in KNOWN_EVENTS:
            continue
        key_count += 1
        if word == "CUSTOM":
            break
        if word == "ALL":
            all_events = False
            names.clear()
            continue
        if all_events:
            all_events = False
            names.update(KNOWN_EVENTS - {"ALL"})
        names.discard(word)
    return all_events, key_count


def linger_delay(seconds: int, scale: float) -> float:
    """How long a ``linger N`` socket stays open after the hang-up, times ``scale``.

    mod_event_socket sets ``linger_timeout = epoch + N`` and closes once
    ``epoch_now > linger_timeout``: 5.1–6.0 s for 5.
    """
    now = time.time()
    return (int(now) + seconds + 1 - now) * scale


class Switchboard(Protocol):
    """What a listener needs of its switch: the event subscriptions, the api, the event factory."""

    factory: EventFactory

    def subscribe(self, listener: Listener) -> None: ...

    def unsubscribe(self, listener: Listener) -> None: ...

    def api(self, command: str, caller_uuid: str | None = None) -> str: ...

    def dispatch_global(self, event: OutEvent) -> None: ...


class Listener(asyncio.Protocol):
    """One event-socket connection as FreeSWITCH's listener thread sees it."""

    def __init__(self, fs: Switchboard) -> None:
        self.fs = fs
        self.transport: asyncio.Transport | None = None
        self.parser = Parser(commands=True)
        self.fmt = "plain"
        self.names: set[str] = set()
        self.all_events = False
        self.myevents = False
        self.session_uuid: str | None = None
        self.filters: list[bytes] = []  # ``filter <header> <value>``: a header line an event must carry
        self.closing = False
        self.gone = False  # the connection is closed (either side)
        self._held: list[bytes] | None = None
        self._out: list[bytes] = []
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- transport ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.fs.unsubscribe(self)
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        if b"\r" in data:
            self.protocol_error(f"CR in a command: {data[:120]!r}")
        try:
            frames = self.parser.feed(data)
        except ProtocolError as exc:
            self.protocol_error(f"malformed command (CR/LF injection?): {exc}")
            self.close()
            return
        for frame in frames:
            self.on_frame(frame)

    def write(self, data: bytes) -> None:
        if self._held is not None:
            self._held.append(data)
            return
        if self.transport is not None and not self.closing and not self.gone:
            if not self._out:
                asyncio.get_running_loop().call_soon(self.flush)
            self._out.append(data)
            self.record_sent(data)

    def flush(self) -> None:
        """One ``send()`` for everything written in this loop iteration.

        FreeSWITCH's listener thread also drains its queue into the socket in bursts,
        so one recv() often holds several frames (CHANNEL_HANGUP + notice, api_commands).
        """
        if self._out and self.transport is not None and not self.gone:
            self.transport.write(b"".join(self._out))
        self._out.clear()

    def close(self) -> None:
        """Close our side (FreeSWITCH's ``close_socket``), after what is already written."""
        if self.transport is not None and not self.closing and not self.gone:
            self.flush()
            self.closing = True
            self.transport.close()

    # -- hooks ----------------------------------------------------------------------

    def record_sent(self, data: bytes) -> None:
        """Outbound listeners keep the bytes for the CallResult."""

    def protocol_error(self, message: str) -> None:
        """Something FreeSWITCH would reject or misread; outbound listeners record it."""

    def on_frame(self, frame: Frame) -> None:
        line = (frame.line or "").strip()
        reply = self.handle(line, frame)
        if reply is not None:
            self.write(command_reply(reply[0], reply[1]))

    def handle(self, line: str, frame: Frame) -> tuple[str, list[tuple[str, str]]] | None:
        """Serve one command; return the command/reply text (and extra headers), or None."""
        return self.handle_common(line, frame)

    # -- commands shared by inbound and outbound --------------------------------------

    def handle_common(self, line: str, frame: Frame) -> tuple[str, list[tuple[str, str]]] | None:
        low = line.lower()
        if low.startswith(("exit", "...")):
            self.write(command_reply("+OK bye"))
            self.on_exit()
            return None
        if low.startswith("api "):
            self.run_api(line[4:])
            return None
        if low.startswith("bgapi "):
            job = frame.get("Job-UUID") or frame.get("job-uuid") or str(uuidlib.uuid4())
            self.write(command_reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)]))
            asyncio.get_running_loop().call_soon(self.run_bgapi, line[6:], job)
            return None
        if low.startswith("nixevent"):
            return self.nixevent(line), []
        if low.startswith("noevents"):
            if not (self.names or self.all_events or self.myevents):
                return "-ERR not listening for events", []
            self.names.clear()
            self.all_events = self.myevents = False
            self.fs.unsubscribe(self)
            return "+OK no longer listening for events", []
        if low.startswith("event"):
            return self.event(line), []
        if low.startswith("filter "):
            header, _, value = line[7:].strip().partition(" ")
            self.filters.append(f"\n{header}: {url_encode(value.strip())}\n".encode())
            return f"+OK filter added. [{header}]=[{value.strip()}]", []
        self.protocol_error(f"unknown command: {line!r}")
        return "-ERR command not found", []

    def event(self, line: str) -> str:
        words = line.split()[1:]
        key_count = 0
        for index, word in enumerate(words):
            upper = word.upper()
            if index == 0 and word.lower() in ("plain", "json", "xml"):
                self.fmt = word.lower()
                continue
            if upper in KNOWN_EVENTS:
                key_count += 1
                if upper == "ALL":
                    self.all_events = True
                else:
                    self.names.add(upper)
        if not key_count:
            return "-ERR no keywords supplied"
        self.fs.subscribe(self)
        return f"+OK event listener enabled {self.fmt}"

    def nixevent(self, line: str) -> str:
        self.all_events, key_count = nix(line.split()[1:], self.names, all_events=self.all_events)
        if not key_count:
            return "-ERR no keywords supplied"
        self.fs.subscribe(self)
        return "+OK events nixed"

    def on_exit(self) -> None:
        self.close()

    def run_api(self, command: str) -> None:
        """Run an api command; what it fires reaches this socket after the response (uuid_kill)."""
        self._held = []
        try:
            body = self.fs.api(command, self.session_uuid)
        finally:
            held, self._held = self._held, None
        self.write(api_response(body))
        for data in held:
            self.write(data)

    def run_bgapi(self, command: str, job: str) -> None:
        result = self.fs.api(command, self.session_uuid)
        name, _, arg = command.strip().partition(" ")
        headers = [("Job-UUID", job)]
        if self.session_uuid:
            headers.append(("Job-Owner-UUID", self.session_uuid))
        headers.append(("Job-Command", name))
        if arg:
            headers.append(("Job-Command-Arg", arg))
        payload = self.fs.factory.plain_event("BACKGROUND_JOB", headers, result.encode())
        self.fs.dispatch_global(OutEvent("BACKGROUND_JOB", None, payload))

    # -- events ---------------------------------------------------------------------

    def wants(self, event: OutEvent) -> bool:
        if not (self.all_events or event.name in self.names):
            return False
        if self.filters and not any(line in b"\n" + event.payload for line in self.filters):
            return False  # mod_event_socket: an event passes when it matches one of the filters
        return not (self.myevents and event.uuid is not None and event.uuid != self.session_uuid)

    def send_event(self, event: OutEvent) -> None:
        self.write(event.frame(self.fmt))
