"""The application's side of one event socket, as a sans-IO state machine.

In the style of h11 and wsproto: no socket, no event loop.  Bytes FreeSWITCH sent
go in through :meth:`Connection.receive_data` (``b""`` when the socket closed) and
come out as typed, frozen events; every command is made by a method that returns
a :class:`Request` whose :attr:`Request.data` the caller writes to the socket.

What the connection knows, so that no adapter has to:

* mod_event_socket answers every command exactly once, in the order written:
  ``api`` with an ``api/response`` (or a ``command/reply`` ``-ERR`` when the
  socket is not ``full``), everything else with a ``command/reply``.  Each reply
  event names the :class:`Request` it answers.
* ``sendmsg`` execute only *queues* the application in async mode; it is done at
  the CHANNEL_EXECUTE_COMPLETE whose ``Application-UUID`` is the ``Event-UUID``
  we sent (:class:`ExecuteComplete`).  A completion may even arrive before the
  ``+OK``; the request is matched from the moment it is made.
* Outbound (``socket … async full``): the reply to ``connect`` is the channel's
  data (:class:`ChannelData`); CHANNEL_HANGUP and CHANNEL_HANGUP_COMPLETE end the
  channel (:class:`Hangup`, :class:`HangupComplete`, which lists the executes that
  will now never complete).  Inbound (port 8021): ``auth/request`` comes first
  (:class:`AuthRequest`); events of every channel are plain :class:`ChannelEvent`.
* ``text/disconnect-notice`` (:class:`DisconnectNotice`) only announces the end;
  it may come before CHANNEL_HANGUP_COMPLETE (NOTES.md).  The socket closing is
  :class:`Disconnect`, which lists every request left without its answer.

A reply nobody asked for, an ``api/response`` to a non-api command, or a frame
type FreeSWITCH never sends means both sides disagree about the stream: that is
a :class:`~daemon.esl.errors.ProtocolError` and the socket must be closed.
Values written into commands are checked with
:func:`~daemon.esl.encoding.check_safe` (CR, LF and NUL refused).
"""

from __future__ import annotations

import enum
import itertools
import uuid as uuidlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from daemon.esl import commands
from daemon.esl.errors import ConnectionClosed, ProtocolError
from daemon.esl.frame import Event, Frame
from daemon.esl.parser import Parser


class Role(enum.Enum):
    OUTBOUND = "outbound"  # FreeSWITCH's socket app connected to us: one channel, we speak first
    INBOUND = "inbound"  # we connected to FreeSWITCH's event socket: auth/request first, any channel


class Kind(enum.Enum):
    """What a command is, hence what answers it."""

    COMMAND = "command"  # one command/reply
    CONNECT = "connect"  # one command/reply carrying CHANNEL_DATA (outbound)
    API = "api"  # one api/response (or a command/reply -ERR)
    EXECUTE = "execute"  # one command/reply, then CHANNEL_EXECUTE_COMPLETE with our Event-UUID


@dataclass(frozen=True, slots=True, eq=False)
class Request:
    """One command written to FreeSWITCH: its bytes, and what it waits for.

    Requests compare (and hash) by identity, so adapters can key their waiters on them.
    """

    kind: Kind
    line: str  # the command line (``api uuid_kill …``, ``sendmsg``), for messages
    data: bytes  # the bytes to write
    event_uuid: str | None = None  # EXECUTE: the Event-UUID its completion carries


# -- events (what receive_data produces) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """Inbound: FreeSWITCH asks for the password (``auth/request``)."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class CommandReply:
    """The ``command/reply`` to ``request`` (``+OK …`` or ``-ERR …``)."""

    request: Request
    frame: Frame

    @property
    def ok(self) -> bool:
        return self.frame.ok

    @property
    def reply_text(self) -> str:
        return self.frame.reply_text


