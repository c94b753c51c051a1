"""Short smoke of the fuzzing properties (the long run is ``make fuzz``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.esl import Parser
from daemon.esl.encoding import url_decode
from daemon.esl.replies import event_plain
from fuzz.esl_properties import check_frame, check_stream
from tests.transcripts import chunks, transcript_files

STREAMS = [b"".join(chunks(p, "fs>app")) for p in transcript_files()]


@pytest.mark.parametrize("piece", [1, 7, 4096])
def test_every_transcript_satisfies_the_properties(piece: int) -> None:
    for stream in STREAMS:
        check_stream(stream, piece)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(STREAMS), st.integers(0, 20000), st.binary(min_size=1, max_size=8), st.integers(1, 600))
def test_mutated_transcripts(stream: bytes, at: int, junk: bytes, piece: int) -> None:
    at %= len(stream)
    check_stream(stream[:at] + junk + stream[at + len(junk) :], piece)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.integers(1, 64), st.booleans())
def test_random_bytes(data: bytes, piece: int, commands: bool) -> None:
    check_stream(data, piece, commands=commands)


def test_an_encoded_newline_never_forges_a_header() -> None:
    wire = event_plain([("Event-Name", "CHANNEL_HANGUP"), ("Caller-Caller-ID-Name", "x\nHangup-Cause: FORGED")])
    check_stream(wire, 3)

    (frame,) = Parser().feed(wire)
    check_frame(frame)
    event = frame.event()
    assert event.get("Hangup-Cause") is None
    assert event.get("Caller-Caller-ID-Name") == "x\nHangup-Cause: FORGED"


def test_a_value_with_bytes_that_are_not_utf8_decodes_instead_of_crashing() -> None:
    raw = b"\xff%41".decode("utf-8", "surrogateescape")
    assert url_decode(raw) == b"\xffA".decode("utf-8", "surrogateescape")


def test_a_header_name_that_is_not_utf8_can_be_looked_up() -> None:
    """Found by the fuzz run: ``Event.get`` raised UnicodeEncodeError on a name read off the wire."""
    wire = b"Content-Type: command/reply\nJ\xf7b-UUID: 0a34\nReply-Text: +OK\n\n"
    (frame,) = Parser().feed(wire)
    name = frame.raw_headers[1][0]
    assert frame.get(name) == "0a34"
    check_stream(wire, 1)
    body = b"Event-Name: CUSTOM\nX-%ED%A0: y\nVariable_a: b%0AJ\xf7b: forged\n\n"
    event = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body
    check_stream(event, 5)
