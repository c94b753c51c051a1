"""The codec against every byte FreeSWITCH 1.10 really sent (../shared/freeswitch/transcripts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.esl import Event, Frame, Parser
from daemon.esl.replies import event_plain_payload
from tests.transcripts import chunks, load, transcript_files

FILES = transcript_files()
assert FILES, "transcripts not found: ../shared/freeswitch/transcripts must sit beside the checkout"


def parse(parts: list[bytes], *, commands: bool = False) -> tuple[list[Frame], Parser]:
    parser = Parser(commands=commands)
    frames: list[Frame] = []
    for part in parts:
        frames += parser.feed(part)
    return frames, parser


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_fs_stream_as_chunked_and_byte_by_byte(path: Path) -> None:
    parts = chunks(path, "fs>app")
    stream = b"".join(parts)
    as_chunked, parser = parse(parts)
    assert parser.buffered == 0
    one_byte, parser = parse([stream[i : i + 1] for i in range(len(stream))])
    assert parser.buffered == 0
    assert [f.to_bytes() for f in as_chunked] == [f.to_bytes() for f in one_byte]
    assert b"".join(f.to_bytes() for f in as_chunked) == stream


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_app_commands_round_trip(path: Path) -> None:
    parts = chunks(path, "app>fs")
    frames, parser = parse(parts, commands=True)
    assert parser.buffered == 0
    assert len(frames) == len(parts), "each app write is exactly one command"
    assert [f.to_bytes() for f in frames] == parts


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_event_headers_reencode_exactly(path: Path) -> None:
    """Decoding then re-encoding every event reproduces FreeSWITCH's url-encoding byte for byte."""
    frames, _ = parse(chunks(path, "fs>app"))
    events = [f for f in frames if f.content_type == "text/event-plain"]
    for frame in events:
        event = Event(frame.body)
        assert event_plain_payload(list(event.items()), event.body) == frame.body


def test_connect_reply_is_channel_data_with_decoded_values() -> None:
    frames, _ = parse(chunks("play_fs_hangup.jsonl", "fs>app"))
    reply = frames[0]
    assert reply.content_type == "command/reply"
    assert reply.reply_text == "+OK\n"  # Reply-Text: %2BOK%0A, decoded per value
    assert reply.get("Event-Name") == "CHANNEL_DATA"
    assert reply.get("Caller-Caller-ID-Number") == "09012345678"
    assert reply.get("Caller-Destination-Number") == "0312345678"
    assert reply.get("Channel-Name") == "sofia/external/09012345678@127.0.0.1:5070"
    assert reply.get("variable_socket_host") == "127.0.0.1"
    assert len(reply.raw_headers) > 100
    assert reply.body == b""


def test_hangup_complete_keeps_both_hangup_causes() -> None:
    frames, _ = parse(chunks("hangup_complete_vars.jsonl", "fs>app"))
    events = [f.event() for f in frames if f.content_type == "text/event-plain"]
    complete = next(e for e in events if e.name == "CHANNEL_HANGUP_COMPLETE")
    assert complete.get_all("Hangup-Cause") == ["NORMAL_CLEARING", "NORMAL_CLEARING"]
    assert complete["variable_billsec"].isdigit()
    assert int(complete["variable_answer_uepoch"]) > 1_700_000_000_000_000


def test_frame_split_across_reads_is_reassembled() -> None:
    """api_commands t=2.066140: the read ends after an event's header block; the body follows."""
    records = [r for r in load("api_commands.jsonl") if r.direction == "fs>app" and r.data]
    split = next(i for i, r in enumerate(records) if abs(r.t - 2.066140) < 1e-6)
    parser = Parser()
    for record in records[:split]:
        parser.feed(record.data)
    completed = parser.feed(records[split].data)
    assert [f.event().name for f in completed] == ["CHANNEL_UNPARK"]
    assert parser.buffered > 0, "the next event's header block waits for its body"
    completed = parser.feed(records[split + 1].data)
    assert completed and completed[0].content_type == "text/event-plain"


def test_background_job_nested_body() -> None:
    frames, _ = parse(chunks("api_commands.jsonl", "fs>app"))
    job = next(f.event() for f in frames if f.content_type == "text/event-plain" and b"BACKGROUND_JOB" in f.body)
    assert job.get("Job-Command") == "status"
    assert job.body.startswith(b"UP ")
    assert len(job.body) == 371
    assert "Content-Length" not in dict(job.items())


def test_event_json_frames() -> None:
    frames, _ = parse(chunks("events_json.jsonl", "fs>app"))
    events = [f.event() for f in frames if f.content_type == "text/event-json"]
    assert events[0].name in {"CHANNEL_PARK", "CHANNEL_EXECUTE"}
    assert events[-1].name == "CHANNEL_HANGUP_COMPLETE"
    assert all(e.unique_id for e in events)


def test_disconnect_notices() -> None:
    frames, _ = parse(chunks("play_fs_hangup.jsonl", "fs>app"))
    notices = [f for f in frames if f.content_type == "text/disconnect-notice"]
    assert [n.get("Content-Disposition") for n in notices] == ["linger", "disconnect"]
    assert notices[1].body.startswith(b"Disconnected, goodbye.")
