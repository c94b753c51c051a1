"""The asyncio Session over a scripted in-memory FreeSWITCH channel (tests/fake_channel.py).

No emulator, no database: what the Session writes and what it makes of
FreeSWITCH's answers, and a few call steps at the Session level.
"""

from __future__ import annotations

import asyncio

import pytest

from daemon.calls import guidance, keypad
from daemon.esl import Frame, UnsafeValueError, replies
from daemon.outbound.session import CallEnded, Session
from daemon.outbound.subscription import NIXED, WANTED
from tests.fake_channel import FakeChannel, Step


class Prompts:
    def path(self, name: str) -> str:
        return f"/var/prompts/{name}.wav"


PROMPTS = Prompts()


@pytest.mark.parametrize("chunk", [None, 1, 7])
async def test_start_pipelines_connect_myevents_nixevent_linger_in_one_write(chunk: int | None) -> None:
    fake = FakeChannel(chunk=chunk, extra_channel_data=[("variable_sip_h_Diversion", "<sip:0311112222@carrier>")])
    session = fake.connect()
    channel = await session.start(7)
    nixevent = b"nixevent " + " ".join(NIXED).encode() + b"\n\n"
    assert fake.writes == [b"connect\n\nmyevents\n\n" + nixevent + b"linger 7\n\n"]
    assert fake.subscribed == WANTED
    assert channel.unique_id == fake.unique_id == session.uuid
    assert (channel.caller_id_number, channel.destination_number) == ("09012345678", "0312345678")
    assert channel.diversion == "<sip:0311112222@carrier>"
    assert session.first_command_latency is None  # set-up commands do not count


async def test_execute_waits_for_its_own_completion() -> None:
    fake = FakeChannel(chunk=3)
    session = await fake.start()
    done = await session.execute("playback", "/a.wav")
    assert done["Application-Response"] == "FILE PLAYED"
    assert done["Application-UUID"] == fake.commands[-1].get("Event-UUID")
    assert fake.commands[-1].get("event-lock") == "true"
    await session.execute("bridge", "sofia/external/1@h", lock=False)
    assert fake.commands[-1].get("event-lock") is None
    assert session.first_command_latency is not None and session.first_command_latency >= 0


async def test_hooks_see_every_wanted_event_in_order() -> None:
    fake = FakeChannel()
    session = await fake.start()
    seen: list[str] = []
    session.add_hook(lambda e: seen.append(e.name))
    fake.script("bridge", Step(events=("CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE")))
    await session.execute("answer")
    await session.execute("bridge", "sofia/external/1@h", lock=False)
    await session.hangup()
    await session.finish(1.0)
    assert seen == [
        "CHANNEL_EXECUTE_COMPLETE",  # answer (its EXECUTE, PROGRESS_MEDIA and ANSWER were nixed)
        "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_EXECUTE_COMPLETE",  # bridge
        "CHANNEL_HANGUP",
        "CHANNEL_EXECUTE_COMPLETE",  # the socket application (UNPARK, STATE nixed)
        "CHANNEL_HANGUP_COMPLETE",
    ]


