"""The lean load generator (emulator/fast.py) sends what FreeSWITCH sent, and counts what went wrong.

The app side of play_fs_hangup (connect, myevents, linger 5, answer, a 1 s tone, hang-up)
is replayed against it; every frame must be the captured one: same kinds in the same
order, same compared values, same header names in the same order, and the same size
give or take the per-call values (UUIDs and times keep their length; sequence numbers,
tags, ports and SSRC may not).
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

from benchmarks.peers.bare import Call as BareCall
from daemon.esl import Frame, Parser
from emulator import CallerScript, FakeFreeSwitch
from emulator.channel import compile_vars, instantiate
from emulator.fast import LoadSwitch, _Template
from emulator.templates import ACK_VARIABLES, INITIAL_VARIABLES, LOCAL_SDP, MEDIA_VARIABLES
from tests.emulator.replay import ReplayApp, comparable, fs_frames, parse_frames, steps
from tests.stand_in_prompts import write_prompts

#: Bytes an event may differ from the captured one by: the per-call values whose length varies
#: (Event-Sequence, session_id, call_id, tags, branch, ports, SSRC, RTP counters).
SLACK = 24


def event_sizes(frames: list[Frame]) -> list[tuple[str, int]]:
    """(event name, body length) of each event, CHANNEL_PARK (a race) left out."""
    out = []
    for frame in frames:
        if frame.content_type == "text/event-plain":
            name = frame.event().name
            if name != "CHANNEL_PARK":
                out.append((name, len(frame.body)))
        elif frame.content_type == "command/reply" and frame.get("Event-Name"):
            out.append(("CHANNEL_DATA", len(frame.to_bytes())))
    return out


async def replay_play_fs_hangup() -> tuple[list[Frame], int, list[str]]:
    app = ReplayApp(steps("play_fs_hangup.jsonl"))
    port = await app.start()
    try:
        tally = await LoadSwitch(port=port, linger_scale=0.02).place(1, 1)
        await asyncio.wait_for(app.done.wait(), 5.0)  # it has read up to our close
    finally:
        await app.stop()
    return app.received, tally.ok, tally.errors


async def test_a_generated_call_is_the_captured_call() -> None:
    received, ok, errors = await replay_play_fs_hangup()
    assert (ok, errors) == (1, [])
    theirs, their_linger = comparable(fs_frames("play_fs_hangup.jsonl"))
    ours, our_linger = comparable(received)
    assert [n.kind for n in ours] == [n.kind for n in theirs]
    for index, (a, b) in enumerate(zip(theirs, ours, strict=True)):
        assert b.values == a.values, f"frame {index}"
        assert b.order == a.order, f"frame {index} {a.kind}: header names or their order differ"
        assert b.names == a.names, f"frame {index} {a.kind}"
    assert our_linger > 0 and their_linger > 0, "the linger notice is sent, after CHANNEL_HANGUP"


async def test_a_generated_call_has_the_captured_sizes() -> None:
    received, _, _ = await replay_play_fs_hangup()
    theirs = event_sizes(fs_frames("play_fs_hangup.jsonl"))
    ours = event_sizes(received)
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    for (name, want), (_, got) in zip(theirs, ours, strict=True):
        assert abs(got - want) <= SLACK, f"{name}: {got} bytes, FreeSWITCH sent {want}"


async def test_many_calls_to_the_bare_server_all_succeed(tmp_path: Path) -> None:
    prompt = str(write_prompts(tmp_path, seconds=0.02) / "greeting.wav")
    server = await asyncio.get_running_loop().create_server(lambda: BareCall(prompt), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        tally = await LoadSwitch(port=port).place(60, 20)
        paced = await LoadSwitch(port=port, media_tick=0.0).place(10, 100, rate=200.0)
    assert (tally.placed, tally.ok, tally.errors) == (60, 60, [])
    assert len(tally.latencies) == 60 and all(0 <= s < 5 for s in tally.latencies)
    assert (paced.ok, paced.errors) == (10, [])
    assert paced.elapsed >= 9 / 200.0, "the rate held the calls back"


class Refuser(asyncio.Protocol):
    """An app that asks for an application the generator does not run."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self.transport = transport
        self.parser = Parser()
        transport.write(b"connect\n\n")

    def data_received(self, data: bytes) -> None:
        for frame in self.parser.feed(data):
            if frame.get("Event-Name") == "CHANNEL_DATA":
                self.transport.write(b"myevents\n\nsendmsg\ncall-command: execute\nexecute-app-name: bridge\n\n")


