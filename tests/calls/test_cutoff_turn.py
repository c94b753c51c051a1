"""The prepaid cut leaves in its timer's own turn of the event loop, ahead of the work other calls queued.

Orderings only, no timing assertions: the loop is held past the deadline, so that
the cut's timer and another call's work come due in the same turn; what is checked
is which of them ran first.
"""

from __future__ import annotations

import asyncio
import time

from daemon.calls.cutoff import Backstop, Cutoff, wall_us
from daemon.metrics import Metrics
from tests.calls.test_cutoff_timer import Paths, api_lines, until
from tests.fake_channel import FakeChannel

KILL = "uuid_kill leg-b ALLOTTED_TIMEOUT"


async def test_the_cut_is_written_by_its_timer_not_after_the_tasks_queued_behind_it() -> None:
    """A busy loop: when it comes round, the cut's timer is due, and so is another call's
    callback just after it (a bridge end, a settlement's next step).  The ``uuid_kill`` is
    already written when that callback runs: the cut did not wait for its task's next step,
    which joins the queue behind everything woken in that turn."""
    fake = FakeChannel()
    session = await fake.start()
    fake.stall()  # FreeSWITCH answers nothing meanwhile: what counts is what was written
    cutoff = Cutoff(session, "leg-b", Backstop(session), warning_seconds=0, prompts=Paths(), metrics=Metrics())
    cutoff.update(wall_us() + 200_000)
    running = asyncio.create_task(cutoff.run())
    for _ in range(3):
        await asyncio.sleep(0)  # the cutoff is asleep towards its deadline
    loop = asyncio.get_running_loop()
    seen: list[bool] = []
    loop.call_at(loop.time() + 0.25, lambda: seen.append(KILL in api_lines(fake)))  # due just after the cut
    time.sleep(0.4)  # noqa: ASYNC251  (on purpose: the loop is busy past both; they run in one turn, as due)
    await until(lambda: bool(seen))
    assert seen == [True]
    assert cutoff.cut
    fake.unstall()
    await asyncio.wait_for(running, 5)
    assert cutoff.cut_lag_s is not None


async def test_a_deadline_moved_later_before_the_timer_fired_is_not_cut() -> None:
    """The timer armed for the old deadline does not cut: the new one is slept towards instead."""
    fake = FakeChannel()
    session = await fake.start()
    cutoff = Cutoff(session, "leg-b", Backstop(session), warning_seconds=0, prompts=Paths(), metrics=Metrics())
    cutoff.update(wall_us() + 100_000)
    running = asyncio.create_task(cutoff.run())
    for _ in range(3):
        await asyncio.sleep(0)
    cutoff.update(wall_us() + 60_000_000)  # a deposit landed: a minute more
    time.sleep(0.2)  # noqa: ASYNC251  (on purpose: the old timer comes due before the task has woken)
    await asyncio.sleep(0.05)
    assert not cutoff.cut
    assert KILL not in api_lines(fake)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
