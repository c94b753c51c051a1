"""The sans-IO connection, with no event loop: real FreeSWITCH transcripts in, typed events out.

Each transcript is replayed as the recorded app played it: its commands are made
again with the connection's own methods (and must come out byte for byte as the
app wrote them), FreeSWITCH's bytes go in as FreeSWITCH chunked them, or one byte
at a time.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from daemon.esl import ConnectionClosed, Event, Frame, Parser, ProtocolError, UnsafeValueError, replies
from daemon.esl.connection import (
    ApiResponse,
    AuthRequest,
    ChannelData,
    ChannelEvent,
    CommandReply,
    Connection,
    ConnectionEvent,
    Disconnect,
    DisconnectNotice,
    ExecuteComplete,
    Hangup,
    HangupComplete,
    Kind,
    Request,
    Role,
)
from tests.transcripts import Record, load, transcript_files

FILES = transcript_files()
OUTBOUND = [p for p in FILES if ".inbound" not in p.name and p.name != "inbound_show_channels.jsonl"]
INBOUND = [p for p in FILES if p not in OUTBOUND]

Feed = Callable[[Connection, bytes], list[ConnectionEvent]]


def as_chunked(conn: Connection, data: bytes) -> list[ConnectionEvent]:
    return conn.receive_data(data)


def byte_by_byte(conn: Connection, data: bytes) -> list[ConnectionEvent]:
    if not data:
        return conn.receive_data(b"")
    return [e for i in range(len(data)) for e in conn.receive_data(data[i : i + 1])]


def typed_request(conn: Connection, data: bytes) -> Request:
    """Make the recorded command again with the connection's own method."""
    (frame,) = Parser(commands=True).feed(data)
    line = frame.line or ""
    word, _, rest = line.partition(" ")
    if line == "connect":
        return conn.connect()
    if word == "myevents":
        return conn.myevents(rest or "plain")
    if word == "linger":
        return conn.linger(int(rest) if rest else None)
    if word == "api":
        return conn.api(rest)
    if word == "bgapi":
        return conn.bgapi(rest)
    if word == "event":
        fmt, *names = rest.split()
        return conn.event(fmt, names)
    if word == "auth":
        return conn.auth(rest)
    if word == "filter":
        header, _, value = rest.partition(" ")
        return conn.filter(header, value)
    if line == "exit":
        return conn.exit()
    if line == "sendmsg" and frame.get("call-command") == "execute":
        return conn.execute(
            frame.get("execute-app-name") or "",
            frame.get("execute-app-arg"),
            lock=frame.get("event-lock") == "true",
            event_uuid=frame.get("Event-UUID"),
            loops=int(loops) if (loops := frame.get("loops")) else None,
        )
    if line == "sendmsg" and frame.get("call-command") == "hangup":
        return conn.hangup(frame.get("hangup-cause") or "NORMAL_CLEARING")
    raise AssertionError(f"no method for {line!r}")


def replay(
    records: list[Record], role: Role, feed: Feed = as_chunked, typed: bool = True
) -> tuple[list[Request], list[ConnectionEvent]]:
    conn = Connection(role)
    requests: list[Request] = []
    events: list[ConnectionEvent] = []
    for record in records:
        if record.direction == "app>fs":
            if not record.data:  # the app closed its socket
                lost = conn.connection_lost()
                assert lost is not None
                events.append(lost)
                continue
            request = typed_request(conn, record.data) if typed else conn.send_raw(record.data)
            assert request.data == record.data, "a typed command must write the very bytes the app wrote"
            requests.append(request)
        else:
            events += feed(conn, record.data)
    assert conn.closed, "every transcript ends with a close"
    assert conn.awaiting_replies == 0 and conn.executing == 0
    return requests, events


