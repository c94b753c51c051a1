"""IVR set-up benchmark: calls through a 3-node flow (hours → menu → play) with admission.

    python -m benchmarks.ivr [--calls 5000] [--inflight 200]

The daemon runs as a real process, the emulator in this one, PostgreSQL beside
them.  Each call: admission, answer, ``hours`` (open all week), ``menu`` (the
caller keys 1 at once), ``play``, hang up, line release.

Prints set-ups/s and the database transactions per call
(``pg_stat_database.xact_commit`` of the benchmark database over the measured
calls): the live flow comes from the per-process cache, so a call costs
admission and release only, no flow load.  ``--interim`` places the same calls
with nothing published (answer → greeting → hang up): a baseline on the same
machine at the same moment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
from pathlib import Path

import asyncpg

from benchmarks.harness import bench_database, daemon_env, place_many, raise_fd_limit
from daemon.repositories import ivr_flows
from daemon.rules.ivr.models import WEEKDAYS, Flow
from emulator import CallerScript, FakeFreeSwitch, Keys
from tests.daemon_process import DaemonProcess
from tests.ivr.world import write_wav

NUMBER = "0312345678"


async def prepare_database(dsn: str, work: Path, *, publish: bool) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        tenant = await pool.fetchval("INSERT INTO tenants (name) VALUES ('bench-ivr') RETURNING id")
        await pool.execute("INSERT INTO line_contracts (tenant_id, lines) VALUES ($1, 100000)", tenant)
        await pool.execute("INSERT INTO numbers (number, tenant_id, product) VALUES ($1, $2, 'ivr')", NUMBER, tenant)
        ids = {}
        for name in ("menu", "thanks"):
            path = work / f"ivr-{name}.wav"
            await asyncio.to_thread(write_wav, path, 0.02)
            ids[name] = await pool.fetchval(
                "INSERT INTO guidance (tenant_id, name, path) VALUES ($1, $2, $3) RETURNING id", tenant, name, str(path)
            )
        flow = Flow.model_validate(
            {
                "entry": {"default": "hours"},
                "nodes": {
                    "hours": {
                        "kind": "hours",
                        "week": {day: ["00:00-24:00"] for day in WEEKDAYS},
                        "public_holidays_closed": False,
                        "open": "menu",
                        "closed": "end",
                    },
                    "menu": {"kind": "menu", "prompt": ids["menu"], "options": {"1": "thanks"}, "fallback": "end"},
                    "thanks": {"kind": "play", "guidance": [ids["thanks"]], "next": "end"},
                    "end": {"kind": "hangup"},
                },
            }
        )
        saved = await ivr_flows.save(pool, tenant, flow)
        if publish:
            await ivr_flows.publish(pool, tenant, saved.version)
    finally:
        await pool.close()


async def commits(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        value: int = await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        return value
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> dict[str, object]:
    raise_fd_limit()
    report: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    }
    async with bench_database() as (dsn, work):
        await prepare_database(dsn, work, publish=not args.interim)
        daemon = DaemonProcess(daemon_env(dsn, work, node="ivr"))
        await daemon.start()
        try:
            fs = FakeFreeSwitch(port=daemon.esl_port, linger_scale=0.0, record_frames=False)
            script = CallerScript(destination=NUMBER, digits=[Keys("1", delay=0.0, interval=0.0)])
            await place_many(fs, [script] * 200, 100)  # warm-up (and the one flow load)
            await asyncio.sleep(1.0)  # statistics settle
            before = await commits(dsn)
            results, elapsed = await place_many(fs, [script] * args.calls, args.inflight)
            await asyncio.sleep(1.0)
            after = await commits(dsn)
            heard = "greeting" if args.interim else "ivr-thanks"
            ok = sum(1 for r in results if not r.errors and any(heard in a for _, a in r.apps))
            report["ivr_setups_per_second"] = round(ok / elapsed, 1)
            report["ivr_setups_ok"] = f"{ok}/{len(results)}"
            # the two commits measuring (one per connect) are not calls
            report["db_transactions_per_call"] = round((after - before - 1) / max(len(results), 1), 2)
            print(f"ivr: {ok} calls in {elapsed:.2f} s = {ok / elapsed:.0f} set-ups/s", flush=True)
            print(f"database transactions per call: {report['db_transactions_per_call']}", flush=True)
        finally:
            await daemon.stop()
    return report


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--inflight", type=int, default=200)
    parser.add_argument(
        "--interim", action="store_true", help="baseline: nothing published (answer, greeting, hang up)"
    )
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))


if __name__ == "__main__":
    cli()
