"""The set-up path's shortcuts (issue 22) against what they replace, on real FreeSWITCH bytes.

A long header block (CHANNEL_DATA) is looked up in its bytes and split only on demand;
an event finds its header block's end and nested Content-Length in one scan.  Each
shortcut must give what splitting every line gives, and refuse what it refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.esl import Event, Frame, Parser, ProtocolError
from daemon.esl import parser as parser_module
from daemon.esl.encoding import url_decode
from daemon.esl.frame import every_line_named, one_colon_a_line, split_header_lines
from daemon.esl.parser import KNOWN_BLOCKS, LAZY_BLOCK_BYTES
from daemon.outbound.channel import ChannelInfo
from tests.transcripts import chunks, transcript_files

FILES = transcript_files()


def frames_of(path: Path | str) -> list[Frame]:
    parser = Parser()
    return [frame for part in chunks(path, "fs>app") for frame in parser.feed(part)]


def first_values(headers: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers:
        found.setdefault(name, url_decode(value))
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_header_of_a_long_block_is_found_without_splitting(path: Path) -> None:
    long_blocks = [f for f in frames_of(path) if f.content_type == "command/reply" and f.get("Event-Name")]
    for frame in long_blocks:
        block = frame.to_bytes()[:-2]  # the header block as on the wire, no blank line
        assert len(block) >= LAZY_BLOCK_BYTES
        lazy = Frame.from_block(block)
        expected = first_values(split_header_lines(block))
        assert {name: lazy.get(name) for name in expected} == expected  # looked up before any split
        assert lazy.get("Not-A-Header") is None and lazy.get("Unique-ID: x") is None
        assert lazy.raw_headers == split_header_lines(block)
        assert ChannelInfo.from_connect_reply(lazy) == ChannelInfo.from_connect_reply(Frame(split_header_lines(block)))


def test_the_connect_reply_is_not_split_to_read_the_channel() -> None:
    reply = frames_of("play_fs_hangup.jsonl")[0]
    channel = ChannelInfo.from_connect_reply(reply)
    assert channel.destination_number == "0312345678"
    assert channel.caller_id_number == "09012345678"
    assert reply._headers is None  # the 150 lines were never split
    assert len(reply.raw_headers) > 100


@pytest.mark.parametrize("spoiled", [b"no separator here", b": no name", b":", b"Only-Name:"])
def test_a_long_block_with_one_bad_line_is_split_at_once(spoiled: bytes) -> None:
    lines = [b"Header-%d: %s" % (i, b"v" * 40) for i in range(40)]
    lines[20] = spoiled
    block = b"\n".join([b"Content-Type: command/reply", *lines])
    assert len(block) >= LAZY_BLOCK_BYTES
    stream = block + b"\n\n"
    if spoiled == b"Only-Name:":  # the one other spelling the splitter takes: an empty value
        (frame,) = Parser().feed(stream)
        assert frame.get("Only-Name") == "" and frame.to_bytes() == block.replace(b"Name:", b"Name: ") + b"\n\n"
        return
    with pytest.raises(ProtocolError):
        Parser().feed(stream)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_events_read_as_splitting_every_line_reads_them(path: Path) -> None:
    for frame in frames_of(path):
        if frame.content_type != "text/event-plain":
            continue
        event = frame.event()
        end = frame.body.index(b"\n\n")
        expected = first_values(split_header_lines(frame.body[:end]))
        length = expected.pop("Content-Length", None)
        assert event.body == (frame.body[end + 2 : end + 2 + int(length)] if length else b"")
        assert {name: event.get(name) for name in expected} == expected
        assert event.name == expected["Event-Name"]


@pytest.mark.parametrize(
    ("payload", "body"),
    [
        (b"Content-Length: 3\n\nabc", b"abc"),  # the nested length on the first line
        (b"Event-Name: X\nContent-Length: 2\n\nhi\nContent-Length: 9", b"hi"),
        (b"Event-Name: X\n\nContent-Length: 2\n\nhi", b""),  # after the blank line: body text
        (b"Event-Name: X\nContent-Length: 0\n\n", b""),
    ],
)
def test_nested_content_length_is_the_header_blocks_own(payload: bytes, body: bytes) -> None:
    assert Event(payload).body == body


@pytest.mark.parametrize("payload", [b"Event-Name: X\nContent-Length: 2x\n\nhi", b"Event-Name: X\nContent-Length: 5\n"])
def test_bad_or_unended_nested_block_is_refused(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        Event(payload)


def named_line_by_line(block: bytes) -> bool:
    """The definition: each line holds ``": "``, and not at its start."""
    return all(line.find(b": ") > 0 for line in block.split(b"\n"))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet="ab: \n%", max_size=12).map(str.encode), min_size=1, max_size=12))
def test_every_line_named_is_decided_as_line_by_line(parts: list[bytes]) -> None:
    named = b"\n".join(b"H-%d: v" % i + part for i, part in enumerate(parts))
    for block in (b"".join(parts), b"\n".join(parts), named):
        assert every_line_named(block) == named_line_by_line(block)
        assert not one_colon_a_line(block) or named_line_by_line(block)  # the shortcut never says yes wrongly


@pytest.mark.parametrize(
    "block",
    [b"A: 1\nB: 2", b"A: 1\nB: 2: 3\nC", b"A: 1\n: 2", b": 1\nA: 2", b"A: 1\nB:2", b"A:: 1", b"A: 1\nB : 2 :x", b""],
)
def test_the_outline_shortcut_gives_the_line_by_line_answer(block: bytes) -> None:
    assert every_line_named(block) == named_line_by_line(block)
    long_block = b"\n".join([b"Header-%d: v" % i for i in range(5000)])  # past the outline's 4,096 lines
    assert every_line_named(long_block) and not every_line_named(long_block + b"\nbad")


def test_freeswitch_blocks_take_the_outline_shortcut() -> None:
    blocks = [
        f.to_bytes()[:-2]
        for path in FILES
        for f in frames_of(path)
        if f.content_type == "command/reply" and f.get("Event-Name")
    ]
    assert len(blocks) > 20
    assert [block[:60] for block in blocks if not one_colon_a_line(block)] == []


def test_a_remembered_short_block_reads_as_a_fresh_one() -> None:
    reply = b"Content-Type: command/reply\nReply-Text: %2BOK%20done\n\n"
    payload = b"Event-Name: HEARTBEAT\n\n"
    envelope = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(payload)
    stream = reply + envelope + payload
    parser_module._known.clear()
    first, second = Parser().feed(stream), Parser().feed(stream)  # the second from what the first remembered
    assert stream[: len(reply) - 2] in parser_module._known
    assert len(first) == len(second) == 2
    for fresh, known in zip(first, second, strict=True):
        assert fresh is not known and fresh.raw_headers is not known.raw_headers
        assert (known.content_type, known.raw_headers) == (fresh.content_type, fresh.raw_headers)
        assert known.body == fresh.body
        assert known.to_bytes() == fresh.to_bytes()
    assert second[0].reply_text == "+OK done" and second[1].event().name == "HEARTBEAT"


def test_a_remembered_block_still_meets_each_parsers_own_limit() -> None:
    frame = b"Content-Type: api/response\nContent-Length: 4096\n\n" + b"x" * 4096
    assert Parser().feed(frame)[0].body == b"x" * 4096
    with pytest.raises(ProtocolError, match="exceeds"):
        Parser(max_body_bytes=1024).feed(frame)


def test_the_command_side_does_not_take_a_remembered_block() -> None:
    Parser().feed(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
    (command,) = Parser(commands=True).feed(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
    assert command.line == "Content-Type: command/reply" and command.raw_headers == [("Reply-Text", "+OK")]


def test_what_is_remembered_is_bounded() -> None:
    parser = Parser()
    for number in range(3 * KNOWN_BLOCKS):
        parser.feed(b"Content-Type: command/reply\nReply-Text: +OK %d\n\n" % number)
        assert len(parser_module._known) <= KNOWN_BLOCKS