def describe(item: ConnectionEvent) -> str:
    """One word per event, for comparing sequences."""
    if isinstance(item, ExecuteComplete):
        return f"complete:{item.event['Application']}"
    if isinstance(item, HangupComplete):
        return "HANGUP_COMPLETE" + (f"!{len(item.abandoned)}" if item.abandoned else "")
    if isinstance(item, Hangup):
        return "HANGUP"
    if isinstance(item, ChannelEvent):
        return item.event.name.lower()
    if isinstance(item, CommandReply):
        return f"reply:{item.request.kind.value}:{item.reply_text.strip()}"
    if isinstance(item, ChannelData):
        return "channel_data"
    if isinstance(item, ApiResponse):
        return f"api:{item.request.line.split()[1]}"
    if isinstance(item, DisconnectNotice):
        return f"notice:{item.disposition}"
    if isinstance(item, AuthRequest):
        return "auth_request"
    return f"disconnect:{len(item.unanswered)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_transcript_as_chunked_and_byte_by_byte(path: Path) -> None:
    role = Role.OUTBOUND if path in OUTBOUND else Role.INBOUND
    records = load(path)
    requests, events = replay(records, role)
    _, one_byte = replay(records, role, byte_by_byte)
    assert [describe(e) for e in one_byte] == [describe(e) for e in events]
    _, raw = replay(records, role, typed=False)
    assert [describe(e) for e in raw] == [describe(e) for e in events]

    # every command got exactly one reply, in the order written
    answered = [e.request for e in events if isinstance(e, (CommandReply, ChannelData, ApiResponse))]
    unanswered = [r for e in events if isinstance(e, Disconnect) for r in e.unanswered]
    assert [r for r in requests if r not in unanswered or r in answered] == answered
    # every execute completed once, or was given up by HANGUP_COMPLETE or the close
    executes = [r for r in requests if r.kind is Kind.EXECUTE]
    completed = [e.request for e in events if isinstance(e, ExecuteComplete)]
    abandoned = [r for e in events if isinstance(e, HangupComplete) for r in e.abandoned]
    assert sorted(map(id, completed + abandoned + [r for r in unanswered if r.kind is Kind.EXECUTE])) == sorted(
        map(id, executes)
    )
    for item in events:
        if isinstance(item, ExecuteComplete):
            assert item.event["Application-UUID"] == item.request.event_uuid
    # the frames the events carry are FreeSWITCH's stream, byte for byte
    stream = b"".join(r.data for r in records if r.direction == "fs>app")
    assert b"".join(e.frame.to_bytes() for e in events if not isinstance(e, Disconnect)) == stream


