"""Prepaid cutoffs under set-up load: ``--calls`` live prepaid talks cut off while set-ups run at ``--rate``/s.

    python -m benchmarks.cutoff_load [--calls 1000] [--rate 300] [--talk 10] [--spread 15]

``--calls`` Coaching Dial callers (``benchmarks.coaching.populate``: one-member
groups, 600 yen/min, a warning 2 s before the end) arrive within 5 s; caller i
has money for ``talk + spread × i / calls`` seconds, nobody hangs up, so every
talk is ended for money, the deadlines spread over ``--spread`` seconds.  From the
first call to the last deadline, a second tenant's IVR number takes set-ups
(answer → guidance → hang-up, line admission and release in PostgreSQL) at
``--rate`` per second, placed by a second process with the lean generator of
``make bench-peers`` (``emulator.fast.LoadSwitch``: FreeSWITCH's outbound socket
from the real transcripts, with the 20 ms media tick; the whole emulator took
more CPU per call than the daemon, and on 2 cores the set-ups never reached
300/s).  Reported (``benchmarks.cutoffs``): the cutoff error p50/p99/max, how
many talks FreeSWITCH's backstop ended instead of the daemon, the daemon's loop
lag and cut lag, and the set-up rate reached (set-ups done ÷ the seconds they
took).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid

import asyncpg

from benchmarks import coaching, cutoffs
from benchmarks.harness import bench_database, daemon_env, machine, place_many, raise_fd_limit, stand_in_gc
from daemon.repositories import ledger
from emulator import FakeFreeSwitch
from emulator.fast import LoadSwitch
from tests.daemon_process import DaemonProcess

SETUP_NUMBER = "0398765432"
INFLIGHT = 600  # set-ups in flight at most (a machine that cannot keep up takes longer, not a pile-up)


async def prepare(dsn: str, args: argparse.Namespace) -> None:
    tenant, callers = await coaching.populate(dsn, args.calls)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    assert pool is not None
    try:
        for i, caller in enumerate(callers):
            seconds = args.talk + args.spread * i / args.calls
            yen = int(coaching.RATE * seconds / 60)
            await ledger.post(pool, tenant, caller, "deposit", yen, idempotency_key=uuid.uuid4().hex)
        shop = await pool.fetchval("INSERT INTO tenants (name) VALUES ('setups') RETURNING id")
        await pool.execute("INSERT INTO line_contracts (tenant_id, lines) VALUES ($1, 100000)", shop)
        await pool.execute(
            "INSERT INTO numbers (number, tenant_id, product) VALUES ($1, $2, 'ivr')", SETUP_NUMBER, shop
        )
    finally:
        await pool.close()


async def setups_only(port: int, rate: float, seconds: float) -> None:
    """The set-up stream alone (``--setups-only``, a process of its own): prints ``placed ok elapsed``."""
    generator = LoadSwitch(port=port, destination=SETUP_NUMBER)
    tally = await generator.place(int(rate * seconds), INFLIGHT, rate=rate)
    print(tally.placed, tally.ok, tally.elapsed, flush=True)


async def setups_process(port: int, rate: float, seconds: float) -> tuple[int, int, float]:
    """Run :func:`setups_only` in a second process, so this process's emulator only carries the talks
    (one Python process emulating FreeSWITCH for both fell behind by hundreds of ms)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.cutoff_load",
        "--setups-only",
        f"--port={port}",
        f"--rate={rate}",
        f"--seconds={seconds}",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    placed, ok, elapsed = out.split()[-3:]
    return int(placed), int(ok), float(elapsed)


async def main(args: argparse.Namespace) -> dict[str, object]:
    raise_fd_limit()
    report: dict[str, object] = {**machine(), "calls": args.calls, "setup_rate_asked": args.rate}
    async with bench_database() as (dsn, work):
        await prepare(dsn, args)
        daemon = DaemonProcess(daemon_env(dsn, work, node="cutload", pool_size=40))
        await daemon.start()
        try:
            fs = FakeFreeSwitch(port=daemon.esl_port, linger_scale=0.0, record_frames=False)
            talks = [coaching.script(i, None) for i in range(args.calls)]
            stand_in_gc()
            started = time.perf_counter()
            lag = cutoffs.generator_lag()
            prepaid = asyncio.create_task(place_many(fs, talks, args.calls, rate=args.calls / 5.0))
            window = 5.0 + args.talk + args.spread + 1.0  # arrivals, the longest money, the cut
            placed, ok, took = await setups_process(daemon.esl_port, args.rate, window)
            talked, _ = await prepaid
            elapsed = time.perf_counter() - started
            report["setups_per_second"] = round(ok / took, 1)
            report["setups_ok"] = f"{ok}/{placed}"
            report["seconds"] = round(elapsed, 1)
            conn = await asyncpg.connect(dsn)
            try:
                report |= await cutoffs.report(conn, talked, daemon.http_port, lag)
                report["balances_below_zero"] = await conn.fetchval(
                    "SELECT count(*) FROM callers WHERE balance_yen < 0"
                )
            finally:
                await conn.close()
        finally:
            await daemon.stop()
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return report


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--setups-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=300.0, help="set-ups per second meanwhile")
    parser.add_argument("--talk", type=float, default=10.0, help="seconds of money of the first caller")
    parser.add_argument("--spread", type=float, default=15.0, help="the last caller has this much more")
    args = parser.parse_args()
    if args.setups_only:
        asyncio.run(setups_only(args.port, args.rate, args.seconds))
        return
    report = asyncio.run(main(args))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    cli()
