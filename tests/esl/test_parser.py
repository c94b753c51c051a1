"""Malformed and hostile input: a clear ProtocolError, never a hang or a crash."""

from __future__ import annotations

import pytest

from daemon.esl import Event, Parser, ProtocolError, UnsafeValueError, commands, replies
from daemon.esl.encoding import url_decode, url_encode


def test_huge_content_length_is_refused_before_buffering() -> None:
    parser = Parser(max_body_bytes=1024)
    with pytest.raises(ProtocolError, match="exceeds"):
        parser.feed(b"Content-Type: api/response\nContent-Length: 99999999999\n\n")


@pytest.mark.parametrize("value", [b"-1", b"12abc", b"", b"1e9", b"0x10"])
def test_bad_content_length(value: bytes) -> None:
    with pytest.raises(ProtocolError, match="Content-Length"):
        Parser().feed(b"Content-Type: api/response\nContent-Length: " + value + b"\n\n")


def test_garbage_line_without_separator() -> None:
    with pytest.raises(ProtocolError, match="separator"):
        Parser().feed(b"\x00\xff garbage garbage\n\n")


def test_endless_header_block_is_bounded() -> None:
    parser = Parser(max_header_bytes=4096)
    with pytest.raises(ProtocolError, match="longer than"):
        for _ in range(100):
            parser.feed(b"X-Filler: " + b"a" * 100 + b"\n")


def test_parser_stays_failed_after_an_error() -> None:
    parser = Parser()
    with pytest.raises(ProtocolError):
        parser.feed(b"nonsense\n\n")
    with pytest.raises(ProtocolError, match="already failed"):
        parser.feed(b"Content-Type: command/reply\nReply-Text: +OK\n\n")


def test_encoded_newline_in_caller_id_stays_inside_the_value() -> None:
    """`%0A` in a caller ID decodes to a newline inside one value; it never splits the frame."""
    payload = replies.event_plain_payload(
        [("Event-Name", "CHANNEL_DATA"), ("Caller-Caller-ID-Number", "0901\napi uuid_kill all")]
    )
    assert b"%0Aapi%20uuid_kill%20all" in payload
    event = Event(payload)
    assert event["Caller-Caller-ID-Number"] == "0901\napi uuid_kill all"
    with pytest.raises(UnsafeValueError):
        commands.execute("set", f"caller={event['Caller-Caller-ID-Number']}", "e1")


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b"])
def test_serializers_refuse_cr_lf_nul(bad: str) -> None:
    with pytest.raises(UnsafeValueError):
        commands.api(f"uuid_kill {bad}")
    with pytest.raises(UnsafeValueError):
        commands.hangup(bad)
    with pytest.raises(UnsafeValueError):
        commands.execute("playback", bad, "uuid")
    with pytest.raises(UnsafeValueError):
        replies.command_reply(bad)


def test_execute_bytes_match_the_transcript_layout() -> None:
    wire = commands.execute("answer", None, "cbf1d8af-02ba-4e54-a381-b8ec15ea0932")
    assert wire == (
        b"sendmsg\ncall-command: execute\nexecute-app-name: answer\nevent-lock: true\n"
        b"Event-UUID: cbf1d8af-02ba-4e54-a381-b8ec15ea0932\n\n"
    )
    assert commands.hangup() == b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n"
    assert commands.linger(5) == b"linger 5\n\n"


def test_url_encoding_matches_freeswitch() -> None:
    assert url_encode("Wed, 25 Nov 2026 04:51:21 +0000") == "Wed,%2025%20Nov%202026%2004%3A51%3A21%20%2B0000"
    assert url_encode("fd00::2") == "fd00%3A%3A2"
    assert url_encode("タロウ") == "%E3%82%BF%E3%83%AD%E3%82%A6"
    assert url_decode("%E3%82%BF%E3%83%AD%E3%82%A6") == "タロウ"
    assert url_decode("+OK") == "+OK"  # no plus-as-space


def test_command_side_parser_reads_lines_and_bodies() -> None:
    parser = Parser(commands=True)
    frames = parser.feed(commands.command("sendmsg", [("call-command", "execute")], b"hello"))
    assert len(frames) == 1
    assert frames[0].line == "sendmsg"
    assert frames[0].get("call-command") == "execute"
    assert frames[0].body == b"hello"
