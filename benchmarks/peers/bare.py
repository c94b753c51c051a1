"""The floor: an outbound-socket server in bare asyncio, no library, no database.

connect → myevents → linger → answer → playback → hangup, each waited for as
FreeSWITCH answers it (executes: their CHANNEL_EXECUTE_COMPLETE, matched by the
Event-UUID we sent), frames read by Content-Length.  Standard library only, so it
runs with any Python: ``python bare.py PORT PROMPT_PATH``.
"""

from __future__ import annotations

import asyncio
import sys
import uuid


class Call(asyncio.Protocol):
    def __init__(self, prompt: str) -> None:
        self.prompt = prompt
        self.buffer = b""
        self.want = 0  # body bytes the current frame still needs
        self.head = b""
        self.waiter: asyncio.Future[None] | None = None
        self.expect = b""  # what completes the current step (a reply, or an Application-UUID)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        asyncio.get_running_loop().create_task(self.run())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if not self.want:
                end = self.buffer.find(b"\n\n")
                if end < 0:
                    return
                self.head, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
                at = self.head.find(b"Content-Length: ")
                if at < 0:
                    self.frame(self.head, b"")
                    continue
                self.want = int(self.head[at + 16 :].split(b"\n", 1)[0])
            if len(self.buffer) < self.want:
                return
            body, self.buffer, self.want = self.buffer[: self.want], self.buffer[self.want :], 0
            self.frame(self.head, body)

    def frame(self, head: bytes, body: bytes) -> None:
        done = self.expect in body if self.expect.startswith(b"Application-UUID") else b"command/reply" in head
        if done and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("gone"))

    async def send(self, data: bytes, expect: bytes = b"reply") -> None:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.expect = expect
        self.transport.write(data)
        await self.waiter

    async def execute(self, app: str, arg: str = "") -> None:
        event = str(uuid.uuid4())
        msg = f"sendmsg\ncall-command: execute\nexecute-app-name: {app}\nevent-lock: true\nEvent-UUID: {event}\n"
        if arg:
            msg += f"execute-app-arg: {arg}\n"
        await self.send(msg.encode() + b"\n", b"Application-UUID: " + event.encode())

    async def run(self) -> None:
        try:
            await self.send(b"connect\n\n")
            await self.send(b"myevents\n\n")
            await self.send(b"linger\n\n")
            await self.execute("answer")
            await self.execute("playback", self.prompt)
            await self.send(b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        except ConnectionError:
            return
        assert self.transport is not None
        self.transport.close()


async def main(port: int, prompt: str) -> None:
    server = await asyncio.get_running_loop().create_server(lambda: Call(prompt), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
