"""PostgreSQL fails over under load: primary killed, synchronous standby promoted, the daemon follows.

    python -m benchmarks.failover [--calls 30] [--promote-after 5]

Two embedded PostgreSQL servers this command owns: a primary, and a standby made
from it with ``pg_basebackup`` that streams its WAL and is named in the
primary's ``synchronous_standby_names`` (every commit the primary acknowledges
is on the standby too).  One daemon and the emulated FreeSWITCH; the daemon's
``CALLD_DATABASE_URL`` names both servers with ``target_session_attrs=read-write``,
so libpq-style host selection (asyncpg's) finds whichever is the primary.

``--calls`` prepaid consultations talk (money for 12-18 s each), deposits are
booked every 0.2 s by a separate client, then the primary's processes are
killed with SIGKILL; ``--promote-after`` seconds later the standby is promoted
(``pg_promote()``, what Patroni or an operator's script does).  A new call
arrives every 0.5 s throughout.  Promises (exit status 1 if any is broken):

* every deposit whose commit was acknowledged before the kill is in the new
  primary's ledger (synchronous replication);
* every answered call is charged exactly once, no record stays open, ledger =
  balance for every caller, no balance below zero, no line or counsellor left
  taken (:func:`benchmarks.chaos_kill.audit`), nobody billed past the deadline;
* no call is answered while no primary exists (refused as 503, never answered);
* talking calls are cut by the daemon's own timer, never by FreeSWITCH's backstop;
* a new call is admitted again within ``--admit-within`` seconds of the promotion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg

from benchmarks.chaos_kill import ZERO_AFTER_FAULTS, audit, billed_past_deadline
from benchmarks.coaching import RATE, fund, populate
from benchmarks.db_outage import DB_TRANSIENT, Database, admitted, prober, refused_unavailable, talker, wait_until
from benchmarks.harness import daemon_env, machine, raise_fd_limit
from daemon.logs import configure
from daemon.postgres.migrate import migrate
from daemon.postgres.one_connection import one_connection
from daemon.repositories import ledger
from emulator import CallResult, FakeFreeSwitch
from tests.daemon_process import DaemonProcess

STANDBY_NAME = "standby1"
DB_TIMEOUT = 2.0
ARRIVAL_SECONDS = 0.5
DEPOSIT_SECONDS = 0.2


def socket_of(dsn: str) -> tuple[str, str]:
    query = parse_qs(urlsplit(dsn).query)
    return query["host"][0], query["port"][0]


def both(primary: str, standby: str) -> str:
    """One DSN naming both servers; the client takes the one that accepts writes."""
    (h1, p1), (h2, p2) = socket_of(primary), socket_of(standby)
    return f"postgresql://postgres@/postgres?host={h1},{h2}&port={p1},{p2}&target_session_attrs=read-write"


async def make_primary(work: Path) -> Database:
    primary = await asyncio.to_thread(Database, work / "primary")
    hba = primary.pgdata / "pg_hba.conf"  # embedded.py writes it without replication: add it for the standby
    hba.write_text(hba.read_text() + "local   replication     all                                     trust\n")
    conn = await asyncpg.connect(primary.dsn)
    try:
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    return primary


def base_backup(primary: Database, target: Path) -> None:
    """The standby's data directory: a streamed base backup, with standby.signal and primary_conninfo (-R)."""
    from daemon.postgres.backup import tool

    host, port = socket_of(primary.dsn)
    owner = primary.pgdata.stat()
    target.mkdir(mode=0o700)
    os.chown(target, owner.st_uid, owner.st_gid)
    pg_basebackup = str(Path(tool("pg_dump")).with_name("pg_basebackup"))
    subprocess.run(
        [pg_basebackup, "-D", str(target), "-h", host, "-p", port, "-U", "postgres", "-X", "stream", "-R"],
        check=True,
        user=owner.st_uid,
        group=owner.st_gid,
        capture_output=True,
    )
    with (target / "postgresql.auto.conf").open("a") as conf:
        conf.write(f"cluster_name = '{STANDBY_NAME}'\n")  # the walreceiver's application_name
    # The primary's socket lives in its data directory, so its lock file came along: not ours.
    for stale in ["postmaster.pid", *(f.name for f in target.glob(".s.PGSQL.*"))]:
        (target / stale).unlink(missing_ok=True)


