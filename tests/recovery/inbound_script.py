"""A scripted FreeSWITCH inbound event socket: exact control over what arrives when.

The emulator's inbound socket behaves like FreeSWITCH in time; races need a
socket that puts an event exactly where a test wants it.  ``hang_up_on_exists``
answers ``uuid_exists <leg>`` with ``true`` and, in the same write, the leg's
CHANNEL_HANGUP_COMPLETE (a hangup that lands just after FreeSWITCH said the
call lives).  ``api`` commands are recorded in ``commands``; they answer ``+OK``, or the
body ``api_bodies`` gives for the command's name (a refusal, say).
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from daemon.esl import replies


def hangup_complete(leg: str, end_us: int, answer_us: int = 0, cause: str = "NORMAL_CLEARING") -> bytes:
    return replies.event_plain(
        [
            ("Event-Name", "CHANNEL_HANGUP_COMPLETE"),
            ("Unique-ID", leg),
            ("Hangup-Cause", cause),
            ("variable_answer_uepoch", str(answer_us)),
            ("variable_end_uepoch", str(end_us)),
        ]
    )


class ScriptedInbound:
    def __init__(self, hang_up_on_exists: dict[str, bytes], api_bodies: dict[str, str] | None = None) -> None:
        self.hang_up_on_exists = hang_up_on_exists  # leg → the event frames sent right after ``true``
        self.api_bodies = api_bodies or {}  # api command name → its reply body
        self.commands: list[str] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedInbound:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(replies.auth_request())
        try:
            while True:
                block = await reader.readuntil(b"\n\n")
                line = block.decode().strip()
                self.commands.append(line)
                if line.startswith("auth "):
                    writer.write(replies.command_reply("+OK accepted"))
                elif line.startswith("event "):
                    writer.write(replies.command_reply("+OK event listener enabled plain"))
                elif line.startswith("api uuid_exists "):
                    leg = line.split()[2]
                    after = self.hang_up_on_exists.pop(leg, None)
                    writer.write(replies.api_response("true" if after is not None else "false") + (after or b""))
                elif line.startswith("api "):
                    writer.write(replies.api_response(self.api_bodies.get(line.split()[1], "+OK\n")))
                elif line.startswith("exit"):
                    writer.write(replies.command_reply("+OK bye") + replies.disconnect_inbound())
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
