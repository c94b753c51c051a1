"""A tiny scripted outbound-socket app for behaviour tests: send commands, wait for frames."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from daemon.esl import Frame, Parser
from daemon.esl.commands import execute


class AppConn:
    """The app's side of one call."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.frames: list[Frame] = []
        self._parser = Parser()
        self._pending: list[Frame] = []

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def next(self, limit: float = 5.0) -> Frame:
        while not self._pending:
            data = await asyncio.wait_for(self.reader.read(65536), limit)
            if not data:
                raise EOFError("FreeSWITCH closed the socket")
            self._pending += self._parser.feed(data)
        frame = self._pending.pop(0)
        self.frames.append(frame)
        return frame

    async def until(self, pred: Callable[[Frame], bool], limit: float = 5.0) -> Frame:
        while True:
            frame = await self.next(limit)
            if pred(frame):
                return frame

    async def reply(self) -> Frame:
        return await self.until(lambda f: f.content_type in ("command/reply", "api/response"))

    async def command(self, data: bytes) -> Frame:
        self.send(data)
        return await self.reply()

    async def start(self, linger: bytes = b"linger 5\n\n") -> Frame:
        """connect, myevents, linger; returns the CHANNEL_DATA reply."""
        data = await self.command(b"connect\n\n")
        await self.command(b"myevents\n\n")
        if linger:
            await self.command(linger)
        return data

    async def run(self, app: str, arg: str | None = None, *, lock: bool = True, uuid: str = "") -> Frame:
        """Execute and wait for the EXECUTE_COMPLETE with our Event-UUID."""
        event_uuid = uuid or f"{app}-{len(self.frames)}"
        await self.command(execute(app, arg, event_uuid, event_lock=lock))
        return await self.complete(event_uuid)

    async def complete(self, event_uuid: str, limit: float = 10.0) -> Frame:
        return await self.until(
            lambda f: is_event(f, "CHANNEL_EXECUTE_COMPLETE") and f.event().get("Application-UUID") == event_uuid,
            limit,
        )

    async def drain(self, limit: float = 10.0) -> None:
        """Read until FreeSWITCH closes the socket."""
        try:
            while True:
                await self.next(limit)
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
        conn = AppConn(reader, writer)
        try:
            await self.handler(conn)
        except (AssertionError, EOFError, TimeoutError) as exc:
            self.errors.append(exc)
        finally:
            conn.close()
