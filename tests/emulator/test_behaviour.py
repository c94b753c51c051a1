"""Emulated FreeSWITCH behaviours beyond the captured scenarios (all derived from the captures or the source)."""

from __future__ import annotations

import asyncio
import json
import math
import time
import wave
from pathlib import Path

from daemon.esl.commands import execute
from emulator import CallerScript, FakeFreeSwitch, FarEnd, Keys
from emulator.farend import parse_dial_string
from emulator.scheduler import Scheduler
from tests.emulator.app import AppConn, AppServer, is_event

HANGUP = b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n"


def switch(port: int, **kwargs: object) -> FakeFreeSwitch:
    options: dict[str, object] = {"linger_scale": 0.01, "park_event": False}
    options.update(kwargs)
    return FakeFreeSwitch(port=port, **options)  # type: ignore[arg-type]


async def test_without_linger_freeswitch_closes_at_the_hangup() -> None:
    """mod_event_socket: no LFLAG_LINGER -> the listener ends when the channel is down (no HANGUP_COMPLETE)."""

    async def app(conn: AppConn) -> None:
        await conn.start(linger=b"")
        await conn.run("answer")
        conn.send(HANGUP)
        await conn.drain()
        assert "CHANNEL_HANGUP_COMPLETE" not in conn.names()
        notices = [f.get("Content-Disposition") for f in conn.frames if f.content_type == "text/disconnect-notice"]
        assert notices == ["disconnect"]

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert server.errors == [] and result.errors == []
    assert result.socket_closed_by == "fs"


async def test_endless_linger_waits_for_the_app() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start(linger=b"linger\n\n")
        await conn.run("answer")
        conn.send(HANGUP)
        notice = await conn.until(lambda f: f.content_type == "text/disconnect-notice")
        assert notice.get("Linger-Time") == "-1"
        assert "CHANNEL_HANGUP_COMPLETE" in conn.names()
        await asyncio.sleep(0.1)  # FreeSWITCH keeps the socket open; the app closes it

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert server.errors == [] and result.errors == []
    assert result.socket_closed_by == "app"


async def test_endless_linger_left_open_is_an_error() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start(linger=b"linger\n\n")
        conn.send(HANGUP)
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port, max_linger=0.2).place_call(CallerScript())
    assert any("socket left open" in e for e in result.errors)


async def test_hangup_application_event_order() -> None:
    """NOTES.md: EXECUTE(hangup) HANGUP EXECUTE_COMPLETE(hangup) UNPARK EXECUTE_COMPLETE(socket) STATE STATE
    HANGUP_COMPLETE, then the notices."""

    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        await conn.command(execute("hangup", "USER_BUSY", "h1"))
        await conn.drain()

    async with AppServer(app) as server:
        fs = switch(server.port)
        result = await fs.place_call(CallerScript())
    assert result.events_sent[-8:] == [
        "CHANNEL_EXECUTE",
        "CHANNEL_HANGUP",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_STATE",
        "CHANNEL_STATE",
        "CHANNEL_HANGUP_COMPLETE",
    ]
    assert (result.hangup_by, result.hangup_cause) == ("app", "USER_BUSY")
    assert result.apps == [("answer", ""), ("hangup", "USER_BUSY")]


async def test_sendmsg_hangup_waits_behind_an_event_locked_app() -> None:
    """The hangup sendmsg goes to the same private queue that event-lock holds (switch_core_session.c)."""
    holder: dict[str, float] = {}

    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        await conn.command(execute("playback", "tone_stream://%(400,0,440)", "p1", event_lock=True))
        await conn.until(lambda f: is_event(f, "CHANNEL_EXECUTE"))
        holder["sent"] = time.time()
        conn.send(HANGUP)
        done = await conn.complete("p1")
        assert done.event()["Application-Response"] == "FILE PLAYED"
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert server.errors == []
    assert result.end_time is not None and result.end_time - holder["sent"] > 0.3


async def test_bgapi_job_only_reaches_subscribers() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        reply = await conn.command(b"bgapi status\n\n")
        job = reply.get("Job-UUID")
        assert reply.reply_text == f"+OK Job-UUID: {job}"
        await conn.command(b"event plain BACKGROUND_JOB\n\n")
        await conn.command(b"bgapi uuid_exists 00000000-0000-0000-0000-000000000000\n\n")
        event = await conn.until(lambda f: is_event(f, "BACKGROUND_JOB"))
        assert event.event().body == b"false"
        assert event.event()["Job-Command"] == "uuid_exists"
        conn.send(HANGUP)
        await conn.drain()
        assert conn.names().count("BACKGROUND_JOB") == 1

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert server.errors == [] and result.errors == []


