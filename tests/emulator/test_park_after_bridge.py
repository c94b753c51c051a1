"""A bridge whose app is gone, ended from the inbound socket: park_after_bridge, then a guidance and a hang-up.

From the source, no capture (backstop_crash_in_bridge is the nearest: the app dies
in a bridge, the bridge goes on): ``switch_ivr_multi_threaded_bridge`` parks the
caller leg when the bridge ends with ``park_after_bridge=true`` (before it looks at
``hangup_after_bridge``), the parked channel runs what is queued for it, and
``uuid_broadcast <uuid> app!cause::arg aleg`` queues the application and then
``hangup <cause>`` (switch_ivr_async.c ``switch_ivr_broadcast``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from daemon.esl.commands import execute
from emulator import CallerScript, CallResult, FakeFreeSwitch, FarEnd
from tests.emulator.app import AppConn, AppServer, is_event
from tests.stand_in_prompts import write_wav


async def _orphaned_bridge(*commands: str) -> tuple[CallResult, list[str]]:
    """A bridged call whose app aborts its socket at CHANNEL_BRIDGE; then ``commands`` on the
    inbound socket (``{a}``/``{b}``: the caller's and the counsellor's legs): the call and the
    api replies."""
    bridged: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()

    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        await conn.run("set", "continue_on_fail=true")
        await conn.command(execute("bridge", "sofia/external/111@h", "b1", event_lock=False))  # as the daemon bridges
        event = (await conn.until(lambda f: is_event(f, "CHANNEL_BRIDGE"))).event()
        conn.writer.transport.abort()
        bridged.set_result((event["Bridge-A-Unique-ID"], event["Bridge-B-Unique-ID"]))

    async with AppServer(app) as server:
        fs = FakeFreeSwitch(port=server.port, linger_scale=0.01, park_event=False)
        inbound = await fs.serve_inbound("127.0.0.1", 0, "secret")
        call = asyncio.ensure_future(fs.place_call(CallerScript(far_ends={"111": FarEnd("answer", answer_after=0.1)})))
        a, b = await asyncio.wait_for(bridged, 5)
        await asyncio.sleep(0.2)  # the socket app has seen its socket go; the bridge goes on
        reader, writer = await asyncio.open_connection("127.0.0.1", inbound.sockets[0].getsockname()[1])
        conn = AppConn(reader, writer)
        await conn.next()
        assert (await conn.command(b"auth secret\n\n")).reply_text == "+OK accepted"
        replies = [(await conn.command(f"api {c.format(a=a, b=b)}\n\n".encode())).body.decode() for c in commands]
        result = await asyncio.wait_for(call, 10)
        conn.close()
        await fs.close()
    return result, replies


async def test_a_parked_caller_hears_the_broadcast_then_the_hangup_it_names(tmp_path: Path) -> None:
    guidance = str(write_wav(tmp_path / "balance_exhausted.wav", 0.3))
    result, replies = await _orphaned_bridge(
        "uuid_setvar {a} hangup_after_bridge true",
        "uuid_setvar {a} park_after_bridge true",  # wins over hangup_after_bridge
        "uuid_kill {b} ALLOTTED_TIMEOUT",
        f"uuid_broadcast {{a}} playback!NORMAL_CLEARING::{guidance} aleg",
    )
    assert replies == ["+OK\n", "+OK\n", "+OK\n", "+OK Message sent\n"]
    assert not result.fallback_ran  # parked: the dialplan after ``socket`` never ran
    assert (result.hangup_by, result.hangup_cause) == ("park", "NORMAL_CLEARING")
    assert result.variables["last_bridge_hangup_cause"] == "ALLOTTED_TIMEOUT"
    far_end, played = result.heard[-2:]
    assert far_end.what == "far end 111" and played.what == guidance
    assert played.start >= far_end.end and 0.28 <= played.end - played.start < 0.4  # the whole guidance
    assert result.broadcasts[0].response == "FILE PLAYED"
    assert result.end_time is not None and result.end_time >= played.end
    assert result.apps[-2:] == [("playback", guidance), ("hangup", "NORMAL_CLEARING")]


async def test_without_park_after_bridge_the_caller_leg_ends_with_the_bridge(tmp_path: Path) -> None:
    guidance = str(write_wav(tmp_path / "balance_exhausted.wav", 0.3))
    result, _ = await _orphaned_bridge(
        "uuid_setvar {a} hangup_after_bridge true",
        "uuid_kill {b} ALLOTTED_TIMEOUT",
        f"uuid_broadcast {{a}} playback!NORMAL_CLEARING::{guidance} aleg",
    )
    assert result.hangup_by == "far_end"
    # switch_ivr_multi_threaded_bridge hangs the caller up with the peer's cause, not NORMAL_CLEARING
    assert result.hangup_cause == "ALLOTTED_TIMEOUT"
    assert all(heard.what != guidance for heard in result.heard)  # the channel was already down


async def test_a_parked_caller_with_nothing_queued_waits_for_the_scheduled_hangup() -> None:
    """The fallback: the guidance never came, the backstop ``sched_hangup`` ends the parked call."""
    result, replies = await _orphaned_bridge(
        "uuid_setvar {a} park_after_bridge true",
        "uuid_kill {b} ALLOTTED_TIMEOUT",
        "sched_hangup +1 {a} ALLOTTED_TIMEOUT",
    )
    assert replies == ["+OK\n", "+OK\n", "+OK\n"]
    assert not result.fallback_ran
    assert (result.hangup_by, result.hangup_cause) == ("sched_hangup", "ALLOTTED_TIMEOUT")
    far_end = result.heard[-1]
    assert result.end_time is not None and result.end_time > far_end.end  # silent, parked, until the backstop
