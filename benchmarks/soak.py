"""Soak: hours of telephony in minutes — a realistic mix of calls kept in flight, then an audit.

    python -m benchmarks.soak [--minutes 10] [--concurrent 1000] [--callers 1000]

A daemon process on an embedded PostgreSQL takes calls from the emulator with
``--concurrent`` of them in flight for ``--minutes``.  The mix (per call, seeded):
counsellors who answer and hang up after a while, callers whose money runs out
(cutoff), counsellors busy or not answering, callers who hang up while it rings,
and deposits landing during calls.  Every 10 s it samples the daemon's RSS,
open file descriptors and database connections.  Afterwards:

* RSS after warm-up stays within ±5 % (the last third against the middle third);
* file descriptors and database connections are back where they were;
* every line is free, every call record closed, no prepaid balance below zero,
  and every caller's ledger sums to their balance (the chaos audit).

Prints a JSON report; exits non-zero if anything leaked or was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
import uuid

import asyncpg

from benchmarks.chaos_kill import audit
from benchmarks.coaching import NUMBER, RATE, fund, populate
from benchmarks.harness import bench_database, daemon_env, machine, raise_fd_limit, rss_kib
from daemon.db import ledger
from emulator import CallerScript, FakeFreeSwitch, FarEnd, Keys
from tests.daemon_process import DaemonProcess


def script(i: int, rng: random.Random) -> CallerScript:
    roll = rng.random()
    far: FarEnd
    hangup_unanswered: float | None = None
    if roll < 0.10:
        far = FarEnd("busy")
    elif roll < 0.18:
        far = FarEnd("noanswer")
    elif roll < 0.25:
        far = FarEnd("answer", answer_after=3.0)
        hangup_unanswered = rng.uniform(0.5, 2.5)  # the caller gives up while it rings
    else:
        # talks until the counsellor hangs up, or until the money runs out (the caller gives up
        # after two minutes at the latest: deposits keep extending the money)
        far = FarEnd("answer", answer_after=rng.uniform(0.1, 1.0), hangup_after=rng.choice([None, rng.uniform(1, 20)]))
    return CallerScript(
        caller=f"090{i:08d}",
        destination=NUMBER,
        digits=[Keys(f"{100 + i}#", delay=0.05, interval=0.05)],
        far_ends={f"080{i:08d}": far},
        hangup_unanswered_after=hangup_unanswered,
        hangup_after_bridge=120.0,
    )


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def deposits(dsn: str, tenant: int, callers: list[int], stop: asyncio.Event, rng: random.Random) -> int:
    """An operator typing in bank transfers while calls run."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    made = 0
    try:
        while not stop.is_set():
            await ledger.post(
                pool, tenant, rng.choice(callers), "deposit", rng.randint(50, 300), idempotency_key=uuid.uuid4().hex
            )
            made += 1
            await asyncio.sleep(0.2)
    finally:
        await pool.close()
    return made


class Load:
    """The calls kept in flight, the outcomes, and the daemon's samples."""

    def __init__(self, fs: FakeFreeSwitch, args: argparse.Namespace, rng: random.Random) -> None:
        self.fs, self.args, self.rng = fs, args, rng
        self.placed = 0
        self.outcomes: dict[str, int] = {}
        self.samples: list[tuple[float, int, int, int]] = []

    async def one(self, i: int, gate: asyncio.Semaphore) -> None:
        try:
            result = await self.fs.place_call(script(i, self.rng))
            key = result.hangup_by or "?"
            self.outcomes[key] = self.outcomes.get(key, 0) + 1
        finally:
            gate.release()

    async def run(self, until: float) -> None:
        gate = asyncio.Semaphore(self.args.concurrent)
        async with asyncio.TaskGroup() as tg:
            while time.perf_counter() < until:
                await gate.acquire()
                tg.create_task(self.one(self.placed % self.args.callers, gate))
                self.placed += 1

    async def sample(self, pid: int, conn: asyncpg.Connection, started: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            connections = await conn.fetchval(DB_CONNECTIONS)
            self.samples.append((time.perf_counter() - started, rss_kib(pid), fd_count(pid), connections))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 10)


