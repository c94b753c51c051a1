"""Prepaid cutoff precision of one run: how late each talk ended, and who ended it.

A talk ended for money is ended either by the daemon's cut (``ended_by =
'cutoff'``) or, when that cut came ≥ 200 ms late, by FreeSWITCH's ``sched_hangup``
backstop.  The error is reported two ways (:func:`report`): as the emulator ran it
(the talk's end in its timestamps, quantised to its 20 ms clock like the real one,
minus the deadline the daemon armed) and as the kill arrived (the kernel's receive
stamp of the daemon's ``uuid_kill``, ``emulator.arrival``).  The emulated FreeSWITCH
runs in a benchmark process whose loop is late under load (:func:`generator_lag`);
a real one acts on the kill in its own thread, so the second figure is the daemon's
and the gap between them is the stand-in's.  Who ended the talk is decided the same
way: the backstop only if it came due before the kill arrived.  Beside it, the
daemon's own view from ``/metrics``: the event loop's lag, the cut's sent lag (timer
due → ``uuid_kill`` written) and its lag (→ answered).
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


def backstop_first(result: CallResult) -> bool:
    """FreeSWITCH's backstop ended the talk: it came due before the daemon's kill arrived.

    A real FreeSWITCH runs the kill in the event socket's thread as it arrives and the
    backstop in its scheduler's thread when due, so the earlier of the two ends the talk
    (``emulator.arrival``).  A backstop that fired after the kill had arrived ended only
    the caller's leg, after the talk: the goodbye, in the emulator also the end of a
    bridge it had not yet run because its loop was late.
    """
    if result.backstop_due is None:
        return False
    return result.kill_arrived is None or result.kill_arrived >= result.backstop_due


def _spread(values: list[float]) -> list[float | None]:
    """p50, p99, max (ms, rounded)."""
    return [round(percentile(values, q), 1) for q in (0.5, 0.99)] + [round(max(values), 1) if values else None]


async def report(
    conn: asyncpg.Connection,
    results: Iterable[CallResult],
    http_port: int | None,
    generator: tuple[LoopLagMonitor, CollectorRegistry] | None = None,
) -> dict[str, object]:
    """Cutoff error p50/p99/max (ms) both ways, the backstop-ended counts, and the lag histograms.

    ``results``: the emulator's results of (at least) the talks ended for money.  Two errors:

    * *as run*: the talk's end in the emulator's timestamps (CHANNEL_UNBRIDGE, what the call
      record holds) minus the deadline: the daemon's lateness plus the emulator's own;
    * *as arrived*: when the daemon's ``uuid_kill`` reached the emulator's socket (the
      kernel's stamp), or when the backstop came due if that was first, minus the
      deadline: what a FreeSWITCH acting on the kill in its own thread would show.
    """
    by_call = {r.call_uuid: r for r in results}
    backstop = {u for u, r in by_call.items() if r.hangup_by == "sched_hangup"}
    rows = await conn.fetch(
        "SELECT call_uuid::text AS id, deadline_us, (end_us - deadline_us) / 1000.0 AS err_ms, ended_by"
        " FROM call_records WHERE deadline_us IS NOT NULL AND end_us IS NOT NULL"
    )
    money = [r for r in rows if r["ended_by"] == "cutoff" or r["id"] in backstop]
    cut = [float(r["err_ms"]) for r in money]
    late = sorted((float(r["err_ms"]) for r in money if r["id"] in backstop), reverse=True)
    arrived: list[float] = []
    read_late: list[float] = []  # the emulator's loop: kill run minus kill arrived
    first = 0
    for row in money:
        result = by_call.get(row["id"])
        if result is None:
            continue
        deadline = row["deadline_us"] / 1e6
        if backstop_first(result):
            first += 1
            assert result.backstop_due is not None
            arrived.append((result.backstop_due - deadline) * 1000)
        elif result.kill_arrived is not None:
            arrived.append((result.kill_arrived - deadline) * 1000)
        if result.kill_arrived is not None and result.kill_run is not None:
            read_late.append((result.kill_run - result.kill_arrived) * 1000)
    out: dict[str, object] = {
        "cutoffs": len(cut),
        "cutoff_error_ms_p50_p99_max": _spread(cut),
        "cutoff_error_as_arrived_ms_p50_p99_max": _spread(arrived),
        "cutoff_error_as_arrived_measured": len(arrived),
        "emulator_kill_read_late_ms_p50_p99_max": _spread(read_late),
        "ended_by_backstop": first,
        "ended_by_backstop_as_run": len(backstop),  # the emulator's sched_hangup ended the caller's leg
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