async def test_a_refused_nixevent_costs_events_not_the_call() -> None:
    fake = FakeChannel()
    session = fake.connect()
    original = fake._command

    def refuse_nixevent(frame: Frame) -> None:
        if (frame.line or "").startswith("nixevent"):  # an old or odd switch: myevents' list stays whole
            fake._reply("-ERR no keywords supplied")
            return
        original(frame)

    fake._command = refuse_nixevent  # type: ignore[method-assign]
    channel = await session.start(5)
    seen: list[str] = []
    session.add_hook(lambda e: seen.append(e.name))
    await session.execute("answer")
    assert channel.unique_id == fake.unique_id
    assert seen == ["CHANNEL_EXECUTE", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_ANSWER", "CHANNEL_EXECUTE_COMPLETE"]


async def test_caller_hangs_up_during_playback_then_the_flow_stops() -> None:
    fake = FakeChannel()
    fake.script("playback", Step(hangup="NORMAL_CLEARING"))
    session = await fake.start()
    done = await session.execute("playback", "/a.wav")
    assert done["Application-Response"] == "PLAYBACK ERROR"  # HANGUP came before the completion
    assert session.hung_up and session.hangup_event is not None
    assert session.hangup_event.name == "CHANNEL_HANGUP"
    with pytest.raises(CallEnded):
        await session.execute("playback", "/b.wav")
    complete = await asyncio.wait_for(session.hangup_complete, 1.0)
    assert complete.get_all("Hangup-Cause") == ["NORMAL_CLEARING", "NORMAL_CLEARING"]
    await session.finish(1.0)
    assert fake.closed_by == "app"
    assert fake.apps == ["playback"]


async def test_hangup_complete_fails_an_execute_that_never_ran() -> None:
    fake = FakeChannel()
    session = await fake.start()
    fake.caller_hangs_up()
    # the sendmsg is written before the hangup reaches the Session: +OK, but it never runs
    with pytest.raises(CallEnded):
        await session.execute("playback", "/a.wav")
    assert fake.apps == []


async def test_socket_closed_fails_every_wait() -> None:
    fake = FakeChannel()
    session = await fake.start()
    pending = asyncio.ensure_future(session.api("status"))
    fake.close()  # before FreeSWITCH answers
    with pytest.raises(CallEnded):
        await pending
    with pytest.raises(CallEnded):
        await session.hangup_complete
    with pytest.raises(CallEnded):
        await session.execute("answer")
    await session.hangup()  # nothing to hang up: no error


async def test_api_and_failed_commands() -> None:
    fake = FakeChannel()
    session = await fake.start()
    fake.api_replies["uuid_exists"] = "true"
    assert await session.api(f"uuid_exists {session.uuid}") == "true"
    assert await session.api(f"sched_hangup +30 {session.uuid}") == "+OK\n"
    reply = await session.command(b"sendmessage\n\n")  # raw bytes: the caller reads the reply
    assert not reply.ok and reply.reply_text == "-ERR command not found"
    with pytest.raises(UnsafeValueError):
        await session.execute("set", "caller=0901\napi uuid_kill all")
    assert await session.api("status") == "+OK\n", "a refused value leaves the reply order intact"


async def test_uuid_kill_ends_the_call() -> None:
    fake = FakeChannel()
    session = await fake.start()
    await session.execute("answer")
    assert await session.api(f"uuid_kill {session.uuid} ALLOTTED_TIMEOUT") == "+OK\n"
    complete = await asyncio.wait_for(session.hangup_complete, 1.0)
    assert complete["Hangup-Cause"] == "ALLOTTED_TIMEOUT"


async def test_protocol_error_aborts_the_socket() -> None:
    fake = FakeChannel()
    session = await fake.start()
    pending = asyncio.ensure_future(session.execute("answer"))
    await asyncio.sleep(0)
    fake.feed(replies.api_response("unasked\n"))  # in the same read as the execute's answers: nobody asked
    with pytest.raises(CallEnded):
        await pending  # its +OK and completion came in the read that failed: never delivered, failed now
    assert session.protocol_error is not None and "api/response" in str(session.protocol_error)
    assert fake.closed_by == "app_abort"


async def test_finish_closes_even_without_hangup_complete() -> None:
    fake = FakeChannel()
    session = await fake.start()
    await session.finish(0.05)
    assert fake.closed_by == "app"


async def test_on_connection_is_called_with_the_session() -> None:
    seen: list[Session] = []
    fake = FakeChannel()
    session = fake.connect(Session(seen.append))
    assert seen == [session]


# -- call steps at the Session level (daemon/calls) ---------------------------------


async def test_guidance_play_returns_the_application_response() -> None:
    fake = FakeChannel()
    session = await fake.start()
    assert await guidance.play(session, PROMPTS, "welcome") == "FILE PLAYED"
    assert ("playback", "/var/prompts/welcome.wav") in fake.executed


async def test_keypad_read_digits_returns_what_the_caller_keyed() -> None:
    fake = FakeChannel()
    fake.script("play_and_get_digits", Step(variables={"group_code": "12"}, dtmf="12#"))
    session = await fake.start()
    assert await keypad.read_digits(session, PROMPTS, "choose_group", var="group_code") == "12"
    assert "/var/prompts/choose_group.wav" in fake.executed[-1][1]


async def test_keypad_read_digits_without_input_is_none() -> None:
    fake = FakeChannel()
    fake.script("play_and_get_digits", Step(variables={"read_result": "failure"}))
    session = await fake.start()
    assert await keypad.read_digits(session, PROMPTS, "choose_group", var="group_code") is None


async def test_guidance_refuse_plays_then_hangs_up_with_the_cause() -> None:
    fake = FakeChannel()
    session = await fake.start()
    await guidance.refuse(session, PROMPTS, "busy", "USER_BUSY")
    assert ("playback", "/var/prompts/busy.wav") in fake.executed
    assert fake.hangup_cause == "USER_BUSY"
    assert (await asyncio.wait_for(session.hangup_complete, 1.0))["Hangup-Cause"] == "USER_BUSY"