async def test_a_call_that_goes_wrong_is_counted_with_its_reason() -> None:
    server = await asyncio.get_running_loop().create_server(Refuser, "127.0.0.1", 0)
    async with server:
        tally = await LoadSwitch(port=server.sockets[0].getsockname()[1], call_limit=5.0).place(3, 3)
    assert tally.ok == 0
    assert len(tally.errors) == 3
    assert "not 'bridge'" in tally.errors[0]


def test_templates_render_the_lines_the_emulator_instantiates() -> None:
    fixed = {
        "caller": "09012345678",
        "caller_name": '山田 "Taro" 100%',
        "destination": "0312345678",
        "channel_name": "sofia/external/09012345678@127.0.0.1:5070",
        "diversion": "",
        "socket_data": "127.0.0.1:8084 async full",
        "socket_host": "127.0.0.1",
    }
    per_call = {
        "uuid": "0f0e0d0c-0b0a-4909-8807-060504030201",
        "session_id": "17",
        "call_id": "17-4242@127.0.0.1",
        "created_us": "1795582281266284",
        "from_tag": "12345SIPpTag007",
        "to_tag": "aB3;x y%",
        "branch": "4711",
        "full_from": '"山田" <sip:09012345678@127.0.0.1:5070>;tag=12345SIPpTag007',
        "rfc2822_date": "Mon, 07 Dec 2026 13:14:15 +0900",
        "media_port": "16384",
        "ssrc": "4294967295",
    }
    initial = [v for v in INITIAL_VARIABLES if v[0] != "sip_h_Diversion"]
    sdp = [("rtp_local_sdp_str", LOCAL_SDP.replace("{port}", "{media_port}"))]
    for template in (initial, MEDIA_VARIABLES, ACK_VARIABLES, sdp):
        assert _Template(template, fixed).render(per_call) == instantiate(compile_vars(template), fixed | per_call)


class HangupApp(BareCall):
    """greenswitch's and genesis's call: the hang-up is the ``hangup`` application; it keeps what it read."""

    def __init__(self, prompt: str, chunks: list[bytes]) -> None:
        super().__init__(prompt)
        self.chunks = chunks

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        super().data_received(data)

    async def run(self) -> None:
        try:
            for command in (b"connect\n\n", b"myevents\n\n", b"linger 5\n\n"):
                await self.send(command)
            await self.execute("answer")
            await self.execute("playback", self.prompt)
            await self.execute("hangup", "NORMAL_CLEARING")
        except ConnectionError:
            return


def _by_kind(frames: list[Any]) -> tuple[list[Any], list[Any]]:
    """The events, and the command replies, each in their order."""
    replies = [f for f in frames if f.kind[1:2] == ("reply",)]
    return [f for f in frames if f.kind[1:2] != ("reply",)], replies


async def test_the_hangup_application_ends_the_call_as_in_the_emulator(tmp_path: Path) -> None:
    prompt = str(write_prompts(tmp_path, seconds=0.02) / "greeting.wav")
    heard: dict[str, list[bytes]] = {"lean": [], "emulator": []}
    for name, chunks in heard.items():
        server = await asyncio.get_running_loop().create_server(
            functools.partial(HangupApp, prompt, chunks), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        async with server:
            if name == "lean":
                tally = await LoadSwitch(port=port).place(1, 1)
                assert (tally.ok, tally.errors) == (1, [])
            else:
                result = await FakeFreeSwitch(port=port, linger_scale=0.01).place_call(CallerScript())
                assert result.errors == []
    lean, _ = comparable(parse_frames(heard["lean"]))
    emulator, _ = comparable(parse_frames(heard["emulator"]))
    # The events in their order, and the replies in theirs: how the two interleave is timing
    # (bare's next command leaves at the CHANNEL_EXECUTE; whether the reply to it comes before
    # the application's later events depends on when each switch's loop writes them)
    for ours, theirs in zip(_by_kind(lean), _by_kind(emulator), strict=True):
        assert [n.kind for n in ours] == [n.kind for n in theirs]
        for mine, other in zip(ours, theirs, strict=True):
            assert (mine.values, mine.order) == (other.values, other.order), mine.kind
    assert ("text/event-plain", "event", "CHANNEL_EXECUTE_COMPLETE", "hangup") in [n.kind for n in lean]


async def test_a_call_the_server_never_takes_up_is_overdue() -> None:
    server = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
    async with server:
        tally = await LoadSwitch(port=server.sockets[0].getsockname()[1], call_limit=1.0).place(2, 2)
    assert (tally.ok, tally.errors) == (0, ["the call had not ended after 1.0 s"] * 2)