POOL_SIZE = 40
DB_CONNECTIONS = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"


def rss_drift(samples: list[tuple[float, int, int, int]]) -> float:
    """The last third's mean RSS against the middle third's (the first third is warm-up)."""
    third = max(1, len(samples) // 3)
    middle = [s[1] for s in samples[third : 2 * third]] or [samples[-1][1]]
    last = [s[1] for s in samples[2 * third :]] or [samples[-1][1]]
    return (sum(last) / len(last)) / (sum(middle) / len(middle)) - 1


def verdict(report: dict[str, object]) -> list[str]:
    problems = [
        k
        for k in (
            "records_open",
            "charges_twice",
            "balances_below_zero",
            "ledger_not_balance",
            "lines_taken",
            "counsellors_claimed",
        )
        if report.get(k)
    ]
    if abs(float(str(report["rss_drift_percent"]))) > 5:
        problems.append("rss_drift")
    fds, db = report["fds_idle_before_after"], report["db_connections_before_after"]
    assert isinstance(fds, list) and isinstance(db, list)
    # the pool grows to its size and keeps idle connections (one fd each): that is not a leak,
    # anything else that stays open is
    if (fds[1] - fds[0]) - (db[1] - db[0]) > 5:
        problems.append("fd_leak")
    if db[1] > POOL_SIZE + 5:  # the daemon's pool and listener, the soak's own three
        problems.append("db_connection_leak")
    return problems


async def main(args: argparse.Namespace) -> int:
    raise_fd_limit()
    rng = random.Random(args.seed)
    report: dict[str, object] = {**machine(), "minutes": args.minutes, "concurrent": args.concurrent}
    async with bench_database() as (dsn, work):
        tenant, callers = await populate(dsn, args.callers)
        await fund(dsn, tenant, callers, RATE * 30 // 60)  # 30 s each to start with
        daemon = DaemonProcess(daemon_env(dsn, work, node="soak", pool_size=POOL_SIZE))
        await daemon.start()
        assert daemon.proc is not None
        pid = daemon.proc.pid
        conn = await asyncpg.connect(dsn)
        fds_idle, db_idle = fd_count(pid), await conn.fetchval(DB_CONNECTIONS)
        load = Load(FakeFreeSwitch(port=daemon.esl_port, linger_scale=0.05, record_frames=False), args, rng)
        stop = asyncio.Event()
        started = time.perf_counter()
        try:
            depositor = asyncio.create_task(deposits(dsn, tenant, callers, stop, rng))
            sampling = asyncio.create_task(load.sample(pid, conn, started, stop))
            await load.run(started + args.minutes * 60)
            stop.set()
            report["deposits_during_calls"] = await depositor
            await sampling
            await asyncio.sleep(3)  # lines released in batches, sockets closed after linger
            report["calls_placed"] = load.placed
            report["calls_per_second"] = round(load.placed / (time.perf_counter() - started), 1)
            report["hung_up_by"] = load.outcomes
            report["ended_by"] = {
                r["ended_by"]: r["n"]
                for r in await conn.fetch("SELECT ended_by, count(*) AS n FROM call_records GROUP BY ended_by")
            }
            report["rss_kib_samples"] = [s[1] for s in load.samples]
            report["rss_drift_percent"] = round(rss_drift(load.samples) * 100, 2)
            report["fds_idle_before_after"] = [fds_idle, fd_count(pid)]
            report["db_connections_before_after"] = [db_idle, await conn.fetchval(DB_CONNECTIONS)]
            report |= await audit(conn)
        finally:
            stop.set()
            await conn.close()
            await daemon.stop()
    print(json.dumps(report, indent=2))
    problems = verdict(report)
    if problems:
        print(f"FAILED: {problems}", file=sys.stderr)
        return 1
    return 0


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--concurrent", type=int, default=1000)
    parser.add_argument("--callers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    sys.exit(asyncio.run(main(parser.parse_args())))


if __name__ == "__main__":
    cli()
