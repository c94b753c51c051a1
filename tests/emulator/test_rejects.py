"""What FreeSWITCH rejects, the emulator rejects loudly (and records in CallResult.errors)."""

from __future__ import annotations

from emulator import CallerScript, FakeFreeSwitch
from tests.emulator.app import AppConn, AppServer, is_event


def switch(port: int) -> FakeFreeSwitch:
    return FakeFreeSwitch(port=port, linger_scale=0.01, park_event=False)


async def test_unknown_application_hangs_up_destination_out_of_order() -> None:
    """switch_core_session.c: "Invalid Application" -> DESTINATION_OUT_OF_ORDER, no CHANNEL_EXECUTE."""

    async def app(conn: AppConn) -> None:
        await conn.start()
        reply = await conn.command(b"sendmsg\ncall-command: execute\nexecute-app-name: plaback\nEvent-UUID: x\n\n")
        assert reply.reply_text == "+OK"  # async: only queued
        hangup = await conn.until(lambda f: is_event(f, "CHANNEL_HANGUP"))
        assert hangup.event()["Hangup-Cause"] == "DESTINATION_OUT_OF_ORDER"
        await conn.drain()
        assert "CHANNEL_EXECUTE" not in conn.names()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert server.errors == []
    assert result.hangup_cause == "DESTINATION_OUT_OF_ORDER"
    assert any("unknown application 'plaback'" in e for e in result.errors)


async def test_lf_inside_a_header_value_is_a_protocol_error() -> None:
    """A newline in a value starts a header line without ': ': FreeSWITCH misreads it, we refuse it."""

    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        conn.send(b"sendmsg\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: /tmp/a\nb.wav\n\n")
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert any("malformed command" in e for e in result.errors)
    assert result.socket_closed_by == "fs"
    assert result.hangup_by == "fallback"  # the socket app returned; the dialplan went on


async def test_cr_in_a_command_is_recorded() -> None:
    """FreeSWITCH does not decode command headers: a CR stays in the value (a caller ID, a digit string)."""

    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        # the daemon's codec refuses this (check_safe); a careless app would write it
        conn.send(b"sendmsg\ncall-command: execute\nexecute-app-name: set\nexecute-app-arg: note=Taro\rSan\n\n")
        await conn.reply()
        conn.send(b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert server.errors == []
    assert any("CR in a command" in e for e in result.errors)


async def test_command_before_connect() -> None:
    async def app(conn: AppConn) -> None:
        reply = await conn.command(b"myevents\n\n")
        assert reply.reply_text == "+OK Events Enabled"
        await conn.command(b"connect\n\n")
        await conn.command(b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert result.errors == ["command before connect: 'myevents'"]


async def test_unknown_command_is_command_not_found() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        reply = await conn.command(b"sendmessage\ncall-command: hangup\n\n")
        assert reply.reply_text == "-ERR command not found"
        api = await conn.command(b"api nosuchcommand\n\n")
        assert api.body == b"-ERR nosuchcommand Command not found!\n"
        await conn.command(b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert server.errors == []
    assert result.errors == ["unknown command: 'sendmessage'"]


async def test_missing_prompt_file() -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        done = await conn.run("playback", "/nonexistent/prompt.wav")
        assert done.event()["Application-Response"] == "FILE NOT FOUND"
        await conn.command(b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert server.errors == []
    assert any("file not found" in e for e in result.errors)


async def test_daemon_not_listening_runs_the_fallback() -> None:
    """no_daemon_fallback: the socket app fails at once; the dialplan plays guidance and hangs up."""
    async with AppServer(lambda conn: conn.drain()) as server:
        port = server.port
    result = await switch(port).place_call(CallerScript(connect_timeout=1.0))
    assert result.fallback_ran and result.hangup_by == "fallback"
    assert result.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
    assert not result.answered
    assert result.variables["sip_hangup_disposition"] == "send_refuse"
    assert any("could not connect" in e for e in result.errors)