async def make_standby(primary: Database, work: Path) -> Database:
    await asyncio.to_thread(base_backup, primary, work / "standby")
    standby = await asyncio.to_thread(Database, work / "standby")
    conn = await asyncpg.connect(primary.dsn)
    try:
        # Synchronous only now that the standby streams: before, every commit would wait for it.
        await conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
        await conn.execute("ALTER SYSTEM SET synchronous_commit = 'on'")
        await conn.execute("SELECT pg_reload_conf()")
        state = None
        for _ in range(100):
            state = await conn.fetchval(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = $1", STANDBY_NAME
            )
            if state == "sync":
                break
            await asyncio.sleep(0.1)
        if state != "sync":
            raise RuntimeError(f"the standby is not synchronous (sync_state {state!r})")
    finally:
        await conn.close()
    return standby


class Deposits:
    """A client booking a deposit every 0.2 s through the two-host DSN; what was acknowledged, by key."""

    def __init__(self, dsn: str, tenant: int, caller: int) -> None:
        self.dsn, self.tenant, self.caller = dsn, tenant, caller
        self.acknowledged: list[str] = []
        self.failed = 0
        self._running = True

    async def run(self) -> None:
        n = 0
        while self._running:
            key = f"failover-deposit-{n}"
            n += 1
            try:
                conn = await asyncio.wait_for(asyncpg.connect(self.dsn), DB_TIMEOUT)
                try:
                    await asyncio.wait_for(
                        ledger.post(
                            one_connection(conn), self.tenant, self.caller, "deposit", 100, idempotency_key=key
                        ),
                        DB_TIMEOUT,
                    )
                    self.acknowledged.append(key)
                finally:
                    await conn.close(timeout=1)
            except (TimeoutError, *DB_TRANSIENT):
                self.failed += 1
            await asyncio.sleep(DEPOSIT_SECONDS)

    def stop(self) -> None:
        self._running = False


@dataclass
class Failover:
    """The kill, the promotion and the new calls around them; what they showed."""

    primary: Database
    standby: Database
    fs: FakeFreeSwitch
    args: argparse.Namespace
    report: dict[str, object]
    broken: list[str]
    killed_at: float = 0.0
    promoted_at: float = 0.0

    async def __call__(self) -> None:
        self.killed_at = time.monotonic()
        for pid in self.primary.processes():
            os.kill(pid, signal.SIGKILL)
        probes: list[tuple[float, asyncio.Task[CallResult]]] = []
        first_admitted: float | None = None
        while time.monotonic() - self.killed_at < self.args.promote_after + self.args.admit_within:
            if not self.promoted_at and time.monotonic() - self.killed_at >= self.args.promote_after:
                await self.promote()
            caller = self.args.calls + len(probes) % self.args.probe_callers
            probes.append((time.monotonic(), asyncio.create_task(self.fs.place_call(prober(caller)))))
            await asyncio.sleep(ARRIVAL_SECONDS)
            after = [at for at, t in probes if t.done() and self.promoted_at and at >= self.promoted_at]
            admitted_at = [at for at, t in probes if at in after and admitted(t.result())]
            if admitted_at:
                first_admitted = min(admitted_at)
                break
        self.report["seconds_from_kill_to_admitted"] = _since(first_admitted, self.killed_at)
        self.report["seconds_from_promotion_to_admitted"] = _since(first_admitted, self.promoted_at)
        if first_admitted is None:
            self.broken.append(f"no new call admitted within {self.args.admit_within} s of the promotion")
        await self.check_probes(probes)

    async def promote(self) -> None:
        """What Patroni or the operator's script does: the standby becomes the primary."""
        self.promoted_at = time.monotonic()
        conn = await asyncpg.connect(self.standby.dsn)
        try:
            await conn.fetchval("SELECT pg_promote(true, 30)")
        finally:
            await conn.close()
        self.report["seconds_to_promote"] = round(time.monotonic() - self.promoted_at, 2)

    async def check_probes(self, probes: list[tuple[float, asyncio.Task[CallResult]]]) -> None:
        """While no primary existed, every new call was refused as 503, none answered."""
        results = [(at, await asyncio.wait_for(t, 60)) for at, t in probes]
        alone = [r for at, r in results if self.killed_at + DB_TIMEOUT < at < self.promoted_at - 1.0]
        self.report["new_calls_without_a_primary"] = len(alone)
        self.report["refused_503_without_a_primary"] = sum(1 for r in alone if refused_unavailable(r))
        if any(r.answered for r in alone):
            self.broken.append("a call was answered while no primary existed")


def _since(moment: float | None, start: float) -> float | None:
    return round(moment - start, 2) if moment is not None else None


