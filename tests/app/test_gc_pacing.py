"""Garbage collection between the prepaid cuts: the pacer runs what is due, never into a cut it can see.

No timing assertions: what is checked is *whether* a collection ran while a cut
was close, with a collection expected to take longer than the whole test.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from daemon.appointments import Appointments
from daemon.calls.cutoff import Backstop, Cutoff, wall_us
from daemon.gc_tuning import Pacer
from daemon.metrics import Metrics
from tests.calls.test_cutoff_timer import Paths, api_lines, until
from tests.fake_channel import FakeChannel


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations of the collections that run meanwhile, in order (every count at 0 to begin with)."""
    gc.collect()
    seen: list[int] = []

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(watch)
    yield seen
    gc.callbacks.remove(watch)


def young_due() -> list[list[int]]:
    """Enough new container objects to pass the young generation's threshold."""
    made = [[i] for i in range(gc.get_threshold()[0] + 10)]
    assert Pacer.due() is not None
    return made


def slow_young(pacer: Pacer) -> Pacer:
    """A pacer that expects every young collection to take a minute: no cut ahead leaves room for one."""
    pacer._took[0].extend([60.0])
    return pacer


async def paced(pacer: Pacer, body: Callable[[], Any]) -> None:
    pacer.start()
    try:
        await body()
    finally:
        pacer.stop()


async def test_a_due_collection_waits_until_the_cut_was_sent(collections: list[int]) -> None:
    cuts = Appointments()
    loop = asyncio.get_running_loop()
    pacer = slow_young(Pacer(cuts, look=0.002, longest_wait=3600))

    async def body() -> None:
        cut = cuts.add(loop.time() + 30)  # far off, but closer than a minute's collection
        made = young_due()
        await asyncio.sleep(0.05)  # 25 looks
        assert collections == [] and pacer.put_off > 0 and not gc.isenabled()
        cuts.done(cut)
        await until(lambda: bool(collections))
        assert collections == [0] and pacer.collections == [1, 0, 0] and pacer.forced == 0
        del made

    await paced(pacer, body)
    assert gc.isenabled()  # handed back to CPython at stop


async def test_a_collection_put_off_too_long_runs_all_the_same(collections: list[int]) -> None:
    """Garbage does not pile up behind cuts that keep coming: after ``longest_wait`` the due collection runs."""
    cuts = Appointments()
    loop = asyncio.get_running_loop()
    pacer = slow_young(Pacer(cuts, look=0.002, longest_wait=0.05))

    async def body() -> None:
        cuts.add(loop.time() + 30)
        made = young_due()
        await until(lambda: bool(collections))
        assert collections == [0] and pacer.forced == 1 and pacer.put_off > 0
        del made

    await paced(pacer, body)


async def test_with_no_cut_ahead_a_due_collection_runs_at_the_next_look(collections: list[int]) -> None:
    pacer = slow_young(Pacer(Appointments(), look=0.002, longest_wait=3600))

    async def body() -> None:
        made = young_due()
        await until(lambda: bool(collections))
        assert collections[0] == 0 and pacer.put_off == 0 and pacer.forced == 0
        del made

    await paced(pacer, body)


async def test_an_armed_cut_is_an_appointment_until_its_timer_sent_it() -> None:
    fake = FakeChannel()
    session = await fake.start()
    cuts = Appointments()
    cutoff = Cutoff(
        session, "leg-b", Backstop(session), warning_seconds=0, prompts=Paths(), metrics=Metrics(), cuts=cuts
    )
    loop = asyncio.get_running_loop()
    cutoff.update(wall_us() + 400_000)
    running = asyncio.create_task(cutoff.run())
    await until(lambda: len(cuts) == 1)
    first = cuts.first()
    assert first is not None and loop.time() < first <= loop.time() + 0.4
    await until(lambda: any(line.startswith("uuid_kill") for line in api_lines(fake)))
    assert len(cuts) == 0 and cuts.first() is None
    await asyncio.wait_for(running, 5)


async def test_a_moved_deadline_moves_its_appointment() -> None:
    fake = FakeChannel()
    session = await fake.start()
    cuts = Appointments()
    cutoff = Cutoff(
        session, "leg-b", Backstop(session), warning_seconds=0, prompts=Paths(), metrics=Metrics(), cuts=cuts
    )
    cutoff.update(wall_us() + 60_000_000)
    running = asyncio.create_task(cutoff.run())
    await until(lambda: len(cuts) == 1)
    far = cuts.first()
    cutoff.update(wall_us() + 30_000_000)
    await until(lambda: cuts.first() != far)
    nearer = cuts.first()
    assert len(cuts) == 1 and far is not None and nearer is not None and nearer < far - 20
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert len(cuts) == 0


def test_appointments_called_off_are_not_first_and_do_not_pile_up() -> None:
    cuts = Appointments()
    tokens = [cuts.add(float(t)) for t in range(10_000)]
    for token in tokens[:-1]:
        cuts.done(token)
    assert cuts.first() == 9_999.0 and len(cuts) == 1
    for t in range(10_000):
        cuts.done(cuts.add(1e9 + t))  # ended far ahead: compacted, not kept until their time
    assert len(cuts._heap) < 200
    assert cuts.first() == 9_999.0
