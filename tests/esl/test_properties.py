"""Property tests: any fragmentation parses the same; encode/decode round-trips."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.esl import Event, Parser
from daemon.esl.encoding import url_decode, url_encode
from daemon.esl.replies import (
    api_response,
    command_reply,
    encoded_block,
    event_json,
    event_plain,
    event_plain_payload,
)
from tests.transcripts import chunks

STREAM = b"".join(chunks("bridge_answered_caller_hangup.jsonl", "fs>app"))
REFERENCE = [f.to_bytes() for f in Parser().feed(STREAM)]

names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,30}", fullmatch=True).filter(lambda n: n != "Content-Length")
values = st.text(max_size=60)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=40, unique=True))
def test_any_split_of_a_real_stream_yields_the_same_frames(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(STREAM)]
    parser = Parser()
    frames = []
    for a, b in itertools.pairwise(bounds):
        frames += parser.feed(STREAM[a:b])
    assert [f.to_bytes() for f in frames] == REFERENCE
    assert parser.buffered == 0


@given(values)
def test_url_encode_round_trip(value: str) -> None:
    encoded = url_encode(value)
    assert "\n" not in encoded and "\r" not in encoded and " " not in encoded
    assert url_decode(encoded) == value


@settings(deadline=None)
@given(st.lists(st.tuples(names, values), min_size=1, max_size=12), st.binary(max_size=200))
def test_event_plain_round_trip(headers: list[tuple[str, str]], body: bytes) -> None:
    wire = event_plain(headers, body)
    (frame,) = Parser().feed(wire)
    assert frame.to_bytes() == wire
    event = frame.event()
    assert list(event.items()) == headers
    assert event.body == body
    assert event_plain_payload(list(event.items()), event.body) == frame.body
    for name, value in headers:
        assert event.get(name) == next(v for n, v in headers if n == name)
        assert value in event.get_all(name)


@settings(deadline=None)
@given(st.lists(st.tuples(names, values), min_size=1, max_size=12))
def test_event_json_round_trip(headers: list[tuple[str, str]]) -> None:
    (frame,) = Parser().feed(event_json(headers))
    assert dict(frame.event().items()) == dict(headers)


@given(st.text(max_size=100).filter(lambda t: "\n" not in t and "\r" not in t and "\x00" not in t))
def test_replies_round_trip(text: str) -> None:
    parser = Parser()
    reply, response = parser.feed(command_reply("+OK " + text) + api_response(text))
    assert reply.reply_text == "+OK " + text
    assert response.body_text == text


kept = st.sampled_from(["Content-Type", "Reply-Text", "Event-Name", "content-type", "Other"])


@settings(deadline=None)
@given(st.lists(st.tuples(kept, values), min_size=1, max_size=6))
def test_kept_values_are_the_first_of_their_headers(headers: list[tuple[str, str]]) -> None:
    """Content type, reply text and event name, each read twice: the first value of a
    repeated header, None or "" when it is absent, the name matched exactly."""

    def first(name: str) -> str | None:
        return next((v for n, v in headers if n == name), None)

    (frame,) = Parser().feed(encoded_block(headers))
    (plain,) = Parser().feed(event_plain(headers))
    (as_json,) = Parser().feed(event_json(headers))
    event, json_event = plain.event(), as_json.event()
    for _ in range(2):
        assert frame.content_type == first("Content-Type")
        assert frame.reply_text == (first("Reply-Text") or "")
        assert frame.ok is (first("Reply-Text") or "").startswith("+OK")
        assert plain.content_type == "text/event-plain"
        assert event.name == (first("Event-Name") or "")
        assert json_event.name == (dict(headers).get("Event-Name") or "")  # JSON: the last one wins


@given(st.binary(max_size=300))
def test_random_bytes_never_crash(data: bytes) -> None:
    parser = Parser(max_header_bytes=1024, max_body_bytes=1024)
    try:
        for i in range(0, len(data), 7):
            for frame in parser.feed(data[i : i + 7]):
                frame.headers()
                if frame.content_type == "text/event-plain" and b"\n\n" in frame.body:
                    list(Event(frame.body).items())
    except Exception as exc:
        from daemon.esl import ProtocolError

        assert isinstance(exc, ProtocolError)
