"""The event loop's lag is measured, exported, and catches a loop that was held up."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import generate_latest

from daemon.loop_lag import LoopLagMonitor
from daemon.metrics import Metrics
from tests.conftest import DaemonFactory

NAME = "calld_event_loop_lag_seconds"


def hog(seconds: float) -> None:
    """A callback that holds the loop up (a slow computation, a big garbage collection)."""
    time.sleep(seconds)


def count_above(metrics: Metrics, bound: str) -> float:
    """Samples above ``bound`` seconds (a bucket bound of the histogram)."""
    total = metrics.registry.get_sample_value(f"{NAME}_count") or 0.0
    below = metrics.registry.get_sample_value(f"{NAME}_bucket", {"le": bound}) or 0.0
    return total - below


async def test_a_blocked_loop_shows_as_lag() -> None:
    metrics = Metrics()
    monitor = LoopLagMonitor(metrics.loop_lag, interval=0.01)
    monitor.start()
    try:
        await asyncio.sleep(0.05)
        before = count_above(metrics, "0.1")
        asyncio.get_running_loop().call_soon(hog, 0.3)
        await asyncio.sleep(0.05)
    finally:
        monitor.stop()
    assert count_above(metrics, "0.1") >= before + 1
    assert monitor.worst >= 0.2
    seen = metrics.registry.get_sample_value(f"{NAME}_count")
    await asyncio.sleep(0.05)
    assert metrics.registry.get_sample_value(f"{NAME}_count") == seen  # stopped: no more samples


async def test_the_daemon_exports_its_loop_lag(start_daemon: DaemonFactory) -> None:
    daemon = await start_daemon()
    await asyncio.sleep(0.1)
    assert (daemon.metrics.registry.get_sample_value(f"{NAME}_count") or 0) > 0
    assert f"{NAME}_bucket" in generate_latest(daemon.metrics.registry).decode()
