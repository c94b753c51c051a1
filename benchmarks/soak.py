"""Soak: hours of telephony in minutes — a realistic mix of calls kept in flight, then an audit.

    python -m benchmarks.soak [--minutes 10] [--concurrent 1000] [--callers 2×concurrent] [--ivr-share 0.25]

A daemon process on an embedded PostgreSQL takes calls from the emulator with
``--concurrent`` of them in flight for ``--minutes``.  The mix (per call, seeded):
``--ivr-share`` of the calls go to an IVR shop (menu, voicemail, forwarding, callers
hanging up mid-prompt: ``benchmarks.soak_ivr``), the rest to the Coaching Dial
(talks ended by either side or cut off at the balance, counsellors busy or not
answering, callers hanging up while keying or while it rings, deposits landing
during calls: ``benchmarks.soak_coaching``).  A Coaching caller has one call at a
time (the next call goes to a caller who is not in one).  Every 10 s it samples
the daemon's RSS, open file descriptors and database connections.  Afterwards:

* RSS after warm-up stays within ±5 % (the last third against the middle third);
* file descriptors and database connections are back where they were, and no
  event-socket session (each call's task tree) is left open;
* the prepaid cutoffs' precision (``benchmarks.cutoffs``): error p50/p99/max, how
  many FreeSWITCH's backstop ended instead of the daemon, the daemon's loop lag;
* every line is free (both tenants), every call record and every forwarded leg
  closed, each forwarded talk billed by its tariff, no prepaid balance below
  zero, every caller's ledger sums to their balance (the chaos audit), every
  voicemail's recording on disk.

Prints a JSON report, with ``mix``: how the calls went, as the callers heard it
(talked, cut off at the balance, refused busy / no money, IVR menu / voicemail /
forwarded, hung up early ...).  Exits non-zero if anything leaked or was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import sys
import time
from pathlib import Path

import asyncpg

from benchmarks import cutoffs, soak_coaching, soak_ivr
from benchmarks.chaos_kill import AUDIT_ZERO, audit
from benchmarks.coaching import populate
from benchmarks.harness import bench_database, daemon_env, daemon_status, machine, raise_fd_limit, rss_kib, stand_in_gc
from daemon.postgres.pool import reserve_of
from emulator import CallResult, FakeFreeSwitch
from tests.daemon_process import DaemonProcess


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Load:
    """The calls kept in flight, how each went, and the daemon's samples."""

    def __init__(self, fs: FakeFreeSwitch, args: argparse.Namespace, callers: list[int], rng: random.Random) -> None:
        self.fs, self.args, self.callers, self.rng = fs, args, callers, rng
        self.placed = 0
        self.idle = collections.deque(range(len(callers)))  # Coaching callers not in a call, longest idle first
        self.in_call: set[int] = set()  # their caller ids
        self.mix: collections.Counter[str] = collections.Counter()
        self.hung_up_by: collections.Counter[str] = collections.Counter()
        self.samples: list[tuple[float, int, int, int]] = []
        self.cut_or_backstop: list[CallResult] = []  # the daemon's uuid_kill or FreeSWITCH's sched_hangup ended it

    def talking(self, caller_id: int) -> bool:
        return caller_id in self.in_call

    async def coaching(self, i: int) -> CallResult:
        self.in_call.add(self.callers[i])
        try:
            result = await self.fs.place_call(soak_coaching.script(i, self.rng))
        finally:
            self.in_call.discard(self.callers[i])
            self.idle.append(i)
        self.mix[soak_coaching.outcome(result)] += 1
        if result.hangup_by == "sched_hangup" or result.kill_arrived is not None:
            self.cut_or_backstop.append(result)
        return result

    async def ivr(self, n: int) -> CallResult:
        result = await self.fs.place_call(soak_ivr.script(n, self.rng))
        self.mix[soak_ivr.outcome(result)] += 1
        return result

    async def one(self, n: int, gate: asyncio.Semaphore) -> None:
        try:
            if self.idle and self.rng.random() >= self.args.ivr_share:
                result = await self.coaching(self.idle.popleft())
            else:
                result = await self.ivr(n)
            self.hung_up_by[result.hangup_by or "?"] += 1
        finally:
            gate.release()

    async def run(self, until: float) -> None:
        gate = asyncio.Semaphore(self.args.concurrent)
        async with asyncio.TaskGroup() as tg:
            while time.perf_counter() < until:
                await gate.acquire()
                tg.create_task(self.one(self.placed, gate))
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
            *AUDIT_ZERO,
            "forward_legs_open",
            "forward_legs_misbilled",
            "voicemails_without_recording",
            "ivr_lines_taken",
            "esl_sessions_after",
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
    # the daemon's pool, the reserve on top of it (daemon.postgres.pool), its listener, the soak's own three
    if db[1] > POOL_SIZE + reserve_of(POOL_SIZE) + 5:
        problems.append("db_connection_leak")
    return problems