async def test_api_replies() -> None:
    async def app(conn: AppConn) -> None:
        data = await conn.start()
        uuid = data.get("Unique-ID")
        replies: dict[str, bytes] = {}
        for cmd in (
            f"uuid_setvar {uuid} foo bar",
            f"uuid_getvar {uuid} foo",
            f"uuid_getvar {uuid} nothing",
            f"sched_hangup +30 {uuid}",
            f"sched_hangup +30 {uuid}",
            f"sched_del {uuid}",
            "sched_hangup +1 00000000-0000-0000-0000-000000000000",
            "uuid_kill 00000000-0000-0000-0000-000000000000",
            f"uuid_exists {uuid}",
        ):
            replies[cmd.split()[0] + str(len(replies))] = (await conn.command(f"api {cmd}\n\n".encode())).body
        assert list(replies.values()) == [
            b"+OK\n",
            b"bar",
            b"_undef_",
            b"+OK\n",
            b"+OK\n",
            b"+OK Deleted: 2\n",
            b"-ERR No such channel!\n",
            b"-ERR No such channel!\n",
            b"true",
        ]
        kill = await conn.command(f"api uuid_kill {uuid} ALLOTTED_TIMEOUT\n\n".encode())
        assert kill.body == b"+OK\n"
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert server.errors == []
    assert (result.hangup_by, result.hangup_cause) == ("uuid_kill", "ALLOTTED_TIMEOUT")


async def test_sched_hangup_never_fires_before_the_whole_second() -> None:
    """runtime = int(now) + N, seen by a 0.5 s poll: between N-1 and N+0.5 s, never before int(now)+N."""

    async def app(conn: AppConn) -> None:
        data = await conn.start()
        await conn.run("answer")
        await conn.command(f"api sched_hangup +1 {data.get('Unique-ID')} ALLOTTED_TIMEOUT\n\n".encode())
        await conn.drain()

    async with AppServer(app) as server:
        armed = time.time()
        result = await switch(server.port).place_call(CallerScript())
    assert result.hangup_by == "sched_hangup" and result.end_time is not None
    assert result.end_time >= math.floor(armed) + 1 - 0.05
    assert result.end_time - armed < 1.6


async def test_sched_hangup_at_an_absolute_epoch_second() -> None:
    """A time without '+' is an epoch second: fired by the poll once now >= it, never before."""
    runtime = math.floor(time.time()) + 2

    async def app(conn: AppConn) -> None:
        data = await conn.start()
        await conn.run("answer")
        uuid = data.get("Unique-ID")
        reply = await conn.command(f"api sched_hangup {runtime} {uuid} ALLOTTED_TIMEOUT\n\n".encode())
        assert reply.body == b"+OK\n"
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert result.hangup_by == "sched_hangup" and result.end_time is not None
    assert runtime <= result.end_time < runtime + 0.6


async def test_sched_hangup_at_a_past_epoch_never_fires() -> None:
    """switch_scheduler_add_task: a runtime in the past is taken as relative (runtime += now): decades away."""

    async def app(conn: AppConn) -> None:
        data = await conn.start()
        await conn.run("answer")
        await conn.command(f"api sched_hangup {math.floor(time.time()) - 5} {data.get('Unique-ID')}\n\n".encode())
        await asyncio.sleep(1.2)
        conn.send(HANGUP)
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert result.hangup_by == "app"


def test_scheduler_fire_time_is_whole_second_plus_poll_phase() -> None:
    scheduler = Scheduler(poll_interval=0.5)
    fire = scheduler.fire_time(1_000)
    assert 1_000 <= fire < 1_000.5


async def test_play_and_get_digits_retries_then_fails() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        args = "1 3 2 300 # silence_stream://100 silence_stream://50 pin \\d{3}"
        done = await conn.run("play_and_get_digits", args)
        event = done.event()
        assert event.get("variable_pin") is None
        assert event.get("variable_read_result") == "failure"
        done = await conn.run("play_and_get_digits", args)
        assert done.event().get("variable_pin") == "123"
        conn.send(HANGUP)
        await conn.drain()
        digits = [f.event()["DTMF-Digit"] for f in conn.frames if is_event(f, "DTMF")]
        assert digits == ["9", "#", "1", "2", "3"]

    keys: list[str | Keys] = [Keys("9#", delay=0.05, interval=0.05), "", Keys("123", delay=0.05, interval=0.05)]
    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript(digits=keys))
    assert server.errors == [] and result.errors == []
    assert result.variables["digits_dialed"] == "9#123"


async def test_wav_playback_lasts_the_file(tmp_path: Path) -> None:
    path = tmp_path / "prompt.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 2400)  # 0.3 s

    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        started = time.monotonic()
        done = await conn.run("playback", str(path))
        assert 0.3 <= time.monotonic() - started < 0.5
        assert done.event()["variable_playback_ms"] == "300"
        conn.send(HANGUP)
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert server.errors == [] and result.errors == []


