"""Call set-up benchmark: the daemon as a real process, driven by the FreeSWITCH emulator.

    python -m benchmarks.setup_rate [--calls 5000] [--concurrent 5000]

Phases (each prints one line; results go to BENCHMARKS.md by hand):

1. **sustained set-ups/s**: ``--calls`` calls as fast as the emulator can place
   them (at most ``--inflight`` at once); a call is answer → short guidance →
   hangup, with line admission and release in PostgreSQL (the ``ivr`` product's
   interim flow).  The daemon's CPU time per call (user + system, from /proc) is
   printed too: unlike the rate it hardly moves when other work shares the cores;
   and the database round trips per call (transactions the database counted,
   ``pg_stat_database``: every statement of the daemon is one).
2. **latency at 100 set-ups/s**: connect→first-command (emulator side: from
   writing the CHANNEL_DATA reply to reading the daemon's first sendmsg/api,
   i.e. including the admission round trip), p50/p99.
3. **concurrent sessions**: ``--concurrent`` calls arriving at ``--ramp-rate``
   per second that stay up (a long guidance); the daemon's RSS growth, measured
   once they are all up and settled, divided by the sessions is the memory per
   session.

The daemon runs in its own process; the emulator runs in this process; both
share the machine with PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics

import asyncpg

from benchmarks.harness import (
    bench_database,
    cpu_seconds,
    daemon_env,
    machine,
    percentile,
    place_many,
    raise_fd_limit,
    rss_kib,
)
from emulator import CallerScript, CallResult, FakeFreeSwitch
from tests.daemon_process import DaemonProcess

NUMBER = "0312345678"


async def prepare_database(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        tenant = await conn.fetchval("INSERT INTO tenants (name) VALUES ('bench') RETURNING id")
        await conn.execute("INSERT INTO line_contracts (tenant_id, lines) VALUES ($1, 100000)", tenant)
        await conn.execute("INSERT INTO numbers (number, tenant_id, product) VALUES ($1, $2, 'ivr')", NUMBER, tenant)
    finally:
        await conn.close()


async def transactions(dsn: str) -> int:
    """Transactions the database has counted so far (committed and rolled back).

    Backends report their counts when idle, at most once a second: read after a pause.
    """
    conn = await asyncpg.connect(dsn)
    try:
        await asyncio.sleep(1.5)
        count: int = await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        )
        return count
    finally:
        await conn.close()


def latencies_ms(results: list[CallResult]) -> list[float]:
    return [r.first_command_latency * 1000 for r in results if r.first_command_latency is not None]


async def rate_and_latency(dsn: str, env: dict[str, str], args: argparse.Namespace) -> dict[str, object]:
    report: dict[str, object] = {}
    daemon = DaemonProcess(env)
    await daemon.start()
    try:
        fs = FakeFreeSwitch(port=daemon.esl_port, linger_scale=0.0, record_frames=False)
        script = CallerScript(destination=NUMBER)
        assert daemon.proc is not None
        await place_many(fs, [script] * 200, 100)  # warm-up
        xacts_before = await transactions(dsn)
        cpu_before = cpu_seconds(daemon.proc.pid)
        results, elapsed = await place_many(fs, [script] * args.calls, args.inflight)
        cpu_per_call_ms = (cpu_seconds(daemon.proc.pid) - cpu_before) / len(results) * 1000
        # the two reads are transactions of their own
        round_trips = (await transactions(dsn) - xacts_before - 1) / len(results)
        ok = sum(1 for r in results if not r.errors and r.apps)
        report["setups_per_second"] = round(ok / elapsed, 1)
        report["setups_ok"] = f"{ok}/{len(results)}"
        report["daemon_cpu_ms_per_call"] = round(cpu_per_call_ms, 3)
        report["db_round_trips_per_call"] = round(round_trips, 3)
        print(
            f"sustained: {ok} calls in {elapsed:.2f} s = {ok / elapsed:.0f} set-ups/s;"
            f" daemon CPU {cpu_per_call_ms:.3f} ms per call; {round_trips:.3f} database round trips per call",
            flush=True,
        )

        results, _ = await place_many(fs, [script] * int(100 * args.latency_seconds), 1000, rate=100.0)
        lat = latencies_ms(results)
        report["p50_ms_at_100cps"] = round(percentile(lat, 0.5), 3)
        report["p99_ms_at_100cps"] = round(percentile(lat, 0.99), 3)
        report["mean_ms_at_100cps"] = round(statistics.fmean(lat), 3) if lat else None
        print(f"latency at 100/s: p50 {report['p50_ms_at_100cps']} ms, p99 {report['p99_ms_at_100cps']} ms", flush=True)
    finally:
        await daemon.stop()
    return report


async def concurrency(env: dict[str, str], args: argparse.Namespace) -> dict[str, object]:
    daemon = DaemonProcess(env)
    await daemon.start()
    assert daemon.proc is not None
    try:
        await asyncio.sleep(1.0)
        base = rss_kib(daemon.proc.pid)
        fs = FakeFreeSwitch(port=daemon.esl_port, linger_scale=0.0, record_frames=False)
        ramp = args.concurrent / args.ramp_rate
        hold = CallerScript(destination=NUMBER, hangup_after=ramp + 5.0)
        placing = asyncio.create_task(place_many(fs, [hold] * args.concurrent, args.concurrent, rate=args.ramp_rate))
        await asyncio.sleep(ramp + 2.5)  # all up and settled, none gone yet
        settled = rss_kib(daemon.proc.pid)
        done, _elapsed = await placing
        answered = sum(1 for r in done if r.answered)
        per_session = (settled - base) / max(answered, 1)
        print(f"concurrent: {answered} sessions, {per_session:.1f} KiB each", flush=True)
        return {
            "concurrent_sessions": answered,
            "daemon_rss_idle_kib": base,
            "daemon_rss_with_sessions_kib": settled,
            "kib_per_session": round(per_session, 2),
        }
    finally:
        await daemon.stop()


async def main(args: argparse.Namespace) -> dict[str, object]:
    raise_fd_limit()
    report = machine()
    async with bench_database() as (dsn, work):
        await prepare_database(dsn)
        report |= await rate_and_latency(dsn, daemon_env(dsn, work, node="rate"), args)
        if args.concurrent:
            hold_prompt = args.concurrent / args.ramp_rate + 30.0
            report |= await concurrency(daemon_env(dsn, work, node="hold", greeting=hold_prompt), args)
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return report


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--inflight", type=int, default=200)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--concurrent", type=int, default=5000, help="0 skips the concurrency phase")
    parser.add_argument("--ramp-rate", type=float, default=500.0, help="concurrent calls arrive at this rate")
    report = asyncio.run(main(parser.parse_args()))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    cli()
