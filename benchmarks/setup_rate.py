"""Call set-up benchmark: the daemon as a real process, driven by the FreeSWITCH emulator.

    python -m benchmarks.setup_rate [--calls 5000] [--concurrent 5000] [--flow ivr|coaching]

Phases (each prints one line; results go to BENCHMARKS.md by hand):

1. **sustained set-ups/s**: ``--calls`` calls as fast as the emulator can place
   them (at most ``--inflight`` at once); a call is answer → short guidance →
   hangup, with line admission and release in PostgreSQL.
2. **latency at 100 set-ups/s**: connect→first-command (emulator side: from
   writing the CHANNEL_DATA reply to reading the daemon's first sendmsg/api),
   p50/p99, for ``--latency-seconds`` at 100 calls/s.
3. **concurrent sessions**: ``--concurrent`` calls that stay up (a long
   guidance); the daemon's RSS growth divided by the sessions is the memory per
   session.

The daemon runs in its own process against the embedded PostgreSQL; the emulator
runs in this process.  On a 2-core machine all three share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from daemon.db.embedded import EmbeddedPostgres
from daemon.db.migrate import migrate
from emulator import CallerScript, CallResult, FakeFreeSwitch
from tests.daemon_process import DaemonProcess
from tests.stand_in_prompts import write_prompts

NUMBER = "0312345678"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def prepare_database(dsn: str, flow: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        tenant = await conn.fetchval("INSERT INTO tenants (name) VALUES ('bench') RETURNING id")
        await conn.execute("INSERT INTO line_contracts (tenant_id, lines) VALUES ($1, 100000)", tenant)
        await conn.execute("INSERT INTO numbers (number, tenant_id, product) VALUES ($1, $2, $3)", NUMBER, tenant, flow)
    finally:
        await conn.close()


async def place_many(
    fs: FakeFreeSwitch, count: int, inflight: int, script: CallerScript, rate: float | None = None
) -> tuple[list[CallResult], float]:
    gate = asyncio.Semaphore(inflight)
    results: list[CallResult] = []

    async def one() -> None:
        try:
            results.append(await fs.place_call(script))
        finally:
            gate.release()

    started = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for i in range(count):
            await gate.acquire()
            if rate is not None:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            tg.create_task(one())
    return results, time.perf_counter() - started


def latencies_ms(results: list[CallResult]) -> list[float]:
    return [r.first_command_latency * 1000 for r in results if r.first_command_latency is not None]


async def main(args: argparse.Namespace) -> dict[str, object]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = Path(tempfile.mkdtemp(prefix="calld-bench-"))
    pg = await asyncio.to_thread(EmbeddedPostgres, work / "pgdata", delete_on_stop=True)
    report: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "flow": args.flow,
    }
    try:
        await prepare_database(pg.dsn, args.flow)
        quick = write_prompts(work / "quick", seconds=0.02)
        daemon = DaemonProcess(
            {
                "CALLD_DATABASE_URL": pg.dsn,
                "CALLD_PROMPTS_DIR": str(quick),
                "CALLD_GENERATE_PROMPTS": "false",
                "CALLD_NODE_ID": f"bench-{uuid.uuid4().hex[:6]}",
                "CALLD_DB_POOL_SIZE": "20",
                "CALLD_LOG_LEVEL": "error",
            }
        )
        await daemon.start()
        assert daemon.proc is not None
        try:
            fs = FakeFreeSwitch(port=daemon.esl_port, linger_scale=0.0, record_frames=False)
            script = CallerScript(destination=NUMBER)
            await place_many(fs, 200, 100, script)  # warm-up
            results, elapsed = await place_many(fs, args.calls, args.inflight, script)
            ok = sum(1 for r in results if not r.errors and r.apps)
            lat = latencies_ms(results)
            report["setups_per_second"] = round(ok / elapsed, 1)
            report["setups_ok"] = ok
            report["setups_total"] = len(results)
            report["p50_ms_at_max_rate"] = round(percentile(lat, 0.5), 3)
            report["p99_ms_at_max_rate"] = round(percentile(lat, 0.99), 3)
            print(f"sustained: {ok} calls in {elapsed:.2f} s = {ok / elapsed:.0f} set-ups/s", flush=True)

            results, _ = await place_many(fs, int(100 * args.latency_seconds), 1000, script, rate=100.0)
            lat = latencies_ms(results)
            report["p50_ms_at_100cps"] = round(percentile(lat, 0.5), 3)
            report["p99_ms_at_100cps"] = round(percentile(lat, 0.99), 3)
            report["mean_ms_at_100cps"] = round(statistics.fmean(lat), 3) if lat else None
            print(
                f"latency at 100/s: p50 {report['p50_ms_at_100cps']} ms, p99 {report['p99_ms_at_100cps']} ms",
                flush=True,
            )
        finally:
            await daemon.stop()

        # concurrent sessions: a fresh daemon whose welcome lasts long enough to hold them all
        hold = write_prompts(work / "hold", seconds=0.02, welcome=args.hold_seconds)
        daemon = DaemonProcess({**daemon.env, "CALLD_PROMPTS_DIR": str(hold)})
        await daemon.start()
        assert daemon.proc is not None
        try:
            await asyncio.sleep(1.0)
            base = rss_kib(daemon.proc.pid)
            fs = FakeFreeSwitch(port=daemon.esl_port, linger_scale=0.0, record_frames=False)
            calls = [
                asyncio.create_task(fs.place_call(CallerScript(destination=NUMBER, hangup_after=args.hold_seconds / 2)))
                for _ in range(args.concurrent)
            ]
            peak_rss = base
            until = time.perf_counter() + args.hold_seconds / 2
            while time.perf_counter() < until:
                await asyncio.sleep(0.5)
                peak_rss = max(peak_rss, rss_kib(daemon.proc.pid))
            done = await asyncio.gather(*calls)
            answered = sum(1 for r in done if r.answered)
            report["concurrent_sessions"] = answered
            report["daemon_rss_base_kib"] = base
            report["daemon_rss_peak_kib"] = peak_rss
            report["kib_per_session"] = round((peak_rss - base) / max(answered, 1), 2)
            print(f"concurrent: {answered} sessions, {report['kib_per_session']} KiB each", flush=True)
        finally:
            await daemon.stop()
    finally:
        await asyncio.to_thread(pg.stop)
    return report


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--inflight", type=int, default=200)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--concurrent", type=int, default=5000)
    parser.add_argument("--hold-seconds", type=float, default=30.0)
    parser.add_argument("--flow", choices=["ivr"], default="ivr")
    report = asyncio.run(main(parser.parse_args()))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    cli()