async def settle_and_audit(
    standby: Database, deposits: Deposits, before_kill: list[str], report: dict[str, object], broken: list[str]
) -> None:
    """On the new primary: every record ended, every acknowledged deposit there, every audit figure 0."""
    conn = await asyncpg.connect(standby.dsn)
    try:
        if await wait_until(lambda: _all_ended(conn), 60) is None:
            broken.append("a call record stayed open")
        rows = await conn.fetch("SELECT idempotency_key FROM ledger WHERE idempotency_key LIKE 'failover-deposit-%'")
        kept = {r["idempotency_key"] for r in rows}
        lost = sorted(set(deposits.acknowledged) - kept)
        report["deposits_acknowledged_before_kill"] = len(before_kill)
        report["deposits_acknowledged_in_all"] = len(deposits.acknowledged)
        report["deposits_refused_during_failover"] = deposits.failed
        report["deposits_lost"] = len(lost)
        if lost:
            broken.append(f"{len(lost)} acknowledged deposits are missing after the failover")
        figures = await audit(conn)
        figures["billed_past_deadline"] = await billed_past_deadline(conn)
        report["audit"] = figures
        broken += [f"audit: {k} = {figures[k]}" for k in ZERO_AFTER_FAULTS if figures[k]]
    finally:
        await conn.close()


async def seed(primary: Database, args: argparse.Namespace) -> tuple[int, list[int]]:
    """The coaching shop; reserve money for the new calls, 12-18 s of talk (10 yen/s) for each talker."""
    conn = await asyncpg.connect(primary.dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    rng = random.Random(args.seed)
    tenant, callers = await populate(primary.dsn, args.calls + args.probe_callers + 1)
    await fund(primary.dsn, tenant, callers[args.calls :], 100_000)
    for caller in callers[: args.calls]:
        await fund(primary.dsn, tenant, [caller], RATE * rng.randint(12, 18) // 60)
    return tenant, callers


async def main(args: argparse.Namespace) -> int:
    configure("warning", sys.stderr)  # stdout is the JSON report
    raise_fd_limit()
    report: dict[str, object] = {**machine(), "calls": args.calls, "promote_after_seconds": args.promote_after}
    broken: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="calld-failover-"))
    primary = await make_primary(work)
    standby: Database | None = None
    try:
        tenant, callers = await seed(primary, args)
        standby = await make_standby(primary, work)
        dsn = both(primary.dsn, standby.dsn)
        report["dsn"] = dsn
        fs = FakeFreeSwitch(port=0, linger_scale=0.1, record_frames=False)
        env = daemon_env(dsn, work, node="failover", pool_size=20) | {
            "CALLD_DB_TIMEOUT_SECONDS": str(DB_TIMEOUT),
            "CALLD_HEARTBEAT_SECONDS": "2",
        }
        daemon = DaemonProcess(env, stderr=work / "daemon.log")
        await daemon.start()
        fs.port = daemon.esl_port
        deposits = Deposits(dsn, tenant, callers[-1])
        depositing = asyncio.create_task(deposits.run())
        rng = random.Random(args.seed)
        try:
            hangups = [rng.uniform(7.0, 15.0) if i % 2 else None for i in range(args.calls)]
            talking = [asyncio.create_task(fs.place_call(talker(i, hangups[i]))) for i in range(args.calls)]
            await asyncio.sleep(6.0)
            before_kill = list(deposits.acknowledged)
            await Failover(primary, standby, fs, args, report, broken)()
            talked = await asyncio.wait_for(asyncio.gather(*talking), 90)
            by = [r.hangup_by for r in talked]
            report["talking_calls_hung_up_by"] = {k: by.count(k) for k in set(by)}
            if "sched_hangup" in by:
                broken.append("FreeSWITCH's backstop, not the daemon, ended a talking call")
        finally:
            deposits.stop()
            await depositing
            await daemon.stop()
            await fs.close()
            report["daemon_log"] = str(work / "daemon.log")
        await settle_and_audit(standby, deposits, before_kill, report, broken)
    finally:
        if standby is not None:
            await asyncio.to_thread(standby.remove)
        await asyncio.to_thread(primary.remove)
    report["broken"] = broken
    print(json.dumps(report, indent=2))
    print("failover: " + ("FAILED " + str(broken) if broken else "ok"), file=sys.stderr)
    return 1 if broken else 0


async def _all_ended(conn: asyncpg.Connection) -> bool:
    return not await conn.fetchval("SELECT count(*) FROM call_records WHERE state <> 'ended'")


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=30, help="prepaid consultations talking at the failover")
    parser.add_argument("--promote-after", type=float, default=5.0, help="seconds from the kill to pg_promote()")
    parser.add_argument("--admit-within", type=float, default=20.0, help="a new call admitted this soon after")
    parser.add_argument("--probe-callers", type=int, default=30, help="callers of the new calls")
    parser.add_argument("--seed", type=int, default=1)
    sys.exit(asyncio.run(main(parser.parse_args())))


if __name__ == "__main__":
    cli()
