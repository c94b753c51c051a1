"""PostgreSQL away under load: stop it for 10 s and start it again, then make it hang for 10 s.

    python -m benchmarks.db_outage [--calls 30] [--outage-seconds 10]

One daemon process, the emulated FreeSWITCH, and an embedded PostgreSQL this
command owns.  Each phase: ``--calls`` prepaid consultations are talking (money
for 12–18 s each; half the callers hang up during the outage), then the database
goes away for ``--outage-seconds``:

* **stop**: a fast shutdown of the server (what ``EmbeddedPostgres.stop`` does),
  then the same data dir is started again (same Unix socket, same DSN);
* **hang**: the postmaster and every backend get SIGSTOP (the server accepts
  nothing and closes nothing), then SIGCONT.

Meanwhile a new call arrives every 0.5 s and ``/status`` is polled.  Promises,
checked after each phase (exit status 1 if any is broken):

* a call arriving during the outage hears "temporarily unavailable" as early
  media and ends NORMAL_TEMPORARY_FAILURE / SIP 503, never answered; during the
  hang the refusal comes within ``CALLD_DB_TIMEOUT_SECONDS`` (+ slack);
* talking calls are cut on time (the cut-off's end within ``--tolerance-ms`` of
  its deadline) by the daemon itself, not by FreeSWITCH's backstop (the caller
  hears why), none billed past its deadline;
* nothing lost: every record closed, one charge per answered call, ledger =
  balance for every caller, no prepaid balance below zero, no line or counsellor
  left taken (:func:`benchmarks.chaos_kill.audit`);
* recovery by itself: ``/status`` 503 during the outage and 200 after, a new call
  admitted again, a fresh heartbeat and the LISTEN hub's connection back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from benchmarks.chaos_kill import ZERO_AFTER_FAULTS, audit, billed_past_deadline
from benchmarks.coaching import NUMBER, RATE, fund, populate
from benchmarks.harness import daemon_env, machine, percentile, raise_fd_limit
from daemon.logs import configure
from daemon.postgres.embedded import EmbeddedPostgres
from daemon.postgres.migrate import migrate
from daemon.repositories import ledger
from emulator import CallerScript, CallResult, FakeFreeSwitch, FarEnd, Keys
from tests.daemon_process import DaemonProcess

DB_TIMEOUT = 2.0  # CALLD_DB_TIMEOUT_SECONDS of the daemon under test
REFUSAL_SLACK = 1.0  # the "unavailable" guidance and the emulator's own steps
ARRIVAL_SECONDS = 0.5  # a new call this often during the outage
STATUS_POLL_SECONDS = 0.5
RECOVERY_WITHIN = 60.0  # every "comes back by itself" wait is bounded by this


class Database:
    """The embedded server of ``pgdata``, stopped and started (or frozen) on demand."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.pg = EmbeddedPostgres(pgdata)
        self.dsn = self.pg.dsn

    def stop(self) -> None:
        self.pg.stop()

    def start(self) -> None:
        self.pg = EmbeddedPostgres(self.pgdata)
        if self.pg.dsn != self.dsn:
            raise RuntimeError(f"the DSN changed: {self.dsn} -> {self.pg.dsn}")

    def processes(self) -> list[int]:
        """The postmaster, then every process it forked (backends, checkpointer, WAL writer …)."""
        postmaster = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(stat.read_text().rpartition(")")[2].split()[1]) == postmaster:
                    children.append(int(stat.parent.name))
        return [postmaster, *children]

    def freeze(self) -> list[int]:
        pids = self.processes()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        return pids

    @staticmethod
    def thaw(pids: list[int]) -> None:
        for pid in reversed(pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def remove(self) -> None:
        self.pg.delete_on_stop = True
        self.pg.stop()


async def http_status(port: int, within: float = 5.0) -> int | None:
    """The status code of ``GET /status``, or None if no answer came ``within`` seconds."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), within)
        try:
            writer.write(b"GET /status HTTP/1.0\r\n\r\n")
            head = await asyncio.wait_for(reader.readline(), within)
        finally:
            writer.close()
        return int(head.split()[1])
    except (OSError, TimeoutError, ValueError, IndexError):
        return None


def talker(i: int, hangup_after: float | None) -> CallerScript:
    return CallerScript(
        caller=f"090{i:08d}",
        destination=NUMBER,
        digits=[Keys(f"{100 + i}#", delay=0.05, interval=0.05)],
        far_ends={f"080{i:08d}": FarEnd("answer", answer_after=0.1)},
        hangup_after_bridge=hangup_after,
    )


def prober(i: int) -> CallerScript:
    """A new call: talks 0.5 s if admitted (the counsellor hangs up)."""
    return CallerScript(
        caller=f"090{i:08d}",
        destination=NUMBER,
        digits=[Keys(f"{100 + i}#", delay=0.05, interval=0.05)],
        far_ends={f"080{i:08d}": FarEnd("answer", answer_after=0.1, hangup_after=0.5)},
    )


def refused_unavailable(r: CallResult) -> bool:
    heard = any(app == "playback" and arg and "unavailable" in arg for app, arg in r.apps)
    return (
        heard
        and not r.answered
        and r.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
        and r.sip_responses[-1:] == [503]
        and 183 in r.sip_responses
    )


def admitted(r: CallResult) -> bool:
    return any(b.outcome == "SUCCESS" for b in r.bridged_to)


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = RECOVERY_WITHIN) -> float | None:
    """Seconds until ``check()`` held, or None if it did not within ``within``."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        with contextlib.suppress(*DB_TRANSIENT):
            if await check():
                return round(time.monotonic() - started, 2)
        await asyncio.sleep(0.2)
    return None


DB_TRANSIENT = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


@dataclass
class Run:
    """What every phase shares."""

    db: Database
    daemon: DaemonProcess
    fs: FakeFreeSwitch
    args: argparse.Namespace
    tenant: int
    callers: list[int]
    rng: random.Random


class Phase:
    """One outage (``stop`` or ``hang``) with calls talking: its figures (``out``) and broken promises."""

    def __init__(self, kind: str, run: Run) -> None:
        self.kind = kind
        self.run = run
        self.n = run.args.calls
        self.base = self.n * run.args.phases.index(kind)  # each phase has its own talking callers
        self.first_probe = self.n * len(run.args.phases)
        self.broken: list[str] = []
        self.out: dict[str, object] = {}
        self.first_call = 0
        self.calls: list[asyncio.Task[CallResult]] = []
        self.statuses: list[tuple[float, int | None]] = []
        self.down_at = self.up_at = self.down_wall = self.up_wall = 0.0

    def promise(self, kept: bool, what: str) -> None:
        if not kept:
            self.broken.append(what)

    async def __call__(self) -> dict[str, object]:
        await self.fund()
        await self.start_talking()
        probes = await self.outage()
        await self.check_refusals(probes)
        await self.check_recovery()
        await self.check_talking_calls()
        self.out["broken"] = self.broken
        return self.out

    async def fund(self) -> None:
        """Money for 12–18 s of talk each (10 yen/s)."""
        run = self.run
        pool = await asyncpg.create_pool(run.db.dsn, min_size=1, max_size=2)
        try:
            for i in range(self.n):
                yen = RATE * run.rng.randint(12, 18) // 60
                caller = run.callers[self.base + i]
                await ledger.post(pool, run.tenant, caller, "deposit", yen, idempotency_key=f"{self.kind}-{i}")
            self.first_call = await pool.fetchval("SELECT coalesce(max(created_us), 0) FROM call_records")
        finally:
            await pool.close()

    async def start_talking(self) -> None:
        """Every consultation talking, then the outage ~6 s after they were placed."""
        run, t0 = self.run, time.monotonic()
        hangups = [run.rng.uniform(7.0, 15.0) if i % 2 else None for i in range(self.n)]
        self.calls = [asyncio.create_task(run.fs.place_call(talker(self.base + i, hangups[i]))) for i in range(self.n)]
        query = f"SELECT count(*) FROM call_records WHERE state = 'talking' AND created_us > {self.first_call}"
        conn = await asyncpg.connect(run.db.dsn)
        try:
            waited = await wait_until(lambda: _count_at_least(conn, query, self.n), 60)
            self.promise(waited is not None, "not every call was talking before the outage")
            self.out["talking_at_outage"] = await conn.fetchval(query)
        finally:
            await conn.close()
        await asyncio.sleep(max(0.0, 6.0 - (time.monotonic() - t0)))

    async def outage(self) -> list[asyncio.Task[CallResult]]:
        """The database away for ``--outage-seconds``; a new call every 0.5 s, /status polled throughout."""
        run, args = self.run, self.run.args
        polling = True

        async def poll() -> None:
            while polling:
                self.statuses.append((time.monotonic(), await http_status(run.daemon.http_port)))
                await asyncio.sleep(STATUS_POLL_SECONDS)

        poller = asyncio.create_task(poll())
        self.down_at, self.down_wall = time.monotonic(), time.time()
        frozen: list[int] = []
        if self.kind == "stop":
            await asyncio.to_thread(run.db.stop)
        else:
            frozen = run.db.freeze()
        self.out["seconds_to_stop"] = round(time.monotonic() - self.down_at, 2)
        probes: list[asyncio.Task[CallResult]] = []
        # New calls stop arriving early enough that their admission cannot outlive the outage.
        while time.monotonic() - self.down_at < args.outage_seconds - DB_TIMEOUT - REFUSAL_SLACK:
            i = self.first_probe + len(probes) % args.probe_callers
            probes.append(asyncio.create_task(run.fs.place_call(prober(i))))
            await asyncio.sleep(ARRIVAL_SECONDS)
        await asyncio.sleep(max(0.0, args.outage_seconds - (time.monotonic() - self.down_at)))
        if self.kind == "stop":
            await asyncio.to_thread(run.db.start)
        else:
            run.db.thaw(frozen)
        self.up_at, self.up_wall = time.monotonic(), time.time()
        self.out["outage_seconds"] = round(self.up_at - self.down_at, 2)
        self.out["seconds_to_status_200"] = await wait_until(lambda: _status_ok(run.daemon.http_port))
        polling = False
        await poller
        return probes

    async def check_refusals(self, probes: list[asyncio.Task[CallResult]]) -> None:
        """The outage's new calls: all refused, with the right guidance and cause, and soon."""
        results = [await asyncio.wait_for(task, 30) for task in probes]
        refused = [r for r in results if refused_unavailable(r)]
        self.out["new_calls_during_outage"] = len(results)
        self.out["refused_unavailable_503"] = len(refused)
        self.out["refusals"] = sorted({f"{r.hangup_cause}/{r.sip_final}/answered={r.answered}" for r in results})
        self.promise(
            bool(results) and len(refused) == len(results), "a new call during the outage was not refused as 503"
        )
        slowest = max(((r.end_time or 0.0) - r.start_time for r in results), default=0.0)
        self.out["refusal_seconds_max"] = round(slowest, 2)
        self.promise(slowest <= DB_TIMEOUT + REFUSAL_SLACK, "admission did not fail closed within the DB timeout")
        during = {str(code) for at, code in self.statuses if self.down_at + DB_TIMEOUT < at < self.up_at - 1}
        self.out["status_during_outage"] = sorted(during)
        self.promise(during == {"503"}, "/status did not answer 503 during the outage")
        self.promise(self.out["seconds_to_status_200"] is not None, "/status did not come back to 200")

    async def check_recovery(self) -> None:
        """A new call admitted again, a fresh heartbeat, the LISTEN hub's connection back."""
        run = self.run

        async def new_call_admitted() -> bool:
            return admitted(await run.fs.place_call(prober(self.first_probe + run.args.probe_callers)))

        self.out["seconds_to_first_admitted_call"] = await wait_until(new_call_admitted)
        self.promise(self.out["seconds_to_first_admitted_call"] is not None, "no new call admitted after the outage")
        conn = await asyncpg.connect(run.db.dsn)
        try:

            async def heartbeat() -> bool:
                at = await conn.fetchval(
                    "SELECT extract(epoch FROM heartbeat_at) FROM nodes WHERE node_id = $1", run.args.node_id
                )
                return at is not None and float(at) > self.up_wall

            async def listening() -> bool:
                return bool(
                    await conn.fetchval(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE application_name = 'calld-listen' AND query LIKE 'LISTEN %'"
                    )
                )

            self.out["seconds_to_heartbeat"] = await wait_until(heartbeat)
            self.out["seconds_to_balance_listener"] = await wait_until(listening)
        finally:
            await conn.close()
        self.promise(self.out["seconds_to_heartbeat"] is not None, "no heartbeat after the outage")
        self.promise(self.out["seconds_to_balance_listener"] is not None, "the balance listener did not come back")

    async def check_talking_calls(self) -> None:
        """Cut on time (by the daemon, not the backstop), booked once, nothing left taken."""
        talked = await asyncio.wait_for(asyncio.gather(*self.calls), 60)
        by = {k: sum(1 for r in talked if r.hangup_by == k) for k in {r.hangup_by for r in talked}}
        self.out["talking_calls_hung_up_by"] = by
        self.promise("sched_hangup" not in by, "FreeSWITCH's backstop, not the daemon, ended a call")
        conn = await asyncpg.connect(self.run.db.dsn)
        try:
            await self.check_money(conn)
        finally:
            await conn.close()

    async def check_money(self, conn: asyncpg.Connection) -> None:
        mine = f"created_us > {self.first_call}"
        total = await conn.fetchval(f"SELECT count(*) FROM call_records WHERE {mine}")
        ended = f"SELECT count(*) FROM call_records WHERE state = 'ended' AND {mine}"
        self.promise(await wait_until(lambda: _count_at_least(conn, ended, total)) is not None, "a record stayed open")
        # A line whose release met the outage is freed by the node's housekeeping once its record is ended.
        await wait_until(lambda: _count_at_least(conn, "SELECT -count(*) FROM active_calls", 0))
        self.out["lines_free_seconds_after_back"] = round(time.monotonic() - self.up_at, 2)
        rows = await conn.fetch(
            "SELECT r.ended_by, r.end_us, r.deadline_us, r.caller_number, extract(epoch FROM l.created_at) AS booked"
            " FROM call_records r LEFT JOIN ledger l ON l.call_uuid = r.call_uuid AND l.kind = 'charge'"
            f" WHERE r.{mine} AND r.answer_us IS NOT NULL"
        )
        talkers = {f"090{self.base + i:08d}" for i in range(self.n)}
        talks = [r for r in rows if r["caller_number"] in talkers]
        cuts = [r for r in talks if r["ended_by"] == "cutoff"]
        errors: list[float] = [(r["end_us"] - r["deadline_us"]) / 1000 for r in cuts]
        self.out["cutoffs"] = len(cuts)
        self.out["cutoffs_during_outage"] = sum(1 for r in cuts if self.down_wall < r["end_us"] / 1e6 < self.up_wall)
        self.out["talks_ended_during_outage"] = sum(
            1 for r in talks if self.down_wall < r["end_us"] / 1e6 < self.up_wall
        )
        self.out["cutoff_error_ms_p50"] = round(percentile(errors, 0.5), 1)
        self.out["cutoff_error_ms_max"] = round(max((abs(e), e) for e in errors)[1], 1) if errors else None
        self.promise(
            bool(errors) and all(abs(e) <= self.run.args.tolerance_ms for e in errors), "a cut-off was not on time"
        )
        booked = [float(r["booked"]) for r in talks if r["booked"] is not None]
        self.out["last_charge_booked_seconds_after_back"] = round(max(booked) - self.up_wall, 2) if booked else None
        self.promise(
            len(talks) == len(booked) == self.n, f"{self.n} talks, {len(talks)} answered, {len(booked)} charged"
        )
        figures = await audit(conn)
        figures["billed_past_deadline"] = await billed_past_deadline(conn)
        self.out["audit"] = figures
        for key in ZERO_AFTER_FAULTS:
            self.promise(not figures[key], f"audit: {key} = {figures[key]}")


async def _count_at_least(conn: asyncpg.Connection, query: str, want: int) -> bool:
    return bool(await conn.fetchval(query) >= want)


async def _status_ok(port: int) -> bool:
    return await http_status(port) == 200


async def main(args: argparse.Namespace) -> int:
    configure("warning", sys.stderr)  # stdout is the JSON report
    raise_fd_limit()
    rng = random.Random(args.seed)
    report: dict[str, object] = {**machine(), "calls": args.calls, "outage_seconds": args.outage_seconds}
    work = Path(tempfile.mkdtemp(prefix="calld-outage-"))
    db = await asyncio.to_thread(Database, work / "pgdata")
    failed = False
    try:
        conn = await asyncpg.connect(db.dsn)
        await migrate(conn)
        await conn.close()
        talkers = args.calls * len(args.phases)
        tenant, callers = await populate(db.dsn, talkers + args.probe_callers + 1)
        await fund(db.dsn, tenant, callers[talkers:], 100_000)
        fs = FakeFreeSwitch(port=0, linger_scale=0.1, record_frames=False)
        env = daemon_env(db.dsn, work, node="outage", pool_size=20) | {
            "CALLD_NODE_ID": args.node_id,
            "CALLD_DB_TIMEOUT_SECONDS": str(DB_TIMEOUT),
            "CALLD_HEARTBEAT_SECONDS": "2",
        }
        daemon = DaemonProcess(env, stderr=work / "daemon.log")
        await daemon.start()
        fs.port = daemon.esl_port
        try:
            for kind in args.phases:
                figures = await Phase(kind, Run(db, daemon, fs, args, tenant, callers, rng))()
                report[kind] = figures
                failed = failed or bool(figures["broken"])
                print(f"{kind}: {'FAILED ' + str(figures['broken']) if figures['broken'] else 'ok'}", file=sys.stderr)
        finally:
            await daemon.stop()
            await fs.close()
            report["daemon_log"] = str(work / "daemon.log")
    finally:
        await asyncio.to_thread(db.remove)
    print(json.dumps(report, indent=2))
    return 1 if failed else 0


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=30, help="prepaid consultations talking at each outage")
    parser.add_argument("--outage-seconds", type=float, default=10.0)
    parser.add_argument("--phases", nargs="+", choices=["stop", "hang"], default=["stop", "hang"])
    parser.add_argument("--probe-callers", type=int, default=30, help="callers of the new calls")
    parser.add_argument("--tolerance-ms", type=float, default=500.0, help="largest cut-off error allowed")
    parser.add_argument("--node-id", default="outage-node")
    parser.add_argument("--seed", type=int, default=1)
    sys.exit(asyncio.run(main(parser.parse_args())))


if __name__ == "__main__":
    cli()