async def prepare(
    dsn: str, work: Path, args: argparse.Namespace, rng: random.Random
) -> tuple[int, soak_coaching.Money, list[int]]:
    """Both tenants: the Coaching Dial's callers (seeded with money) and the IVR shop."""
    tenant, callers = await populate(dsn, args.callers)
    conn = await asyncpg.connect(dsn)
    try:
        # a counsellor who misses three calls in a row goes off duty (the daemon's rule); with busy and
        # no answer drawn at random, more and more counsellors would be off for the rest of the soak
        await conn.execute("UPDATE counsellor_groups SET max_missed = 100 WHERE tenant_id = $1", tenant)
    finally:
        await conn.close()
    money = soak_coaching.Money(dsn, tenant, callers, rng, args.concurrent)
    await money.seed()
    shop = await soak_ivr.shop(dsn, work / "ivr-guidance", lines=args.concurrent * 2)
    return shop, money, callers


async def main(args: argparse.Namespace) -> int:
    raise_fd_limit()
    rng = random.Random(args.seed)
    report: dict[str, object] = {
        **machine(),
        "minutes": args.minutes,
        "concurrent": args.concurrent,
        "callers": args.callers,
        "ivr_share": args.ivr_share,
    }
    async with bench_database() as (dsn, work):
        shop, money, callers = await prepare(dsn, work, args, rng)
        daemon = DaemonProcess(daemon_env(dsn, work, node="soak", pool_size=POOL_SIZE))
        await daemon.start()
        assert daemon.proc is not None
        pid = daemon.proc.pid
        conn = await asyncpg.connect(dsn)
        fds_idle, db_idle = fd_count(pid), await conn.fetchval(DB_CONNECTIONS)
        load = Load(FakeFreeSwitch(port=daemon.esl_port, linger_scale=0.05, record_frames=False), args, callers, rng)
        stop = asyncio.Event()
        stand_in_gc()
        started = time.perf_counter()
        lag = cutoffs.generator_lag()
        try:
            depositor = asyncio.create_task(money.run(stop, load.talking))
            sampling = asyncio.create_task(load.sample(pid, conn, started, stop))
            await load.run(started + args.minutes * 60)
            stop.set()
            await depositor
            await sampling
            await asyncio.sleep(3)  # lines released in batches, sockets closed after linger
            report["calls_placed"] = load.placed
            report["calls_per_second"] = round(load.placed / (time.perf_counter() - started), 1)
            report["mix"] = dict(load.mix.most_common())
            report["deposits"] = {
                "top_ups_when_low": money.top_ups,
                "transfers_at_random": money.transfers,
                "during_calls": money.during_calls,
            }
            report["hung_up_by"] = dict(load.hung_up_by.most_common())
            report["ended_by"] = {
                r["ended_by"]: r["n"]
                for r in await conn.fetch("SELECT ended_by, count(*) AS n FROM call_records GROUP BY ended_by")
            }
            report["cutoff_precision"] = await cutoffs.report(conn, load.cut_or_backstop, daemon.http_port, lag)
            report["rss_kib_samples"] = [s[1] for s in load.samples]
            report["rss_drift_percent"] = round(rss_drift(load.samples) * 100, 2)
            report["fds_idle_before_after"] = [fds_idle, fd_count(pid)]
            report["db_connections_before_after"] = [db_idle, await conn.fetchval(DB_CONNECTIONS)]
            report["esl_sessions_after"] = (await daemon_status(daemon.http_port))["esl_sessions"]
            report |= await audit(conn)
            report |= await soak_ivr.audit(conn, shop)
        finally:
            stop.set()
            await conn.close()
            await daemon.stop()
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
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
    parser.add_argument("--callers", type=int, default=None, help="Coaching Dial callers (default: 2 × --concurrent)")
    parser.add_argument("--ivr-share", type=float, default=0.25, help="share of the calls that go to the IVR")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.callers is None:
        args.callers = 2 * args.concurrent
    sys.exit(asyncio.run(main(args)))


if __name__ == "__main__":
    cli()