@pytest.mark.parametrize("path", OUTBOUND, ids=lambda p: p.stem)
def test_each_header_is_looked_up_once_per_frame(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dispatching a frame and then reading what every consumer reads (the reply's
    success and text, the event's name) scans each frame for each header once."""
    lookups: Counter[tuple[int, str]] = Counter()
    looked_at: list[Frame | Event] = []  # kept alive, so that no id is reused
    frame_get, event_get = Frame.get, Event.get

    def counted_frame_get(self: Frame, name: str, default: str | None = None) -> str | None:
        if self.line is None:  # not one of the test's own parsed commands
            looked_at.append(self)
            lookups[id(self), name] += 1
        return frame_get(self, name, default)

    def counted_event_get(self: Event, name: str, default: str | None = None) -> str | None:
        looked_at.append(self)
        lookups[id(self), name] += 1
        return event_get(self, name, default)

    monkeypatch.setattr(Frame, "get", counted_frame_get)
    monkeypatch.setattr(Event, "get", counted_event_get)
    _, events = replay(load(path), Role.OUTBOUND)
    for _ in range(2):  # the session, then a flow
        for item in events:
            if isinstance(item, (CommandReply, ChannelData)):
                assert item.ok is item.frame.reply_text.startswith("+OK")
            if isinstance(item, ChannelEvent):
                assert item.event.name and item.frame.content_type
    assert lookups and max(lookups.values()) == 1, [k for k, n in lookups.items() if n > 1]


def test_play_caller_hangup_hangup_before_the_playback_completes() -> None:
    requests, events = replay(load("play_caller_hangup.jsonl"), Role.OUTBOUND)
    assert [describe(e) for e in events] == [
        "channel_data",
        "reply:command:+OK Events Enabled",
        "reply:command:+OK will linger 5 seconds",
        "reply:execute:+OK",
        "channel_execute",
        "channel_progress_media",
        "channel_answer",
        "complete:answer",
        "reply:execute:+OK",
        "channel_execute",
        "HANGUP",
        "complete:playback",
        "channel_unpark",
        "channel_execute_complete",  # the socket app's own: not ours, a plain event
        "channel_state",
        "channel_state",
        "HANGUP_COMPLETE",
        "notice:linger",
        "reply:command:+OK",  # sendmsg hangup after the hangup still answers +OK
        "notice:disconnect",
        "disconnect:0",
    ]
    playback = next(e for e in events if isinstance(e, ExecuteComplete) and e.request is requests[4])
    assert playback.response == "PLAYBACK ERROR"
    hangup = next(e for e in events if isinstance(e, Hangup))
    assert events.index(hangup) < events.index(playback)


def test_disconnect_notice_before_hangup_complete() -> None:
    """hangup_complete_vars: uuid_kill-like end during a bridge; the linger notice overtakes HANGUP_COMPLETE."""
    _, events = replay(load("hangup_complete_vars.jsonl"), Role.OUTBOUND)
    names = [describe(e) for e in events]
    assert names.index("notice:linger") < names.index("HANGUP_COMPLETE") < names.index("notice:disconnect")
    assert names[names.index("HANGUP") : names.index("HANGUP") + 4] == [
        "HANGUP",
        "notice:linger",
        "channel_unbridge",
        "complete:bridge",
    ]
    complete = next(e for e in events if isinstance(e, HangupComplete))
    assert complete.event.get_all("Hangup-Cause") == ["NORMAL_CLEARING", "NORMAL_CLEARING"]  # repeated header
    assert complete.abandoned == ()


def test_api_replies_in_order_interleaved_with_events() -> None:
    requests, events = replay(load("api_commands.jsonl"), Role.OUTBOUND)
    apis = [e for e in events if isinstance(e, ApiResponse)]
    assert [a.request.line for a in apis] == [r.line for r in requests if r.kind is Kind.API]
    assert [a.text for a in apis[:3]] == ["true", "+OK\n", "+OK Deleted: 1\n"]
    assert apis[6].text == "-ERR nosuchcommand Command not found!\n"
    bgapi = next(e for e in events if isinstance(e, CommandReply) and e.request.line == "bgapi status")
    job = next(e for e in events if isinstance(e, ChannelEvent) and e.event.name == "BACKGROUND_JOB")
    assert bgapi.reply_text == f"+OK Job-UUID: {job.event['Job-UUID']}"
    assert events.index(bgapi) < events.index(job)
    # the two sched/uuid broadcasts play as applications the app never executed: plain events
    assert [describe(e) for e in events].count("channel_execute_complete") == 3
    kill = apis[-1]
    assert kill.request.line.startswith("api uuid_kill") and kill.text == "+OK\n"
    assert isinstance(events[events.index(kill) + 1], Hangup)


def test_channel_data_is_the_connect_reply() -> None:
    _, events = replay(load("diversion.jsonl"), Role.OUTBOUND)
    data = events[0]
    assert isinstance(data, ChannelData) and data.ok
    assert data.frame.get("Event-Name") == "CHANNEL_DATA"
    assert data.frame.get("variable_sip_h_Diversion") is not None


def test_app_crash_in_bridge_leaves_the_bridge_unanswered() -> None:
    requests, events = replay(load("backstop_crash_in_bridge.jsonl"), Role.OUTBOUND)
    last = events[-1]
    assert isinstance(last, Disconnect)
    bridge = next(r for r in requests if r.line == "execute bridge")
    assert last.unanswered == (bridge,)


def test_inbound_auth_events_of_any_channel_and_exit() -> None:
    _, events = replay(load("inbound_show_channels.jsonl"), Role.INBOUND)
    assert [describe(e) for e in events] == [
        "auth_request",
        "reply:command:+OK accepted",
        "api:show",
        "api:show",
        "reply:command:+OK event listener enabled plain",
        "channel_hangup_complete",  # inbound: every channel's events, no hangup tracking
        "channel_hangup_complete",
        "reply:command:+OK bye",
        "notice:",
        "disconnect:0",
    ]
    uuids = {e.event.unique_id for e in events if isinstance(e, ChannelEvent)}
    assert len(uuids) == 2


# -- hand-made streams: ordering and errors --------------------------------------------


def event(name: str, **headers: str) -> bytes:
    return replies.event_plain([("Event-Name", name), *[(k.replace("_", "-"), v) for k, v in headers.items()]])


def connected() -> tuple[Connection, list[Request]]:
    conn = Connection()
    setup = [conn.connect(), conn.myevents(), conn.linger(5)]
    data = replies.encoded_block(
        [
            ("Event-Name", "CHANNEL_DATA"),
            ("Unique-ID", "u1"),
            ("Content-Type", "command/reply"),
            ("Reply-Text", "+OK\n"),
        ]
    )
    conn.receive_data(data + replies.command_reply("+OK Events Enabled") + replies.command_reply("+OK"))
    return conn, setup


def test_completions_are_matched_by_uuid_in_any_order() -> None:
    conn, _ = connected()
    first = conn.execute("playback", "a.wav", event_uuid="e1")
    second = conn.execute("set", "x=1", lock=False, event_uuid="e2")
    out = conn.receive_data(
        replies.command_reply("+OK")
        + event("CHANNEL_EXECUTE_COMPLETE", Application_UUID="e2")
        + event("CHANNEL_EXECUTE_COMPLETE", Application_UUID="someone-else")
        + replies.command_reply("+OK")
        + event("CHANNEL_EXECUTE_COMPLETE", Application_UUID="e1")
    )
    assert [type(e).__name__ for e in out] == [
        "CommandReply",
        "ExecuteComplete",
        "ChannelEvent",
        "CommandReply",
        "ExecuteComplete",
    ]
    assert [e.request for e in out if isinstance(e, (CommandReply, ExecuteComplete))] == [first, second, second, first]
    assert conn.executing == 0


def test_completion_before_its_reply_is_still_matched() -> None:
    conn, _ = connected()
    request = conn.execute("answer")
    assert request.event_uuid is not None
    out = conn.receive_data(event("CHANNEL_EXECUTE_COMPLETE", Application_UUID=request.event_uuid))
    assert isinstance(out[0], ExecuteComplete) and out[0].request is request
    (reply,) = conn.receive_data(replies.command_reply("+OK"))
    assert isinstance(reply, CommandReply) and reply.request is request


def test_refused_execute_never_completes() -> None:
    conn, _ = connected()
    conn.execute("answer", event_uuid="e1")
    (reply,) = conn.receive_data(replies.command_reply("-ERR invalid session"))
    assert isinstance(reply, CommandReply) and not reply.ok
    assert conn.executing == 0
    (late,) = conn.receive_data(event("CHANNEL_EXECUTE_COMPLETE", Application_UUID="e1"))
    assert type(late) is ChannelEvent


def test_hangup_complete_gives_up_queued_executes_and_disconnect_the_rest() -> None:
    conn, _ = connected()
    running = conn.execute("playback", "a.wav")
    queued = conn.execute("playback", "b.wav")
    out = conn.receive_data(
        replies.command_reply("+OK")
        + event("CHANNEL_HANGUP", Hangup_Cause="NORMAL_CLEARING")
        + event("CHANNEL_HANGUP")  # a second one is a plain event
        + event("CHANNEL_EXECUTE_COMPLETE", Application_UUID=running.event_uuid or "")
        + event("CHANNEL_HANGUP_COMPLETE")
    )
    assert [type(e).__name__ for e in out] == [
        "CommandReply",
        "Hangup",
        "ChannelEvent",
        "ExecuteComplete",
        "HangupComplete",
    ]
    assert conn.hung_up and conn.hangup_event is not None and conn.hangup_event.name == "CHANNEL_HANGUP"
    complete = out[-1]
    assert isinstance(complete, HangupComplete) and complete.abandoned == (queued,)
    hangup = conn.hangup()
    (lost,) = conn.receive_data(b"")
    assert isinstance(lost, Disconnect) and lost.unanswered == (queued, hangup)  # queued's +OK never came
    assert conn.receive_data(b"") == [] and conn.connection_lost() is None
    with pytest.raises(ConnectionClosed):
        conn.api("status")
    with pytest.raises(ProtocolError, match="after the connection closed"):
        conn.receive_data(replies.command_reply("+OK"))


def test_hangup_complete_alone_counts_as_the_hangup() -> None:
    conn, _ = connected()
    (complete,) = conn.receive_data(event("CHANNEL_HANGUP_COMPLETE"))
    assert isinstance(complete, HangupComplete)
    assert conn.hangup_event is complete.event and conn.hangup_complete is complete.event


def test_api_refused_with_a_command_reply() -> None:
    """A socket without ``full`` answers api with a command/reply -ERR (NOTES.md)."""
    conn, _ = connected()
    request = conn.api("uuid_kill x")
    (reply,) = conn.receive_data(replies.command_reply("-ERR command not found"))
    assert isinstance(reply, CommandReply) and reply.request is request and not reply.ok


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (replies.command_reply("+OK"), "no command waiting"),
        (replies.api_response("+OK\n"), "no command waiting"),
        (replies.auth_request(), "unexpected auth/request"),
        (b"Content-Type: log/data\nContent-Length: 2\n\nhi", "unexpected frame type"),
        (b"Content-Length: 3\n\nabc", "unexpected frame type None"),
        (b"garbage\n\n", "separator"),
    ],
)
def test_protocol_errors(wire: bytes, message: str) -> None:
    conn, _ = connected()
    with pytest.raises(ProtocolError, match=message):
        conn.receive_data(wire)


