"""A small asyncio client for FreeSWITCH's inbound event socket.

Used outside the call path: after a crash, to ask FreeSWITCH which calls still
live and to hear their CHANNEL_HANGUP_COMPLETE.  ``auth`` first, then ``api``
commands and an ``event plain`` subscription (not per channel: every channel's
events arrive).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

from daemon.esl import Event, Frame, Parser, ProtocolError, commands


class InboundError(Exception):
    pass


class InboundClient:
    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._parser = Parser()
        self._replies: deque[asyncio.Future[Frame]] = deque()
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._auth: asyncio.Future[Frame] | None = None

    async def connect(self, host: str, port: int, password: str) -> None:
        """Connect and authenticate (wrap in ``asyncio.timeout`` to bound it)."""
        self._reader, self._writer = await asyncio.open_connection(host, port)
        self._auth = asyncio.get_running_loop().create_future()
        self._pump = asyncio.get_running_loop().create_task(self._read())
        await self._auth
        reply = await self._send(commands.auth(password))
        if not reply.ok:
            await self.close()
            raise InboundError(f"FreeSWITCH refused the event-socket password: {reply.reply_text}")

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while data := await self._reader.read(65536):
                for frame in self._parser.feed(data):
                    self._dispatch(frame)
        except (ProtocolError, OSError) as exc:
            self._fail(InboundError(str(exc)))
            return
        self._fail(InboundError("FreeSWITCH closed the event socket"))

    def _dispatch(self, frame: Frame) -> None:
        ctype = frame.content_type
        if ctype == "auth/request" and self._auth is not None and not self._auth.done():
            self._auth.set_result(frame)
        elif ctype in ("text/event-plain", "text/event-json"):
            self.events.put_nowait(frame.event())
        elif ctype in ("command/reply", "api/response") and self._replies:
            self._replies.popleft().set_result(frame)

    def _fail(self, exc: Exception) -> None:
        for future in [*self._replies, *([self._auth] if self._auth else [])]:
            if not future.done():
                future.set_exception(exc)
        self._replies.clear()

    async def _send(self, data: bytes) -> Frame:
        if self._writer is None:
            raise InboundError("not connected")
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._replies.append(future)
        self._writer.write(data)
        return await future

    async def api(self, cmd: str) -> str:
        return (await self._send(commands.api(cmd))).body_text

    async def subscribe(self, *names: str) -> None:
        reply = await self._send(commands.event("plain", names))
        if not reply.ok:
            raise InboundError(reply.reply_text)

    async def exists(self, uuid: str) -> bool:
        return (await self.api(f"uuid_exists {uuid}")).strip() == "true"

    async def channels(self) -> list[dict[str, Any]]:
        body = await self.api("show channels as json")
        data = json.loads(body)
        rows: list[dict[str, Any]] = data.get("rows") or []
        return rows

    async def close(self) -> None:
        if self._writer is not None:
            try:
                if not self._writer.is_closing():
                    self._writer.write(commands.exit_())
                self._writer.close()
            except OSError:
                pass
            self._writer = None
        if self._pump is not None:
            self._pump.cancel()
