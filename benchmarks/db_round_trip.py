"""What one round trip to the embedded PostgreSQL costs on this machine, busy and idle.

    python -m benchmarks.db_round_trip [--queries 500] [--gaps-ms 0,10]

Connect → first command at 100 set-ups/s (``bench_peers``) holds a line admission: one
round trip to PostgreSQL.  How long that takes depends less on the query than on the
machine: a process that has slept must be woken, and on a virtual machine whose vCPUs
halt when idle that costs more than the query.  This times ``SELECT 1`` and the
admission's own statement (``admit_caller``, then ``release_call`` outside the timing)
from one asyncpg pool, one after the other (gap 0: both processes stay hot) and with a
pause between them (a gap of 10 ms is 100 set-ups/s: both sides idle in between), with
this process and the PostgreSQL processes on CPU 0 as ``bench_peers`` pins them, and
unpinned.  p50/p90/p99 in ms, the first tenth of each series left out as warm-up.
Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

import asyncpg

from benchmarks.bench_peers import SERVER_CPU, pin, postgres_pids
from benchmarks.harness import bench_database, machine, percentile
from benchmarks.setup_rate import NUMBER, prepare_database

CALLER = "0312345678"


async def series(pool: asyncpg.Pool, statement: str, queries: int, gap: float) -> dict[str, float]:
    took: list[float] = []
    for _ in range(queries):
        if statement == "admit":
            call = uuid.uuid4()
            started = time.perf_counter()
            await pool.fetch("SELECT * FROM admit_caller($1, $2, $3, $4)", call, NUMBER, "probe", CALLER)
            took.append(time.perf_counter() - started)
            await pool.fetchval("SELECT release_call($1)", call)
        else:
            started = time.perf_counter()
            await pool.fetchval("SELECT 1")
            took.append(time.perf_counter() - started)
        if gap:
            await asyncio.sleep(gap)
    kept = [t * 1000 for t in took[queries // 10 :]]
    return {f"p{int(q * 100)}_ms": round(percentile(kept, q), 3) for q in (0.5, 0.9, 0.99)}


async def main(args: argparse.Namespace) -> dict[str, object]:
    report: dict[str, object] = {**machine(), "queries": args.queries}
    everywhere = set(range(os.cpu_count() or 1))
    async with bench_database() as (dsn, work):
        await prepare_database(dsn)
        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=2)
        assert pool is not None
        try:
            for placement in ("pinned", "unpinned"):
                cpus = SERVER_CPU if placement == "pinned" else everywhere
                for pid in [os.getpid(), *postgres_pids(work / "pgdata")]:
                    pin(pid, cpus)
                for gap_ms in args.gaps_ms:
                    for statement in ("select 1", "admit"):
                        key = f"{placement}, gap {gap_ms:g} ms, {statement}"
                        report[key] = await series(pool, statement, args.queries, gap_ms / 1000)
                        print(key, report[key], flush=True)
        finally:
            await pool.close()
    return report


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument(
        "--gaps-ms", type=lambda text: [float(g) for g in text.split(",")], default=[0.0, 10.0], help="e.g. 0,10"
    )
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))


if __name__ == "__main__":
    cli()