async def test_ring_all_and_sequential_dial_strings() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        await conn.run("set", "continue_on_fail=true")
        done = await conn.run(
            "bridge", "{originate_timeout=1}sofia/external/111@h,sofia/external/222@h|sofia/external/333@h"
        )
        assert done.event()["variable_originate_disposition"] == "SUCCESS"
        assert done.event()["variable_last_bridge_to"] == done.event()["variable_bridge_uuid"]
        conn.send(HANGUP)
        await conn.drain()

    far_ends = {
        "111": FarEnd("busy"),
        "222": FarEnd("noanswer"),
        "333": FarEnd("answer", answer_after=0.1, hangup_after=0.2),
    }
    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript(far_ends=far_ends))
    assert server.errors == []
    assert [(a.dial_string, a.outcome) for a in result.bridged_to] == [
        ("sofia/external/111@h,sofia/external/222@h", "NO_ANSWER"),
        ("sofia/external/333@h", "SUCCESS"),
    ]
    assert [(leg.endpoint, leg.outcome) for a in result.bridged_to for leg in a.legs] == [
        ("sofia/external/111@h", "USER_BUSY"),
        ("sofia/external/222@h", "NO_ANSWER"),
        ("sofia/external/333@h", "SUCCESS"),
    ]
    assert result.bridged_to[0][0] == "sofia/external/111@h,sofia/external/222@h"
    assert result.hangup_by == "app"


async def test_failed_bridge_without_continue_on_fail_hangs_up_the_caller() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        await conn.command(execute("bridge", "sofia/external/111@h", "b1"))
        await conn.drain()
        assert "CHANNEL_HANGUP" in conn.names()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript(far_ends={"111": FarEnd("busy")}))
    assert (result.hangup_by, result.hangup_cause) == ("bridge_failed", "USER_BUSY")


async def test_hangup_after_bridge() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        await conn.run("set", "hangup_after_bridge=true")
        await conn.command(execute("bridge", "sofia/external/111@h", "b1"))
        await conn.drain()

    far_ends = {"111": FarEnd("answer", answer_after=0.1, hangup_after=0.2)}
    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript(far_ends=far_ends))
    assert (result.hangup_by, result.hangup_cause) == ("far_end", "NORMAL_CLEARING")


async def test_crash_during_playback_finishes_it_then_runs_the_fallback() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        await conn.command(execute("playback", "tone_stream://%(300,0,440)", "p1"))
        await conn.until(lambda f: is_event(f, "CHANNEL_EXECUTE"))
        conn.writer.transport.abort()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert result.fallback_ran and result.hangup_by == "fallback"
    assert result.end_time is not None and result.answer_time is not None
    assert result.end_time - result.answer_time > 0.55  # the tone, then the 300 ms guidance
    assert result.socket_closed_by == "app"


async def test_first_command_latency_and_json_events() -> None:
    async def app(conn: AppConn) -> None:
        await conn.command(b"connect\n\n")
        await conn.command(b"myevents json\n\n")
        await asyncio.sleep(0.05)
        await conn.run("answer")
        conn.send(HANGUP)
        await conn.drain()
        complete = next(f for f in conn.frames if is_event(f, "CHANNEL_HANGUP_COMPLETE"))
        assert complete.content_type == "text/event-json"
        pairs = json.loads(complete.body, object_pairs_hook=list)
        assert [k for k, _ in pairs].count("Hangup-Cause") == 2

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert server.errors == [] and result.errors == []
    assert result.first_command_latency is not None and 0.05 <= result.first_command_latency < 0.2


async def test_caller_gives_up_before_answer() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript(hangup_unanswered_after=0.2))
    assert (result.hangup_by, result.hangup_cause, result.answered) == ("caller", "ORIGINATOR_CANCEL", False)
    assert result.variables["sip_hangup_disposition"] == "recv_cancel"


