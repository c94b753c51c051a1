"""The restart's cut ends as a normal cutoff does: the balance guidance, then the hang-up (issue 16, item 4).

What the restarted daemon writes to FreeSWITCH's inbound socket at the deadline of a
consultation that outlived the crash, against a scripted socket (real TCP) and the real
database: the caller's leg is parked as the counsellor's is killed, the guidance is
broadcast with its hang-up, and only then is the backstop moved past it.  When FreeSWITCH
refuses the guidance the caller is hung up at once and the backstop stays where it was.
What FreeSWITCH does with these commands: tests/emulator/test_park_after_bridge.py; the
whole restart: tests/calls/test_crash_e2e.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import asyncpg

from daemon.inbound.client import InboundClient
from daemon.prompts.library import PromptLibrary
from daemon.recovery import cut
from daemon.repositories import call_records, money
from tests.factories import prepaid_caller, shop, talking
from tests.recovery.inbound_script import ScriptedInbound
from tests.stand_in_prompts import write_prompts


async def talking_call(pool: asyncpg.Pool) -> asyncpg.Record:
    """A prepaid consultation answered just now, its deadline (a second or two away) armed."""
    s = await shop(pool)
    caller_id = await prepaid_caller(pool, s.tenant_id, yen=20)
    now = time.time_ns() // 1000
    call = await talking(pool, s.tenant_id, caller_id, 600, now, node_id="n1")
    await call_records.set_deadline(pool, call, await money.joint_deadline_of(pool, caller_id))
    record = await pool.fetchrow("SELECT * FROM call_records WHERE call_uuid = $1", call)
    assert record is not None and 0 < record["deadline_us"] - now < 5_000_000
    return record


async def cut_commands(
    pool: asyncpg.Pool, tmp_path: Path, api_bodies: dict[str, str] | None = None
) -> tuple[uuid.UUID, list[str]]:
    """Run the restart's cut of a fresh call to its end: the call, and the api commands it
    wrote after the guidance, in order."""
    record = await talking_call(pool)
    prompts = PromptLibrary(write_prompts(tmp_path / "prompts", balance_exhausted=2.5))
    async with ScriptedInbound({}, api_bodies) as fs:
        client = InboundClient()
        await asyncio.wait_for(client.connect("127.0.0.1", fs.port, "pw"), 5)
        try:
            await asyncio.wait_for(cut.start(pool, client, record, prompts), 10)
        finally:
            await client.close()
    call, leg = record["call_uuid"], record["counsellor_leg"]
    path = prompts.path("balance_exhausted")
    commands = [c.removeprefix("api ") for c in fs.commands if c.startswith("api ")]
    assert commands[:4] == [
        f"uuid_setvar {call} hangup_after_bridge true",
        f"uuid_setvar {call} park_after_bridge true",  # with the kill: the caller's leg is parked, not hung up
        f"uuid_kill {leg} ALLOTTED_TIMEOUT",
        f"uuid_broadcast {call} playback!NORMAL_CLEARING::{path} aleg",  # the guidance, then the hang-up
    ]
    return call, commands[4:]


async def test_the_cut_plays_the_balance_guidance_then_moves_the_backstop_past_it(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    call, rest = await cut_commands(pool, tmp_path)
    # the 2.5 s guidance: 3 whole seconds + 2, so the backstop never cuts it short
    assert rest == [f"sched_del {call}", f"sched_hangup +5 {call} ALLOTTED_TIMEOUT"]


async def test_a_refused_guidance_hangs_the_caller_up_and_keeps_the_backstop(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    call, rest = await cut_commands(pool, tmp_path, {"uuid_broadcast": "-ERR no such channel\n"})
    assert rest == [f"uuid_kill {call} ALLOTTED_TIMEOUT"]  # no sched_del: the deadline's backstop stays armed


async def test_the_restart_cut_is_written_by_its_timer_not_after_the_tasks_queued_behind_it(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """A busy loop after a crash: the cut's timer and another call's work (due just after it)
    come due in the same turn.  The ``uuid_kill`` is already written when that work runs: the
    restart's cut, like the normal one (tests/calls/test_cutoff_turn.py), does not wait for its
    task's next step, which joins the queue behind everything woken in that turn."""
    record = await talking_call(pool)
    deadline, leg = record["deadline_us"], record["counsellor_leg"]
    prompts = PromptLibrary(write_prompts(tmp_path / "prompts", balance_exhausted=0.5))
    async with ScriptedInbound({}) as fs:
        client = InboundClient()
        await asyncio.wait_for(client.connect("127.0.0.1", fs.port, "pw"), 5)
        written: list[bytes] = []
        writer = client._writer
        assert writer is not None
        write = writer.write

        def spy(data: bytes | bytearray | memoryview) -> None:
            written.append(bytes(data))
            write(data)

        writer.write = spy  # type: ignore[method-assign]
        try:
            running = cut.start(pool, client, record, prompts)
            # past the re-read 1 s before the deadline: the cut is asleep towards it
            await asyncio.sleep(max(0.0, (deadline - 300_000 - time.time_ns() // 1000) / 1e6))
            loop = asyncio.get_running_loop()
            seen: asyncio.Future[bool] = loop.create_future()
            due = (deadline - time.time_ns() // 1000) / 1e6
            loop.call_at(
                loop.time() + due + 0.05,
                lambda: seen.set_result(any(f"uuid_kill {leg}".encode() in w for w in written)),
            )
            time.sleep(due + 0.2)  # noqa: ASYNC251  (on purpose: the loop is busy past both; they run in one turn)
            assert await asyncio.wait_for(seen, 5)
            await asyncio.wait_for(running, 10)
        finally:
            await client.close()
