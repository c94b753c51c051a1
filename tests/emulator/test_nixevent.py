"""``nixevent`` as mod_event_socket.c's ``parse_command`` does it, in the emulator and the lean generator.

No capture shows ``nixevent``; the source does: each known name clears its entry of the
listener's event list whoever set it (``myevents`` too), ``ALL`` clears them all, after
``event … ALL`` nixing one name keeps every other, unknown names are skipped (none known:
``-ERR no keywords supplied``), the reply is ``+OK events nixed``.
"""

from __future__ import annotations

import asyncio

from daemon.esl import Parser
from daemon.outbound.subscription import NIXED
from emulator import CallerScript, FakeFreeSwitch
from emulator.fast import LoadSwitch
from emulator.listener import KNOWN_EVENTS, MYEVENTS, nix
from tests.emulator.app import AppConn, AppServer

NIX = b"nixevent " + " ".join(NIXED).encode() + b"\n\n"


def test_nix_clears_entries_whoever_set_them() -> None:
    names = set(MYEVENTS)
    assert nix(["channel_state", "NOT_AN_EVENT", "DTMF"], names, all_events=False) == (False, 2)
    assert names == MYEVENTS - {"CHANNEL_STATE", "DTMF"}
    assert nix(["NOT_AN_EVENT"], names, all_events=False) == (False, 0)
    assert nix(["ALL"], names, all_events=False) == (False, 1) and names == set()


def test_nixing_one_name_after_all_keeps_every_other() -> None:
    names: set[str] = set()
    all_events, known = nix(["DTMF"], names, all_events=True)
    assert (all_events, known) == (False, 1)
    assert names == KNOWN_EVENTS - {"ALL", "DTMF"}


def test_words_after_custom_are_subclass_names() -> None:
    names = {"DTMF", "CUSTOM"}
    assert nix(["CUSTOM", "DTMF"], names, all_events=False) == (False, 1)
    assert names == {"DTMF", "CUSTOM"}  # 'DTMF' named a subclass; CUSTOM itself stays subscribed


async def test_the_emulator_stops_sending_what_was_nixed() -> None:
    answers: list[str] = []
    done = asyncio.Event()

    async def app(conn: AppConn) -> None:
        await conn.start(linger=b"")
        answers.append((await conn.command(NIX)).reply_text)
        answers.append((await conn.command(b"nixevent NO_SUCH_EVENT\n\n")).reply_text)
        await conn.command(b"linger 5\n\n")
        await conn.run("answer")
        await conn.run("playback", "tone_stream://%(100,0,440)")
        await conn.command(b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        await conn.drain()
        answers.extend(conn.names())
        done.set()

    async with AppServer(app) as server:
        result = await FakeFreeSwitch(port=server.port, linger_scale=0.01).place_call(CallerScript())
        await asyncio.wait_for(done.wait(), 5.0)
    assert server.errors == [] and result.errors == []
    assert answers[:2] == ["+OK events nixed", "-ERR no keywords supplied"]
    assert answers[2:] == [
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP_COMPLETE",
    ]
    assert {"CHANNEL_EXECUTE", "CHANNEL_ANSWER", "CHANNEL_STATE"} <= set(result.events_sent)  # fired, not sent


class NixingApp(asyncio.Protocol):
    """The daemon's set-up write against the lean generator, then its call; keeps the event names."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.parser = Parser()
        self.step = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self.transport = transport
        transport.write(b"connect\n\nmyevents\n\n" + NIX + b"linger 5\n\n")

    def data_received(self, data: bytes) -> None:
        for frame in self.parser.feed(data):
            if frame.content_type == "text/event-plain":
                name = frame.event().name
                self.names.append(name)
                if name == "CHANNEL_EXECUTE_COMPLETE" and self.step < 2:
                    self.transport.write(self._next())
            elif frame.reply_text == "+OK will linger 5 seconds":
                self.transport.write(self._next())

    def _next(self) -> bytes:
        self.step += 1
        if self.step == 1:
            return b"sendmsg\ncall-command: execute\nexecute-app-name: answer\nEvent-UUID: a1\n\n"
        app = b"execute-app-name: playback\nexecute-app-arg: tone_stream://%(20,0,440)\nEvent-UUID: p1\n"
        return b"sendmsg\ncall-command: execute\n" + app + b"\n" + b"sendmsg\ncall-command: hangup\n\n"


async def test_the_lean_generator_stops_sending_what_was_nixed() -> None:
    names: list[str] = []
    server = await asyncio.get_running_loop().create_server(lambda: NixingApp(names), "127.0.0.1", 0)
    async with server:
        tally = await LoadSwitch(port=server.sockets[0].getsockname()[1], linger_scale=0.02).place(1, 1)
    assert (tally.ok, tally.errors) == (1, [])
    assert names == [
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP_COMPLETE",
    ]
