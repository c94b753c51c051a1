"""Prepaid cutoff precision of one run: how late each talk ended, and who ended it.

A talk ended for money is ended either by the daemon's cut (``ended_by =
'cutoff'``) or, when that cut came ≥ 200 ms late, by FreeSWITCH's ``sched_hangup``
backstop (the emulator says ``hangup_by = 'sched_hangup'``; the record says the
caller's leg went first).  The error of both is the talk's end (FreeSWITCH's
timestamp, quantised to its 20 ms clock like the real one) minus the deadline the
daemon armed.  Beside it, the daemon's own view from ``/metrics``: the event
loop's lag, the cut's sent lag (timer due → ``uuid_kill`` written) and its lag
(→ answered); and the generator's own loop lag (:func:`generator_lag`): the
emulated FreeSWITCH runs in the benchmark process, and when that process is late
the talk's end and the backstop are late with it, whatever the daemon did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import asyncpg
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.harness import METRICS_TOKEN, percentile
from daemon.loop_lag import LoopLagMonitor
from emulator import CallResult


async def scrape(http_port: int) -> str:
    """The daemon's ``GET /metrics`` text."""
    reader, writer = await asyncio.open_connection("127.0.0.1", http_port)
    try:
        writer.write(f"GET /metrics HTTP/1.0\r\nAuthorization: Bearer {METRICS_TOKEN}\r\n\r\n".encode())
        return (await reader.read()).partition(b"\r\n\r\n")[2].decode()
    finally:
        writer.close()


def histogram(text: str, name: str) -> dict[str, object]:
    """A histogram's count, how many samples exceeded each bucket's bound, and the largest finite bound reached."""
    buckets: list[tuple[float, float]] = []
    count = 0.0
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                buckets.append((float(sample.labels["le"]), sample.value))
            elif sample.name.endswith("_count"):
                count = sample.value
    over = {
        f">{bound * 1000:g}ms": int(count - below)
        for bound, below in buckets
        if bound != float("inf") and below < count
    }
    return {"samples": int(count), "over": over}


GENERATOR_LAG = "generator_loop_lag_seconds"


def generator_lag() -> tuple[LoopLagMonitor, CollectorRegistry]:
    """The benchmark process's own loop lag, sampled like the daemon's (started here)."""
    registry = CollectorRegistry()
    buckets = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
    monitor = LoopLagMonitor(Histogram(GENERATOR_LAG, "generator loop lag", buckets=buckets, registry=registry))
    monitor.start()
    return monitor, registry


async def report(
    conn: asyncpg.Connection,
    results: Iterable[CallResult],
    http_port: int | None,
    generator: tuple[LoopLagMonitor, CollectorRegistry] | None = None,
) -> dict[str, object]:
    """Cutoff error p50/p99/max (ms), the backstop-ended count, and the daemon's lag histograms."""
    backstop = {r.call_uuid for r in results if r.hangup_by == "sched_hangup"}
    rows = await conn.fetch(
        "SELECT call_uuid::text AS id, (end_us - deadline_us) / 1000.0 AS err_ms, ended_by FROM call_records"
        " WHERE deadline_us IS NOT NULL AND end_us IS NOT NULL"
    )
    cut = [float(r["err_ms"]) for r in rows if r["ended_by"] == "cutoff" or r["id"] in backstop]
    late = sorted((float(r["err_ms"]) for r in rows if r["id"] in backstop), reverse=True)
    out: dict[str, object] = {
        "cutoffs": len(cut),
        "cutoff_error_ms_p50_p99_max": [round(percentile(cut, q), 1) for q in (0.5, 0.99)]
        + [round(max(cut), 1) if cut else None],
        "ended_by_backstop": len(backstop),
        "backstop_errors_ms": [round(e, 1) for e in late[:10]],
    }
    if http_port is not None:
        text = await scrape(http_port)
        out["daemon_loop_lag"] = histogram(text, "calld_event_loop_lag_seconds")
        out["daemon_cut_sent_lag"] = histogram(text, "calld_cutoff_sent_lag_seconds")
        out["daemon_cut_lag"] = histogram(text, "calld_cutoff_lag_seconds")
    if generator is not None:
        monitor, registry = generator
        monitor.stop()
        out["generator_loop_lag"] = histogram(generate_latest(registry).decode(), GENERATOR_LAG)
    return out
