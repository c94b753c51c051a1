"""The emulator times the daemon's kill by its arrival (the kernel's stamp): FreeSWITCH's threads act on it then."""

from __future__ import annotations

import time

from emulator import CallerScript, CallResult, FakeFreeSwitch
from tests.emulator.app import AppConn, AppServer

KILL = "api uuid_kill {} ALLOTTED_TIMEOUT\n\n"


def switch(port: int) -> FakeFreeSwitch:
    return FakeFreeSwitch(port=port, linger_scale=0.01, park_event=False)


def wait_unread(fs: FakeFreeSwitch, uuid: str) -> None:
    """Until the bytes just written are in the emulator's socket, unread (without giving the loop a turn)."""
    listener = fs.sessions[uuid].listener
    assert listener is not None and listener.stamps is not None
    give_up = time.monotonic() + 5
    while listener.stamps.unread_since() is None:
        assert time.monotonic() < give_up, "the bytes never reached the emulator's socket"


async def race(*, due_before_kill: bool) -> tuple[FakeFreeSwitch, CallResult]:
    """The backstop armed, the kill written but not yet read, and then the scheduler's turn first.

    ``due_before_kill``: the backstop had come due a second before the kill was written.
    """
    fs: list[FakeFreeSwitch] = []

    async def app(conn: AppConn) -> None:
        uuid = (await conn.start()).get("Unique-ID") or ""
        await conn.run("answer")
        await conn.command(f"api sched_hangup +30 {uuid} ALLOTTED_TIMEOUT\n\n".encode())
        (task,) = fs[0].scheduler.pending(uuid)
        if due_before_kill:
            task.runtime = int(time.time()) - 1
        conn.send(KILL.format(uuid).encode())
        wait_unread(fs[0], uuid)
        fs[0].scheduler._run(task.task_id)  # the scheduler's turn before the socket's
        await conn.drain()

    async with AppServer(app) as server:
        fs.append(switch(server.port))
        result = await fs[0].place_call(CallerScript())
    assert server.errors == []
    return fs[0], result


async def test_a_kill_that_arrived_before_the_backstop_was_due_goes_first() -> None:
    """FreeSWITCH runs an api command in the socket's listener thread as it arrives; its scheduler is another thread.

    Here the emulator's scheduler comes round while the kill's bytes wait unread (its loop was
    busy elsewhere): the kill still ends the call, not the backstop.
    """
    fs, result = await race(due_before_kill=False)
    assert (result.hangup_by, result.hangup_cause) == ("uuid_kill", "ALLOTTED_TIMEOUT")
    assert result.backstop_due is None
    assert fs.scheduler.pending() == []


async def test_a_backstop_due_before_the_kill_arrived_still_fires() -> None:
    """The other order: the kill comes after the task was due; the backstop ends the call and says when it was due."""
    _fs, result = await race(due_before_kill=True)
    assert result.hangup_by == "sched_hangup"
    assert result.backstop_due is not None and result.kill_arrived is not None
    assert result.backstop_due < result.kill_arrived


async def test_the_kill_is_timed_by_its_arrival_beside_its_run() -> None:
    """A loop busy for 0.2 s after the kill came: the arrival is the kernel's, the run 0.2 s later."""

    async def app(conn: AppConn) -> None:
        uuid = (await conn.start()).get("Unique-ID") or ""
        await conn.run("answer")
        conn.send(KILL.format(uuid).encode())
        time.sleep(0.2)  # noqa: ASYNC251  (on purpose: the one loop, app and emulator alike, is busy)
        await conn.drain()

    async with AppServer(app) as server:
        result = await switch(server.port).place_call(CallerScript())
    assert result.hangup_by == "uuid_kill"
    assert result.kill_arrived is not None and result.kill_run is not None
    assert result.kill_run - result.kill_arrived >= 0.2