@dataclass(frozen=True, slots=True)
class ChannelData:
    """Outbound: the reply to ``connect``, a header block holding the channel's data."""

    request: Request
    frame: Frame

    @property
    def ok(self) -> bool:
        return self.frame.ok


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """The ``api/response`` to an ``api`` request; the result is the body."""

    request: Request
    frame: Frame

    @property
    def text(self) -> str:
        return self.frame.body_text


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """A FreeSWITCH event (``text/event-plain`` or ``text/event-json``).

    The subclasses below are the events the connection gives a meaning to; every
    one of them is still a ChannelEvent, so "every event" is one isinstance check.
    """

    frame: Frame
    event: Event


@dataclass(frozen=True, slots=True)
class ExecuteComplete(ChannelEvent):
    """The CHANNEL_EXECUTE_COMPLETE of an application we executed."""

    request: Request

    @property
    def response(self) -> str:
        return self.event.get("Application-Response") or ""


@dataclass(frozen=True, slots=True)
class Hangup(ChannelEvent):
    """Outbound: the channel's first CHANNEL_HANGUP (its running application still completes)."""


@dataclass(frozen=True, slots=True)
class HangupComplete(ChannelEvent):
    """Outbound: CHANNEL_HANGUP_COMPLETE; ``abandoned`` executes will never complete."""

    abandoned: tuple[Request, ...]


