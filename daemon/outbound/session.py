"""One outbound event-socket connection, i.e. one call, as an asyncio protocol.

FreeSWITCH's ``socket … async full`` dialplan application connects to us; we
speak first (``connect``), get the channel's data back, subscribe to the
channel's own events (``myevents``) and ask FreeSWITCH to keep the socket open
after the hangup (``linger``) so CHANNEL_HANGUP_COMPLETE and its billing
variables reach us.  Then the call flow runs commands:

* :meth:`Session.execute` sends a ``sendmsg`` with an ``Event-UUID`` and waits for
  the CHANNEL_EXECUTE_COMPLETE whose ``Application-UUID`` is that id: in async
  mode the ``+OK`` only means *queued*.
* :meth:`Session.api` runs an api command and returns its body.

Replies come back in command order, interleaved with events, so a FIFO of
futures matches them.  When the channel is gone (CHANNEL_HANGUP_COMPLETE, or the
socket closes) every pending wait fails with :class:`CallEnded`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from daemon.esl import Event, Frame, Parser, ProtocolError, commands
from daemon.logs import get_logger
from daemon.outbound.channel import ChannelInfo

_log = get_logger(__name__)

EventHook = Callable[[Event], None]


class CallEnded(Exception):
    """The channel hung up or the socket closed; the call flow stops here."""


class CommandFailed(Exception):
    """FreeSWITCH answered a command with ``-ERR``."""


class Session(asyncio.Protocol):
    """The app side of one outbound ESL connection."""

    __slots__ = (
        "_connected_at",
        "_executing",
        "_hooks",
        "_loop",
        "_on_connection",
        "_parser",
        "_replies",
        "_transport",
        "channel",
        "first_command_latency",
        "hangup_complete",
        "hangup_event",
        "protocol_error",
    )

    def __init__(self, on_connection: Callable[[Session], None] | None = None) -> None:
        self._on_connection = on_connection
        self._loop = asyncio.get_running_loop()
        self._parser = Parser()
        self._transport: asyncio.Transport | None = None
        self._replies: deque[asyncio.Future[Frame]] = deque()
        self._executing: dict[str, asyncio.Future[Event]] = {}
        self._hooks: list[EventHook] = []
        self.channel: ChannelInfo | None = None
        self.hangup_event: Event | None = None
        self.hangup_complete: asyncio.Future[Event] = self._loop.create_future()
        self.protocol_error: ProtocolError | None = None
        self._connected_at: float | None = None
        self.first_command_latency: float | None = None

    # -- asyncio.Protocol -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if self._on_connection is not None:
            self._on_connection(self)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self._parser.feed(data)
        except ProtocolError as exc:
            self.protocol_error = exc
            _log.warning("esl_protocol_error", error=str(exc))
            self.abort()
            return
        for frame in frames:
            self._dispatch(frame)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._end(CallEnded("event socket closed"))

    # -- frames in -----------------------------------------------------------

    def _dispatch(self, frame: Frame) -> None:
        ctype = frame.content_type
        if ctype in ("text/event-plain", "text/event-json"):
            self._on_event(frame.event())
        elif ctype == "text/disconnect-notice":
            pass  # linger/disconnect notices: we close after CHANNEL_HANGUP_COMPLETE (see finish)
        elif self._replies:
            future = self._replies.popleft()
            if not future.done():
                future.set_result(frame)
        else:
            _log.warning("esl_unexpected_frame", content_type=ctype)

    def _on_event(self, event: Event) -> None:
        name = event.name
        if name == "CHANNEL_EXECUTE_COMPLETE":
            future = self._executing.pop(event.get("Application-UUID") or "", None)
            if future is not None and not future.done():
                future.set_result(event)
        elif name == "CHANNEL_HANGUP":
            self.hangup_event = event
        elif name == "CHANNEL_HANGUP_COMPLETE":
            if self.hangup_event is None:
                self.hangup_event = event
            if not self.hangup_complete.done():
                self.hangup_complete.set_result(event)
        for hook in self._hooks:
            hook(event)
        if name == "CHANNEL_HANGUP_COMPLETE":
            self._end(CallEnded("channel hung up"))

    def _end(self, exc: CallEnded) -> None:
        pending: list[asyncio.Future[Event]] = list(self._executing.values())
        self._executing.clear()
        if self._transport is None:
            _fail(self._replies, exc)
            self._replies.clear()
        _fail(pending, exc)
        if self._transport is None:
            _fail([self.hangup_complete], exc)

    # -- commands out --------------------------------------------------------

    @property
    def hung_up(self) -> bool:
        return self.hangup_event is not None

    @property
    def uuid(self) -> str:
        return self.channel.unique_id if self.channel else ""

    def _write(self, data: bytes) -> asyncio.Future[Frame]:
        if self._transport is None or self._transport.is_closing():
            raise CallEnded("event socket closed")
        future = self._expect()
        self._transport.write(data)
        return future

    def _expect(self) -> asyncio.Future[Frame]:
        """A reply to wait for (one per command written)."""
        future: asyncio.Future[Frame] = self._loop.create_future()
        self._replies.append(future)
        return future

    def _mark_first_command(self) -> None:
        if self.first_command_latency is None and self._connected_at is not None:
            self.first_command_latency = time.perf_counter() - self._connected_at

    async def command(self, data: bytes) -> Frame:
        """Send one encoded command and wait for its reply frame."""
        return await self._write(data)

    async def start(self, linger_seconds: int) -> ChannelInfo:
        """``connect``, ``myevents`` and ``linger`` in one write.

        mod_event_socket reads commands one at a time from the socket and
        answers each in order, so pipelining them is safe and saves two round
        trips (and two system calls each side) per call set-up.
        """
        data = commands.connect() + commands.myevents() + commands.linger(linger_seconds)
        connected = self._write(data)
        subscribed = self._expect()
        lingering = self._expect()
        reply = await connected
        self._connected_at = time.perf_counter()
        self.channel = ChannelInfo.from_connect_reply(reply)
        for future in (subscribed, lingering):
            answer = await future
            if not answer.ok:
                raise CommandFailed(answer.reply_text)
        return self.channel

    async def _checked(self, data: bytes) -> Frame:
        reply = await self.command(data)
        if not reply.ok:
            raise CommandFailed(reply.reply_text)
        return reply

    async def execute(self, app: str, arg: str | None = None, *, lock: bool = True) -> Event:
        """Run a dialplan application and wait until it completes.

        ``lock=False`` for a ``bridge`` that must still hear ``uuid_broadcast``:
        with ``event-lock`` FreeSWITCH holds a broadcast back until the bridge ends.
        """
        if self.hung_up:
            raise CallEnded(f"channel hung up before {app}")
        event_uuid = str(uuid.uuid4())
        data = commands.execute(app, arg, event_uuid, event_lock=lock)
        done: asyncio.Future[Event] = self._loop.create_future()
        self._executing[event_uuid] = done
        self._mark_first_command()
        try:
            await self._checked(data)
        except BaseException:
            self._executing.pop(event_uuid, None)
            raise
        return await done

    async def api(self, cmd: str) -> str:
        """Run an api command on FreeSWITCH; return its response body."""
        self._mark_first_command()
        reply = await self.command(commands.api(cmd))
        return reply.body_text

    async def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """Ask FreeSWITCH to hang the channel up (``+OK`` even if it is gone)."""
        if self._transport is None:
            return
        self._mark_first_command()
        await self.command(commands.hangup(cause))

    def add_hook(self, hook: EventHook) -> None:
        """Call ``hook`` with every event of this channel as it arrives."""
        self._hooks.append(hook)

    def remove_hook(self, hook: EventHook) -> None:
        self._hooks.remove(hook)

    async def finish(self, grace: float) -> None:
        """Wait for CHANNEL_HANGUP_COMPLETE (bounded), then close the socket.

        A socket left open keeps the channel alive inside FreeSWITCH while it
        lingers, so we always close it, even if the event never comes.
        """
        if self._transport is not None:
            with contextlib.suppress(TimeoutError, CallEnded):
                await asyncio.wait_for(asyncio.shield(self.hangup_complete), grace)
        self.close()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()


def _fail(futures: Iterable[asyncio.Future[Any]], exc: BaseException) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(exc)
            future.exception()  # mark retrieved; the awaiting flow still re-raises it
