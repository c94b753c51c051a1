"""One outbound event-socket connection, i.e. one call, as an asyncio protocol.

FreeSWITCH's ``socket … async full`` dialplan application connects to us; we
speak first (``connect``), get the channel's data back, subscribe to the
channel's own events (``myevents``, less those nobody reads: ``nixevent``) and ask FreeSWITCH to keep the socket open
after the hangup (``linger``) so CHANNEL_HANGUP_COMPLETE and its billing
variables reach us.  Then the call flow runs commands:

* :meth:`Session.execute` sends a ``sendmsg`` and waits for its own
  CHANNEL_EXECUTE_COMPLETE: in async mode the ``+OK`` only means *queued*.
* :meth:`Session.api` runs an api command and returns its body.

This class is only the asyncio side: which reply answers which command, which
completion belongs to which execute, and when the channel is gone is decided by
the sans-IO :class:`~daemon.esl.connection.Connection`; here each request it
makes gets a future.  When the channel is gone (CHANNEL_HANGUP_COMPLETE, or the
socket closes) every pending wait fails with :class:`CallEnded`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

from daemon.esl import Event, Frame, ProtocolError
from daemon.esl.api_answer import api_body, body_later
from daemon.esl.connection import (
    ApiResponse,
    ChannelData,
    ChannelEvent,
    CommandReply,
    Connection,
    ConnectionEvent,
    Disconnect,
    ExecuteComplete,
    Hangup,
    HangupComplete,
    Reply,
    Request,
)
from daemon.logs import get_logger
from daemon.outbound.channel import ChannelInfo
from daemon.outbound.subscription import NIXED

_log = get_logger(__name__)

EventHook = Callable[[Event], None]


class CallEnded(Exception):
    """The channel hung up or the socket closed; the call flow stops here."""


class CommandFailed(Exception):
    """FreeSWITCH answered a command with ``-ERR``."""


class Session(asyncio.Protocol):
    """The app side of one outbound ESL connection."""

    __slots__ = (
        "_conn",
        "_connected_at",
        "_done",
        "_hooks",
        "_loop",
        "_on_connection",
        "_replies",
        "_transport",
        "channel",
        "first_command_latency",
        "hangup_complete",
        "protocol_error",
    )

    def __init__(self, on_connection: Callable[[Session], None] | None = None) -> None:
        self._on_connection = on_connection
        self._loop = asyncio.get_running_loop()
        self._conn = Connection()
        self._transport: asyncio.Transport | None = None
        self._replies: dict[Request, asyncio.Future[Reply]] = {}
        self._done: dict[Request, asyncio.Future[Event]] = {}
        self._hooks: list[EventHook] = []
        self.channel: ChannelInfo | None = None
        self.hangup_complete: asyncio.Future[Event] = self._loop.create_future()
        self.protocol_error: ProtocolError | None = None
        self._connected_at: float | None = None
        self.first_command_latency: float | None = None

    # -- asyncio.Protocol -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (create_server); uvloop's are not asyncio.Transport subclasses.
        self._transport = cast(asyncio.Transport, transport)
        if self._on_connection is not None:
            self._on_connection(self)

    def data_received(self, data: bytes) -> None:
        try:
            events = self._conn.receive_data(data)
        except ProtocolError as exc:
            self.protocol_error = exc
            _log.warning("esl_protocol_error", error=str(exc))
            self.abort()
            return
        for event in events:
            self._dispatch(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        lost = self._conn.connection_lost()
        if lost is not None:
            self._dispatch(lost)

    # -- events in -----------------------------------------------------------

    def _dispatch(self, item: ConnectionEvent) -> None:
        if type(item) is ChannelEvent or type(item) is Hangup:  # most frames: only the hooks want them
            event = item.event
            for hook in self._hooks:
                hook(event)
        elif isinstance(item, ChannelEvent):
            event = item.event
            if isinstance(item, ExecuteComplete):
                done = self._done.pop(item.request, None)
                if done is not None and not done.done():
                    done.set_result(event)
            elif isinstance(item, HangupComplete) and not self.hangup_complete.done():
                self.hangup_complete.set_result(event)
            for hook in self._hooks:
                hook(event)
            if isinstance(item, HangupComplete):
                self._fail(item.abandoned, CallEnded("channel hung up"))
        elif isinstance(item, (CommandReply, ChannelData, ApiResponse)):
            future = self._replies.pop(item.request, None)
            if future is not None and not future.done():
                future.set_result(item)
        elif isinstance(item, Disconnect):
            self._fail(item.unanswered, CallEnded("event socket closed"))
            _fail([self.hangup_complete], CallEnded("event socket closed"))
        # DisconnectNotice: we close after CHANNEL_HANGUP_COMPLETE (see finish)

    def _fail(self, requests: Iterable[Request], exc: CallEnded) -> None:
        for request in requests:
            _fail([f for f in (self._replies.pop(request, None), self._done.pop(request, None)) if f], exc)

    # -- commands out --------------------------------------------------------

    @property
    def hangup_event(self) -> Event | None:
        """CHANNEL_HANGUP (or CHANNEL_HANGUP_COMPLETE if it came without one)."""
        return self._conn.hangup_event

    @property
    def hung_up(self) -> bool:
        return self._conn.hangup_event is not None

    @property
    def uuid(self) -> str:
        return self.channel.unique_id if self.channel else ""

    def _open(self) -> asyncio.Transport:
        """The transport, checked before a request is made (a request never written would
        leave the connection waiting for a reply that cannot come)."""
        transport = self._transport
        if transport is None or transport.is_closing() or self._conn.closed:
            raise CallEnded("event socket closed")
        return transport

    def _expect(self, request: Request) -> asyncio.Future[Reply]:
        future: asyncio.Future[Reply] = self._loop.create_future()
        self._replies[request] = future
        return future

    def _send(self, request: Request, transport: asyncio.Transport) -> asyncio.Future[Reply]:
        future = self._expect(request)
        transport.write(request.data)
        return future

    def _mark_first_command(self) -> None:
        if self.first_command_latency is None and self._connected_at is not None:
            self.first_command_latency = time.perf_counter() - self._connected_at

    async def command(self, data: bytes) -> Frame:
        """Send one encoded command and wait for its reply frame."""
        transport = self._open()
        reply = await self._send(self._conn.send_raw(data), transport)
        return reply.frame

    async def start(self, linger_seconds: int) -> ChannelInfo:
        """``connect``, ``myevents``, ``nixevent`` and ``linger`` in one write.

        mod_event_socket reads commands one at a time from the socket and
        answers each in order, so pipelining them is safe and saves three round
        trips (and three system calls each side) per call set-up.  ``nixevent``
        drops the events of ``myevents`` that nobody reads (subscription.py).
        """
        transport = self._open()
        conn = self._conn
        requests = (conn.connect(), conn.myevents(), conn.nixevent(NIXED), conn.linger(linger_seconds))
        connected, subscribed, nixed, lingering = [self._expect(r) for r in requests]
        transport.write(b"".join([r.data for r in requests]))
        reply = await connected
        self._connected_at = time.perf_counter()
        self.channel = ChannelInfo.from_connect_reply(reply.frame)
        for future in (subscribed, lingering):
            answer = await future
            if not answer.frame.ok:
                raise CommandFailed(answer.frame.reply_text)
        nix_reply = await nixed
        if not nix_reply.frame.ok:  # more events than needed: slower, not wrong
            _log.warning("esl_nixevent_refused", reply=nix_reply.frame.reply_text)
        return self.channel

    async def _checked(self, request: Request, transport: asyncio.Transport) -> None:
        """Send; wait for the reply; ``-ERR`` raises (the reply is not kept while the app runs)."""
        reply = await self._send(request, transport)
        if not reply.frame.ok:
            raise CommandFailed(reply.frame.reply_text)

    async def execute(self, app: str, arg: str | None = None, *, lock: bool = True) -> Event:
        """Run a dialplan application and wait until it completes.

        ``lock=False`` for a ``bridge`` that must still hear ``uuid_broadcast``:
        with ``event-lock`` FreeSWITCH holds a broadcast back until the bridge ends.
        """
        if self.hung_up:
            raise CallEnded(f"channel hung up before {app}")
        transport = self._open()
        request = self._conn.execute(app, arg, lock=lock)
        done: asyncio.Future[Event] = self._loop.create_future()
        self._done[request] = done
        self._mark_first_command()
        try:
            await self._checked(request, transport)
        except BaseException:
            self._done.pop(request, None)
            raise
        return await done

    async def api(self, cmd: str) -> str:
        """Run an api command on FreeSWITCH; return its response body.

        A socket without ``full`` refuses api with a ``command/reply``; its text
        (``-ERR command not found``) is returned then.
        """
        return api_body(await self._api_request(cmd))

    def api_sent(self, cmd: str) -> asyncio.Future[str]:
        """:meth:`api`, written before this returns; the future is the response body.

        For a plain callback (the prepaid cut's timer): the command leaves in the
        callback's own turn instead of a task's next step, which waits behind every
        task the loop has queued meanwhile.
        """
        return body_later(self._api_request(cmd))

    def _api_request(self, cmd: str) -> asyncio.Future[Reply]:
        transport = self._open()
        request = self._conn.api(cmd)
        self._mark_first_command()
        return self._send(request, transport)

    async def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """Ask FreeSWITCH to hang the channel up (``+OK`` even if it is gone)."""
        if self._transport is None:
            return
        transport = self._open()
        request = self._conn.hangup(cause)
        self._mark_first_command()
        await self._send(request, transport)

    def add_hook(self, hook: EventHook) -> None:
        """Call ``hook`` with every event of this channel as it arrives (those of subscription.WANTED)."""
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