async def test_inbound_sees_and_kills_a_call_whose_app_died_in_a_bridge() -> None:
    """The daemon's crash recovery: list the orphaned bridged call over the inbound socket and kill it."""

    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        await conn.run("set", "hangup_after_bridge=false")
        await conn.command(execute("bridge", "sofia/external/111@h", "b1"))
        await conn.until(lambda f: is_event(f, "CHANNEL_BRIDGE"))
        conn.writer.transport.abort()

    async with AppServer(app) as server:
        fs = switch(server.port)
        inbound = await fs.serve_inbound("127.0.0.1", 0, "secret")
        call = asyncio.ensure_future(fs.place_call(CallerScript(far_ends={"111": FarEnd("answer", answer_after=0.1)})))
        reader, writer = await asyncio.open_connection("127.0.0.1", inbound.sockets[0].getsockname()[1])
        conn = AppConn(reader, writer)
        assert (await conn.next()).content_type == "auth/request"
        assert (await conn.command(b"auth wrong\n\n")).reply_text == "-ERR invalid"
        reader, writer = await asyncio.open_connection("127.0.0.1", inbound.sockets[0].getsockname()[1])
        conn = AppConn(reader, writer)
        await conn.next()
        assert (await conn.command(b"auth secret\n\n")).reply_text == "+OK accepted"
        rows: list[dict[str, str]] = []
        for _ in range(100):
            listing = json.loads((await conn.command(b"api show channels as json\n\n")).body)
            rows = listing.get("rows", [])
            if len(rows) == 2:
                break
            await asyncio.sleep(0.05)
        assert [r["direction"] for r in rows] == ["inbound", "outbound"]
        assert rows[0]["application"] == "bridge"
        await conn.command(b"event plain CHANNEL_HANGUP_COMPLETE\n\n")
        kill = await conn.command(f"api uuid_kill {rows[0]['uuid']}\n\n".encode())
        assert kill.body == b"+OK\n"
        events = [await conn.until(lambda f: is_event(f, "CHANNEL_HANGUP_COMPLETE")) for _ in range(2)]
        assert [e.event()["Unique-ID"] for e in events] == [rows[1]["uuid"], rows[0]["uuid"]]
        assert (await conn.command(b"exit\n\n")).reply_text == "+OK bye"
        result = await call
        await fs.close()
    assert (result.hangup_by, result.socket_closed_by) == ("uuid_kill", "app")


def test_dial_string_parsing() -> None:
    dial = parse_dial_string(
        "{originate_timeout=3,ignore_early_media=true}[leg_timeout=2]sofia/a/1@h,sofia/a/2@h|sofia/a/3@h"
    )
    assert dial.timeout == 3
    assert [[leg.user for leg in group] for group in dial.groups] == [["1", "2"], ["3"]]
    assert dial.groups[0][0].variables["leg_timeout"] == "2"


async def test_app_that_never_connects() -> None:
    """slow_connect: nothing is sent before ``connect``; the 25 s limit (here 0.3 s) then ends the socket app."""

    async def app(conn: AppConn) -> None:
        await conn.drain()
        assert conn.frames[-1].get("Content-Disposition") == "disconnect"
        assert len(conn.frames) == 1

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript(connect_wait=0.3))
    assert server.errors == []
    assert result.fallback_ran and not result.connected
    assert any("never sent connect" in e for e in result.errors)


async def test_channel_park_is_a_seeded_race() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        conn.send(HANGUP)
        await conn.drain()

    async def parks(seed: int) -> list[bool]:
        async with AppServer(app) as server:
            fs = FakeFreeSwitch(port=server.port, linger_scale=0.01, seed=seed)
            results = await asyncio.gather(*(fs.place_call(CallerScript()) for _ in range(6)))
        return ["CHANNEL_PARK" in r.events_sent for r in results]

    first = await parks(7)
    assert first == await parks(7)
    assert True in first and False in first
    async with AppServer(app) as server:
        forced = await FakeFreeSwitch(port=server.port, linger_scale=0.01, park_event=True).place_call(CallerScript())
    park = forced.events_sent.index("CHANNEL_PARK")
    assert forced.events_sent[park - 1 : park] == ["CHANNEL_EXECUTE"]  # the socket app's, before any of ours


async def test_digits_between_apps_are_dropped_and_star_stops_a_playback() -> None:
    """switch_ivr_park drops queued DTMF once the queued apps returned; a digit keyed during a
    sleep reaches an app queued behind it; playback's on_dtmf stops at its default terminator ``*``."""

    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        await asyncio.sleep(0.4)  # 1 is keyed now, while nothing runs: the park loop drops it
        conn.send(execute("sleep", "800", "nap", event_lock=True))  # 2 is keyed during the sleep
        keypad = "1 1 1 300 # silence_stream://100 silence_stream://10 d \\d"
        done = await conn.run("play_and_get_digits", keypad, uuid="keypad")  # already queued behind it
        assert done.event().get("variable_d") == "2"
        done = await conn.run("playback", "tone_stream://%(3000,0,440)")  # * keyed 0.6 s into it
        event = done.event()
        assert event["Application-Response"] == "FILE PLAYED"
        assert event.get("variable_playback_terminator_used") == "*"
        assert int(event["variable_playback_ms"]) < 2000
        await asyncio.sleep(1.0)  # 3 is keyed now, between two apps: dropped
        done = await conn.run("play_and_get_digits", keypad)
        assert done.event().get("variable_d") is None
        conn.send(HANGUP)
        await conn.drain()

    async with AppServer(app) as server:
        script = CallerScript(dtmf=[(0.2, "1"), (0.85, "2"), (1.9, "*"), (2.4, "3")])
        result = await switch(server.port).place_call(script)
    assert server.errors == [] and result.errors == []
    assert result.variables["digits_dialed"] == "12*3"
