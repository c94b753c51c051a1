"""The stall diagnostic names what held the loop up, and times garbage collections."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from pathlib import Path

from daemon import loop_stalls
from daemon.loop_stalls import StallSampler


def a_slow_callback(seconds: float) -> None:
    """Holds the loop up the way a big synchronous piece of work would."""
    time.sleep(seconds)


async def test_a_held_loop_is_reported_with_the_holder_on_its_stack(tmp_path: Path) -> None:
    report = tmp_path / "stalls.json"
    sampler = StallSampler(report)
    sampler.start()
    try:
        await asyncio.sleep(0.05)
        asyncio.get_running_loop().call_soon(a_slow_callback, 0.3)
        await asyncio.sleep(0.05)
    finally:
        sampler.stop()
    written = json.loads(report.read_text())
    assert written["stalls"] >= 1
    assert written["late_samples"] >= 10  # 300 ms held, a look every 5 ms once 50 ms late
    holders = dict(written["functions"])
    assert holders["test_loop_stalls.py:a_slow_callback"] >= 10
    # the holder slept: the loop was late without using a core, which the report tells apart
    assert written["late_seconds"] >= 0.15
    assert written["late_main_thread_cpu_seconds"] < written["late_seconds"] / 2


async def test_collections_are_counted_with_what_they_freed(tmp_path: Path) -> None:
    """Apart from the test above: a full collection of a big test process's heap holds the loop with
    the main thread's CPU (CI saw 1.5 s of it), which is not what that test tells apart."""
    report = tmp_path / "stalls.json"
    sampler = StallSampler(report)
    sampler.start()
    try:
        cycle: list[object] = []
        cycle.append(cycle)  # garbage only a collection frees
        del cycle
        gc.collect()
    finally:
        sampler.stop()
    written = json.loads(report.read_text())
    assert written["gc"]["2"]["count"] >= 1
    assert written["gc"]["2"]["collected"] >= 1  # what the collections freed (the cycle above)


async def test_a_loop_that_keeps_up_reports_nothing(tmp_path: Path) -> None:
    report = tmp_path / "stalls.json"
    sampler = StallSampler(report)
    sampler.start()
    try:
        for _ in range(10):
            a_slow_callback(0.01)
            await asyncio.sleep(0.01)
    finally:
        sampler.stop()
    written = json.loads(report.read_text())
    assert written["late_samples"] == 0
    assert written["stacks"] == []


def test_it_is_off_unless_asked_for(tmp_path: Path) -> None:
    assert loop_stalls.from_environment({}) is None
    sampler = loop_stalls.from_environment({loop_stalls.VARIABLE: str(tmp_path / "r.json")})
    assert sampler is not None
    assert sampler.path == tmp_path / "r.json"
