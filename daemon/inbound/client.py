"""A small asyncio client for FreeSWITCH's inbound event socket.

Used outside the call path: after a crash, to ask FreeSWITCH which calls still
live and to hear their CHANNEL_HANGUP_COMPLETE.  ``auth`` first, then ``api``
commands and an ``event plain`` subscription (not per channel: every channel's
events arrive).  The protocol (reply order, auth/request first) is the sans-IO
:class:`~daemon.esl.connection.Connection` in its inbound role; this class only
reads the socket and gives each request a future.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from daemon.esl import ConnectionClosed, Event, ProtocolError
from daemon.esl.api_answer import api_body, body_later
from daemon.esl.connection import (
    ApiResponse,
    AuthRequest,
    ChannelData,
    ChannelEvent,
    CommandReply,
    Connection,
    ConnectionEvent,
    Disconnect,
    Reply,
    Request,
    Role,
)


class InboundError(Exception):
    pass


class InboundClient:
    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._conn = Connection(Role.INBOUND)
        self._replies: dict[Request, asyncio.Future[Reply]] = {}
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._auth: asyncio.Future[None] | None = None

    async def connect(self, host: str, port: int, password: str) -> None:
        """Connect and authenticate (wrap in ``asyncio.timeout`` to bound it)."""
        self._reader, self._writer = await asyncio.open_connection(host, port)
        self._auth = asyncio.get_running_loop().create_future()
        self._pump = asyncio.get_running_loop().create_task(self._read())
        await self._auth
        reply = await self._send(self._conn.auth(password))
        if not reply.frame.ok:
            await self.close()
            raise InboundError(f"FreeSWITCH refused the event-socket password: {reply.frame.reply_text}")

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while data := await self._reader.read(65536):
                for item in self._conn.receive_data(data):
                    self._dispatch(item)
        except (ProtocolError, OSError) as exc:
            self._fail(InboundError(str(exc)))
            return
        for item in self._conn.receive_data(b""):
            self._dispatch(item)

    def _dispatch(self, item: ConnectionEvent) -> None:
        if isinstance(item, ChannelEvent):
            self.events.put_nowait(item.event)
        elif isinstance(item, AuthRequest):
            if self._auth is not None and not self._auth.done():
                self._auth.set_result(None)
        elif isinstance(item, Disconnect):
            self._fail(InboundError("FreeSWITCH closed the event socket"))
        elif isinstance(item, (CommandReply, ChannelData, ApiResponse)):
            future = self._replies.pop(item.request, None)
            if future is not None and not future.done():
                future.set_result(item)

    def _fail(self, exc: Exception) -> None:
        futures: list[asyncio.Future[Any]] = [*self._replies.values()]
        if self._auth is not None:
            futures.append(self._auth)
        for future in futures:
            if not future.done():
                future.set_exception(exc)
        self._replies.clear()

    async def _send(self, request: Request) -> Reply:
        return await self._request(request)

    def _request(self, request: Request) -> asyncio.Future[Reply]:
        """Write ``request`` now; the future is its reply."""
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._replies[request] = future
        assert self._writer is not None
        self._writer.write(request.data)
        return future

    def _connection(self) -> Connection:
        if self._writer is None or self._writer.is_closing() or self._conn.closed:
            raise InboundError("not connected")
        return self._conn

    async def api(self, cmd: str) -> str:
        return api_body(await self._send(self._connection().api(cmd)))

    def api_sent(self, cmd: str) -> asyncio.Future[str]:
        """:meth:`api`, written before this returns; the future is the response body.

        For a plain timer callback (the restart's cut): the command leaves in the
        callback's own turn of the loop, not in a task's next step, which waits behind
        every task the loop queued meanwhile (:meth:`daemon.outbound.session.Session.api_sent`).
        """
        return body_later(self._request(self._connection().api(cmd)))

    async def subscribe(self, *names: str) -> None:
        reply = await self._send(self._connection().event("plain", names))
        if not reply.frame.ok:
            raise InboundError(reply.frame.reply_text)

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
                    self._writer.write(self._conn.exit().data)
                self._writer.close()
            except (OSError, ConnectionClosed):
                pass
            self._writer = None
        if self._pump is not None:
            self._pump.cancel()
