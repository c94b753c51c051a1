"""A tiny scripted event-socket app for behaviour tests: send commands, wait for frames.

Built on the daemon's sans-IO :class:`~daemon.esl.connection.Connection`, so which
reply answers which command and which CHANNEL_EXECUTE_COMPLETE ends which execute
is decided by the same code as in the daemon.  ``send`` writes raw bytes (a test
may write what a careless app would); ``frames`` keeps every frame received.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from daemon.esl import Frame
from daemon.esl.connection import (
    ApiResponse,
    ChannelData,
    CommandReply,
    Connection,
    ConnectionEvent,
    Disconnect,
    ExecuteComplete,
    FrameEvent,
    Reply,
    Request,
    Role,
)

_REPLIES = (CommandReply, ChannelData, ApiResponse)


class AppConn:
    """The app's side of one connection.

    Made directly it is a client of FreeSWITCH's inbound socket (auth/request first);
    :class:`AppServer` makes outbound ones (FreeSWITCH's ``socket`` app connecting).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, role: Role = Role.INBOUND) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = Connection(role)
        self.frames: list[Frame] = []
        self._pending: deque[ConnectionEvent] = deque()

    def write(self, request: Request) -> Request:
        self.writer.write(request.data)
        return request

    def send(self, data: bytes) -> Request:
        """Raw bytes, unchecked (the connection still learns what answers them)."""
        return self.write(self.conn.send_raw(data))

    async def next_event(self, limit: float = 5.0) -> FrameEvent:
        while not self._pending:
            data = await asyncio.wait_for(self.reader.read(65536), limit)
            self._pending += self.conn.receive_data(data)
        item = self._pending.popleft()
        if isinstance(item, Disconnect):
            self._pending.appendleft(item)  # stays closed
            raise EOFError("FreeSWITCH closed the socket")
        self.frames.append(item.frame)
        return item

    async def next(self, limit: float = 5.0) -> Frame:
        return (await self.next_event(limit)).frame

    async def until_event(self, pred: Callable[[FrameEvent], bool], limit: float = 5.0) -> FrameEvent:
        while True:
            item = await self.next_event(limit)
            if pred(item):
                return item

    async def until(self, pred: Callable[[Frame], bool], limit: float = 5.0) -> Frame:
        while True:
            frame = await self.next(limit)
            if pred(frame):
                return frame

    async def reply(self) -> Frame:
        """The next reply frame, whatever it answers."""
        item = await self.until_event(lambda e: isinstance(e, _REPLIES))
        return item.frame

    async def reply_to(self, request: Request, limit: float = 5.0) -> Reply:
        item = await self.until_event(lambda e: isinstance(e, _REPLIES) and e.request is request, limit)
        assert isinstance(item, _REPLIES)
        return item

    async def command(self, data: bytes) -> Frame:
        return (await self.reply_to(self.send(data))).frame

    async def start(self, linger: bytes = b"linger 5\n\n") -> Frame:
        """connect, myevents, linger; returns the CHANNEL_DATA reply."""
        data = await self.reply_to(self.write(self.conn.connect()))
        await self.reply_to(self.write(self.conn.myevents()))
        if linger:
            await self.command(linger)
        return data.frame

    async def run(self, app: str, arg: str | None = None, *, lock: bool = True, uuid: str = "") -> Frame:
        """Execute and wait for the EXECUTE_COMPLETE with our Event-UUID."""
        request = self.write(self.conn.execute(app, arg, lock=lock, event_uuid=uuid or None))
        await self.reply_to(request)
        return await self.completion(request)

    async def completion(self, request: Request, limit: float = 10.0) -> Frame:
        item = await self.until_event(lambda e: isinstance(e, ExecuteComplete) and e.request is request, limit)
        return item.frame

    async def complete(self, event_uuid: str, limit: float = 10.0) -> Frame:
        """The completion of an execute sent raw (``command(execute(…, event_uuid))``)."""
        item = await self.until_event(
            lambda e: isinstance(e, ExecuteComplete) and e.request.event_uuid == event_uuid, limit
        )
        return item.frame

    async def drain(self, limit: float = 10.0) -> None:
        """Read until FreeSWITCH closes the socket."""
        try:
            while True:
                await self.next_event(limit)
        except EOFError:
            pass

    def names(self) -> list[str]:
        return [f.event().name for f in self.frames if f.content_type in ("text/event-plain", "text/event-json")]

    def close(self) -> None:
        self.writer.close()


def is_event(frame: Frame, name: str) -> bool:
    return frame.content_type in ("text/event-plain", "text/event-json") and frame.event().name == name


Handler = Callable[[AppConn], Awaitable[None]]


class AppServer:
    """Listens like the daemon; runs ``handler`` for every connection FreeSWITCH makes."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.errors: list[BaseException] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> AppServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = AppConn(reader, writer, Role.OUTBOUND)
        try:
            await self.handler(conn)
        except (AssertionError, EOFError, TimeoutError) as exc:
            self.errors.append(exc)
        finally:
            conn.close()
