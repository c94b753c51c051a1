"""InboundClient (crash recovery's view of FreeSWITCH) against the emulator's inbound event socket."""

from __future__ import annotations

import asyncio

import pytest

from daemon.esl import replies
from daemon.inbound.client import InboundClient, InboundError
from emulator import CallerScript, FakeFreeSwitch
from tests.emulator.app import AppConn, AppServer


async def test_wrong_password_is_refused() -> None:
    fs = FakeFreeSwitch(port=0)
    server = await fs.serve_inbound("127.0.0.1", 0, "s3cret")
    client = InboundClient()
    with pytest.raises(InboundError, match="refused the event-socket password"):
        await asyncio.wait_for(client.connect("127.0.0.1", server.sockets[0].getsockname()[1], "wrong"), 5)
    await fs.close()


async def test_api_subscribe_and_a_hangup_event_of_a_live_call() -> None:
    held = asyncio.Event()

    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        await held.wait()
        conn.send(b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        await conn.drain()

    async with AppServer(app) as daemon:
        fs = FakeFreeSwitch(port=daemon.port, linger_scale=0.01, park_event=False)
        server = await fs.serve_inbound("127.0.0.1", 0, "s3cret")
        call = asyncio.ensure_future(fs.place_call(CallerScript()))
        client = InboundClient()
        await asyncio.wait_for(client.connect("127.0.0.1", server.sockets[0].getsockname()[1], "s3cret"), 5)
        rows: list[dict[str, object]] = []
        for _ in range(100):
            rows = await client.channels()
            if rows:
                break
            await asyncio.sleep(0.02)
        (row,) = rows
        uuid = str(row["uuid"])
        assert await client.exists(uuid)
        assert not await client.exists("00000000-0000-0000-0000-000000000000")
        assert await client.api("nosuchcommand") == "-ERR nosuchcommand Command not found!\n"
        await client.subscribe("CHANNEL_HANGUP_COMPLETE")
        held.set()
        event = await asyncio.wait_for(client.events.get(), 5)
        assert (event.name, event.unique_id) == ("CHANNEL_HANGUP_COMPLETE", uuid)
        await client.close()
        result = await call
        await fs.close()
    assert result.errors == []


async def test_freeswitch_closing_fails_the_waiting_call() -> None:
    """A FreeSWITCH that accepts the password and then drops the socket with an api pending."""

    async def freeswitch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(replies.auth_request())
        await reader.readuntil(b"\n\n")
        writer.write(replies.command_reply("+OK accepted"))
        await reader.readuntil(b"\n\n")  # the api command: no answer, the socket closes
        writer.close()

    server = await asyncio.start_server(freeswitch, "127.0.0.1", 0)
    client = InboundClient()
    await asyncio.wait_for(client.connect("127.0.0.1", server.sockets[0].getsockname()[1], "s3cret"), 5)
    with pytest.raises(InboundError, match="closed the event socket"):
        await asyncio.wait_for(client.api("status"), 5)
    with pytest.raises(InboundError, match="not connected"):
        await client.api("status")
    await client.close()
    server.close()