def test_a_read_that_fails_delivers_nothing_and_its_requests_stay_unanswered() -> None:
    conn, _ = connected()
    request = conn.execute("answer")
    api = conn.api("status")
    good = replies.command_reply("+OK") + event("CHANNEL_EXECUTE_COMPLETE", Application_UUID=request.event_uuid or "")
    with pytest.raises(ProtocolError):
        conn.receive_data(good + replies.api_response("UP\n") + replies.api_response("again\n"))
    (lost,) = conn.receive_data(b"")
    assert isinstance(lost, Disconnect) and lost.unanswered == (request, api)


def test_api_response_to_a_plain_command_is_a_protocol_error() -> None:
    conn, _ = connected()
    request = conn.myevents()
    with pytest.raises(ProtocolError, match="not an api command"):
        conn.receive_data(replies.api_response("+OK\n"))
    assert conn.connection_lost() == Disconnect((request,))


def test_inbound_wants_auth_request_first() -> None:
    with pytest.raises(ProtocolError, match="expected auth/request first"):
        Connection(Role.INBOUND).receive_data(replies.command_reply("+OK"))
    conn = Connection(Role.INBOUND)
    (greeting,) = conn.receive_data(replies.auth_request())
    assert isinstance(greeting, AuthRequest)
    conn.auth("secret")
    (reply,) = conn.receive_data(replies.command_reply("-ERR invalid"))
    assert isinstance(reply, CommandReply) and not reply.ok


