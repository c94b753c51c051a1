"""The replayed captures, run once per session for every test module that compares with them."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from tests.emulator.captures import SCENARIOS, Outcome, run

#: A beat of the replays' loop later than this is a stall of the loop (the machine's, not the emulator's).
STALL_S = 0.03
BEAT_S = 0.005


async def _watch(stalls: list[tuple[float, float]]) -> None:
    """Notes each stretch of wall time the loop could not run (start, end), on the events' clock."""
    while True:
        due = time.time() + BEAT_S
        await asyncio.sleep(BEAT_S)
        if time.time() - due > STALL_S:
            stalls.append((due, time.time()))


@pytest.fixture(scope="session")
def replay_stalls() -> list[tuple[float, float]]:
    """The stalls of the loop the captures were replayed on (filled by ``outcomes``)."""
    return []


@pytest.fixture(scope="session")
async def outcomes(replay_stalls: list[tuple[float, float]]) -> dict[str, Outcome]:
    # The replays are timed to the 20 ms tick and run together on one loop: a full collection of this
    # worker's heap (whatever tests ran before) would hold all of them at once.  The heap so far is
    # frozen, as the daemon freezes its start-up heap (daemon/gc_tuning.py); what still holds the loop
    # (the other worker's load on 2 cores) is noted for the timing comparison.
    gc.collect()
    gc.freeze()
    watcher = asyncio.create_task(_watch(replay_stalls))
    started = time.monotonic()
    try:
        done = await asyncio.gather(*(run(s) for s in SCENARIOS))
    finally:
        watcher.cancel()
        gc.unfreeze()
    print(f"\nall {len(SCENARIOS)} scenarios in {time.monotonic() - started:.1f} s; loop stalls {replay_stalls}")
    return {s.name: o for s, o in zip(SCENARIOS, done, strict=True)}
