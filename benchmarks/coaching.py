"""Coaching Dial benchmark: prepaid cutoff precision, and set-ups/s with the full flow.

    python -m benchmarks.coaching [--calls 1000] [--talk-seconds 5]

1. **cutoff error**: ``--calls`` prepaid callers, each with money for exactly
   ``--talk-seconds`` at the group's rate, call at once; each keys its own
   one-member group, the counsellor answers, and nobody hangs up: every talk is
   ended by the daemon's cutoff.  The error is the talk's end (FreeSWITCH's
   CHANNEL_UNBRIDGE timestamp) minus the deadline the daemon computed.
2. **full-flow set-ups/s**: the same callers call again with plenty of money and
   the counsellor hangs up 0.2 s after answering; set-ups/s counts calls that
   went all the way (admission, identification, keypad, hunt, bridge, charge).

Keying is fast here (``Keys(delay=0.05, interval=0.05)``) so the numbers measure
the daemon, not a simulated thumb.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid

import asyncpg

from benchmarks.harness import bench_database, daemon_env, percentile, place_many, raise_fd_limit
from daemon.repositories import callers, counsellors, groups, ledger, tenants
from emulator import CallerScript, FakeFreeSwitch, FarEnd, Keys
from tests.daemon_process import DaemonProcess

NUMBER = "0312345678"
RATE = 600  # yen/min = 10 yen/s


async def populate(dsn: str, calls: int) -> tuple[int, list[int]]:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    assert pool is not None
    try:
        tenant = await tenants.create_tenant(pool, "coaching-bench", calls * 2)
        await tenants.add_number(pool, tenant, NUMBER, "coaching")
        caller_ids = []
        for i in range(calls):
            member = await counsellors.create(
                pool, tenant, name=f"c{i}", dial_string=f"sofia/external/080{i:08d}@127.0.0.1:5090"
            )
            await groups.create(
                pool,
                tenant,
                code=str(100 + i),
                name=f"g{i}",
                rate_yen_per_min=RATE,
                members=[member],
                warning_seconds=2,
                minimum_talk_seconds=1,  # the cutoff run funds exactly --talk-seconds
            )
            caller_ids.append(
                await callers.create(
                    pool,
                    tenant,
                    name=f"u{i}",
                    billing="prepaid",
                    payment_method="bank_transfer",
                    numbers=[f"090{i:08d}"],
                )
            )
        return tenant, caller_ids
    finally:
        await pool.close()


async def fund(dsn: str, tenant: int, callers: list[int], yen: int) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    assert pool is not None
    try:
        for caller in callers:
            await ledger.post(pool, tenant, caller, "deposit", yen, idempotency_key=uuid.uuid4().hex)
    finally:
        await pool.close()


def script(i: int, hangup_after: float | None) -> CallerScript:
    return CallerScript(
        caller=f"090{i:08d}",
        destination=NUMBER,
        digits=[Keys(f"{100 + i}#", delay=0.05, interval=0.05)],
        far_ends={f"080{i:08d}": FarEnd("answer", answer_after=0.1, hangup_after=hangup_after)},
    )


async def main(args: argparse.Namespace) -> dict[str, object]:
    raise_fd_limit()
    report: dict[str, object] = {}
    async with bench_database() as (dsn, work):
        tenant, caller_ids = await populate(dsn, args.calls)
        await fund(dsn, tenant, caller_ids, RATE * args.talk_seconds // 60)
        daemon = DaemonProcess(daemon_env(dsn, work, node="coach", pool_size=40))
        await daemon.start()
        try:
            fs = FakeFreeSwitch(port=daemon.esl_port, linger_scale=0.0, record_frames=False)
            results = await asyncio.gather(*(fs.place_call(script(i, None)) for i in range(args.calls)))
            conn = await asyncpg.connect(dsn)
            rows = await conn.fetch(
                "SELECT (end_us - deadline_us) / 1000.0 AS err_ms, ended_by FROM call_records"
                " WHERE deadline_us IS NOT NULL"
            )
            errors = [float(r["err_ms"]) for r in rows if r["ended_by"] == "cutoff"]
            negative = await conn.fetchval("SELECT count(*) FROM callers WHERE balance_yen < 0")
            report["ended_by"] = {
                r["ended_by"]: r["n"]
                for r in await conn.fetch("SELECT ended_by, count(*) AS n FROM call_records GROUP BY ended_by")
            }
            report["placed_outcomes"] = sorted({f"{r.hangup_by}:{r.errors[:1]}" for r in results})
            await conn.close()
            report["cutoff_calls"] = len(errors)
            report["cutoff_calls_placed"] = len(results)
            report["cutoff_error_ms_p50"] = round(percentile(errors, 0.5), 2)
            report["cutoff_error_ms_p99"] = round(percentile(errors, 0.99), 2)
            report["cutoff_error_ms_max"] = round(max(errors), 2) if errors else None
            report["balances_below_zero"] = negative
            print(
                f"cutoff: {len(errors)} calls, error p50 {report['cutoff_error_ms_p50']} ms,"
                f" p99 {report['cutoff_error_ms_p99']} ms",
                flush=True,
            )

            await fund(dsn, tenant, caller_ids, 100_000)
            scripts = [script(i % args.calls, 0.2) for i in range(args.calls * args.rounds)]
            results, elapsed = await place_many(fs, scripts, args.inflight)
            talked = sum(1 for r in results if any(b.outcome == "SUCCESS" for b in r.bridged_to))
            report["full_flow_consultations"] = f"{talked}/{len(results)}"
            report["full_flow_setups_per_second"] = round(talked / elapsed, 1)
            print(f"full flow: {talked} consultations in {elapsed:.2f} s = {talked / elapsed:.0f}/s", flush=True)
        finally:
            await daemon.stop()
    return report


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--talk-seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="full-flow calls per caller")
    parser.add_argument("--inflight", type=int, default=300)
    report = asyncio.run(main(parser.parse_args()))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    cli()