def test_values_written_from_outside_are_checked() -> None:
    conn, _ = connected()
    makers: list[Callable[[], Request]] = [
        lambda: conn.execute("playback", "/x.wav\napi uuid_kill all"),
        lambda: conn.execute("set\r", "a=b"),
        lambda: conn.api("uuid_kill a\x00b"),
        lambda: conn.hangup("NORMAL\nCLEARING"),
        lambda: conn.auth("pass\nword"),
        lambda: conn.event("plain", ["CHANNEL_HANGUP\n"]),
    ]
    for make in makers:
        with pytest.raises(UnsafeValueError):
            make()
    assert conn.awaiting_replies == 0 and conn.executing == 0, "a refused command is not waited for"


def test_one_event_uuid_at_a_time() -> None:
    conn, _ = connected()
    conn.execute("answer", event_uuid="same")
    with pytest.raises(ValueError, match="already executing"):
        conn.execute("answer", event_uuid="same")


def test_send_raw_learns_what_answers_it() -> None:
    conn = Connection()
    assert conn.send_raw(b"connect\n\n").kind is Kind.CONNECT
    assert conn.send_raw(b"API status\n\n").kind is Kind.API
    execute = conn.send_raw(b"sendmsg\ncall-command: execute\nexecute-app-name: answer\nEvent-UUID: r1\n\n")
    assert (execute.kind, execute.event_uuid) == (Kind.EXECUTE, "r1")
    no_uuid = conn.send_raw(b"sendmsg\ncall-command: execute\nexecute-app-name: answer\n\n")
    assert no_uuid.kind is Kind.COMMAND
    assert conn.send_raw(b"sendmsg\ncall-command: hangup\n\n").kind is Kind.COMMAND


def test_json_events_are_matched_too() -> None:
    conn, _ = connected()
    request = conn.execute("answer")
    wire = replies.event_json(
        [("Event-Name", "CHANNEL_EXECUTE_COMPLETE"), ("Application-UUID", request.event_uuid or "")]
    )
    (done,) = conn.receive_data(wire)
    assert isinstance(done, ExecuteComplete) and done.request is request
    assert isinstance(done.frame, Frame) and done.frame.content_type == "text/event-json"


def test_event_uuids_are_unique_in_the_process_and_uuid_shaped() -> None:
    first, second = Connection(), Connection()
    made = [conn.execute("answer").event_uuid for conn in (first, second, first, second)]
    assert len(set(made)) == 4
    assert all(value is not None and str(uuid.UUID(value)) == value for value in made)