@dataclass(frozen=True, slots=True)
class DisconnectNotice:
    """``text/disconnect-notice``: FreeSWITCH is letting go (``linger``) or closing (``disconnect``)."""

    frame: Frame

    @property
    def disposition(self) -> str:
        return self.frame.get("Content-Disposition") or ""


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The socket closed; ``unanswered`` requests got no reply or no completion."""

    unanswered: tuple[Request, ...]


#: What one received frame becomes (each carries its ``frame``).
FrameEvent = AuthRequest | CommandReply | ChannelData | ApiResponse | ChannelEvent | DisconnectNotice
ConnectionEvent = FrameEvent | Disconnect
Reply = CommandReply | ChannelData | ApiResponse

#: Event-UUIDs of this process: one random UUID's first 24 characters, then a counter in the
#: last 12 hex digits.  FreeSWITCH only echoes the value (as Application-UUID) and we match it per
#: connection, so unique within the process is plenty; a counter costs a seventh of uuid4() and
#: its str() (0.6 against 4.5 µs here), paid on every execute.
_EVENT_UUID_BASE = str(uuidlib.uuid4())[:24]
_event_numbers = itertools.count(1)

_EVENT_TYPES = frozenset({"text/event-plain", "text/event-json"})
_NOTICE_TYPES = frozenset({"text/disconnect-notice", "text/rude-rejection"})
_EXECUTE_MARK = b"\ncall-command: execute\n"
_EVENT_UUID_MARK = b"\nEvent-UUID: "


class Connection:
    """One event-socket connection, application side."""

    __slots__ = (
        "_executing",
        "_greeted",
        "_outbound",
        "_parser",
        "_replies",
        "_undelivered",
        "closed",
        "hangup_complete",
        "hangup_event",
        "role",
    )

    def __init__(self, role: Role = Role.OUTBOUND, *, parser: Parser | None = None) -> None:
        self.role = role
        self._outbound = role is Role.OUTBOUND
        self._parser = parser or Parser()
        self._replies: deque[Request] = deque()  # requests waiting for their reply, in write order
        self._executing: dict[str, Request] = {}  # Event-UUID -> execute waiting for its completion
        self._undelivered: tuple[Request, ...] = ()  # answered by a read that then failed (see receive_data)
        self._greeted = role is Role.OUTBOUND
        self.hangup_event: Event | None = None  # CHANNEL_HANGUP (or HANGUP_COMPLETE if it came alone)
        self.hangup_complete: Event | None = None
        self.closed = False

    # -- state --------------------------------------------------------------------

    @property
    def hung_up(self) -> bool:
        return self.hangup_event is not None

    @property
    def awaiting_replies(self) -> int:
        return len(self._replies)

    @property
    def executing(self) -> int:
        return len(self._executing)

    # -- bytes in -------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[ConnectionEvent]:
        """Feed bytes as they arrived; ``b""`` means the socket closed (EOF)."""
        if not data:
            if self.closed:
                return []
            return [self._disconnected()]
        if self.closed:
            raise ProtocolError("data received after the connection closed")
        events: list[ConnectionEvent] = []
        try:
            for frame in self._parser.feed(data):
                events.append(self._on_frame(frame))
        except ProtocolError:
            # The events of this read before the bad frame are never delivered: the
            # requests they answered are still waiting as far as the caller knows.
            self._undelivered += tuple(r for item in events for r in _requests_of(item))
            raise
        return events

    def connection_lost(self) -> Disconnect | None:
        """The socket is gone (either side); None if that was already known."""
        return None if self.closed else self._disconnected()

    def _on_frame(self, frame: Frame) -> FrameEvent:
        ctype = frame.content_type
        if ctype in _EVENT_TYPES:
            return self._on_event(frame, frame.event())
        if not self._greeted:
            if ctype != "auth/request":
                raise ProtocolError(f"expected auth/request first, got {ctype!r}")
            self._greeted = True
            return AuthRequest(frame)
        if ctype == "command/reply":
            request = self._answered(ctype)
            kind = request.kind
            if kind is Kind.CONNECT:
                return ChannelData(request, frame)
            if kind is Kind.EXECUTE and not frame.ok and request.event_uuid is not None:
                self._executing.pop(request.event_uuid, None)  # refused: it will never run
            return CommandReply(request, frame)
        if ctype == "api/response":
            if self._replies and self._replies[0].kind is not Kind.API:
                raise ProtocolError(f"api/response to {self._replies[0].line!r}, which is not an api command")
            return ApiResponse(self._answered(ctype), frame)
        if ctype in _NOTICE_TYPES:
            return DisconnectNotice(frame)
        if ctype == "auth/request":
            raise ProtocolError("unexpected auth/request (outbound socket, or after the greeting)")
        raise ProtocolError(f"unexpected frame type {ctype!r}")

    def _answered(self, ctype: str) -> Request:
        if not self._replies:
            raise ProtocolError(f"{ctype} with no command waiting for it")
        return self._replies.popleft()

    def _on_event(self, frame: Frame, event: Event) -> ChannelEvent:
        name = event.name
        if name == "CHANNEL_EXECUTE_COMPLETE":
            request = self._executing.pop(event.get("Application-UUID") or "", None)
            if request is not None:
                return ExecuteComplete(frame, event, request)
        elif self._outbound:
            if name == "CHANNEL_HANGUP":
                if self.hangup_event is None:
                    self.hangup_event = event
                    return Hangup(frame, event)
            elif name == "CHANNEL_HANGUP_COMPLETE" and self.hangup_complete is None:
                self.hangup_complete = event
                if self.hangup_event is None:
                    self.hangup_event = event
                abandoned = tuple(self._executing.values())
                self._executing.clear()
                return HangupComplete(frame, event, abandoned)
        return ChannelEvent(frame, event)

    def _disconnected(self) -> Disconnect:
        self.closed = True
        waiting = dict.fromkeys([*self._undelivered, *self._replies, *self._executing.values()])  # identity, in order
        self._undelivered = ()
        self._replies.clear()
        self._executing.clear()
        return Disconnect(tuple(waiting))

    # -- commands out -----------------------------------------------------------------

    def _request(self, kind: Kind, line: str, data: bytes, event_uuid: str | None = None) -> Request:
        if self.closed:
            raise ConnectionClosed(f"cannot send {line!r}: the event socket is closed")
        request = Request(kind, line, data, event_uuid)
        self._replies.append(request)
        if event_uuid is not None:
            self._executing[event_uuid] = request
        return request

    def connect(self) -> Request:
        return self._request(Kind.CONNECT, "connect", commands.connect())

    def myevents(self, fmt: str = "plain") -> Request:
        return self._request(Kind.COMMAND, "myevents", commands.myevents(fmt))

    def linger(self, seconds: int | None = None) -> Request:
        return self._request(Kind.COMMAND, "linger", commands.linger(seconds))

    def nolinger(self) -> Request:
        return self._request(Kind.COMMAND, "nolinger", commands.nolinger())

    def auth(self, password: str) -> Request:
        return self._request(Kind.COMMAND, "auth", commands.auth(password))

    def event(self, fmt: str, names: Iterable[str]) -> Request:
        """Subscribe (``event plain CHANNEL_HANGUP_COMPLETE …``)."""
        data = commands.event(fmt, names)
        return self._request(Kind.COMMAND, data[:-2].decode(), data)

    def nixevent(self, names: tuple[str, ...]) -> Request:
        """Unsubscribe from ``names`` (after ``myevents``: the channel's events nobody reads)."""
        data = commands.nixevent(names)
        return self._request(Kind.COMMAND, "nixevent", data)

    def filter(self, header: str, value: str) -> Request:
        """Receive only the events whose ``header`` is ``value`` (an inbound socket watching one call)."""
        data = commands.filter_(header, value)
        return self._request(Kind.COMMAND, data[:-2].decode(), data)

    def api(self, cmd: str) -> Request:
        data = commands.api(cmd)
        return self._request(Kind.API, data[:-2].decode(), data)

    def bgapi(self, cmd: str, job_uuid: str | None = None) -> Request:
        """``+OK Job-UUID: …`` now; the result comes as BACKGROUND_JOB (to subscribers only)."""
        return self._request(Kind.COMMAND, f"bgapi {cmd}", commands.bgapi(cmd, job_uuid))

    def execute(
        self,
        app: str,
        arg: str | None = None,
        *,
        lock: bool = True,
        event_uuid: str | None = None,
        uuid: str | None = None,
        loops: int | None = None,
    ) -> Request:
        """Run a dialplan application; :class:`ExecuteComplete` names this request when it is done.

        With ``loops`` every pass sends its own EXECUTE_COMPLETE under the one
        Event-UUID: the first pass's completes this request, later passes come
        as plain :class:`ChannelEvent`.
        """
        event_uuid = event_uuid or f"{_EVENT_UUID_BASE}{next(_event_numbers) & 0xFFFFFFFFFFFF:012x}"
        if event_uuid in self._executing:
            raise ValueError(f"Event-UUID {event_uuid!r} is already executing")
        data = commands.execute(app, arg, event_uuid, event_lock=lock, uuid=uuid, loops=loops)
        return self._request(Kind.EXECUTE, f"execute {app}", data, event_uuid)

    def hangup(self, cause: str = "NORMAL_CLEARING", *, uuid: str | None = None) -> Request:
        return self._request(Kind.COMMAND, "hangup", commands.hangup(cause, uuid=uuid))

    def exit(self) -> Request:
        return self._request(Kind.COMMAND, "exit", commands.exit_())

    def send_raw(self, data: bytes) -> Request:
        """One command already encoded (tests; commands with no method here).

        Not checked: the bytes go out as they are.  What answers it is read from its
        first line; a ``sendmsg`` execute with an ``Event-UUID`` is matched to its
        completion like :meth:`execute`.
        """
        first = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        low = first.lower()
        if low.startswith("api "):
            return self._request(Kind.API, first, data)
        if low == "connect":
            return self._request(Kind.CONNECT, first, data)
        if low.startswith("sendmsg") and _EXECUTE_MARK in data:
            start = data.find(_EVENT_UUID_MARK)
            if start >= 0:
                start += len(_EVENT_UUID_MARK)
                event_uuid = data[start : data.find(b"\n", start)].decode("utf-8", "replace")
                if event_uuid and event_uuid not in self._executing:
                    return self._request(Kind.EXECUTE, first, data, event_uuid)
        return self._request(Kind.COMMAND, first, data)


def _requests_of(item: ConnectionEvent) -> tuple[Request, ...]:
    """The requests an event settles."""
    if isinstance(item, (CommandReply, ChannelData, ApiResponse, ExecuteComplete)):
        return (item.request,)
    if isinstance(item, HangupComplete):
        return item.abandoned
    return ()
