"""Waiting-line benchmark: callers waiting on a busy group, from a counsellor becoming free to their phone ringing.

    python -m benchmarks.waiting_line [--callers 200] [--counsellors 20] [--talk-seconds 0.5]

``--callers`` prepaid callers (``--arrivals-per-second`` apart) ring one group whose ``--counsellors`` members are
all off duty; each keys the group and 1 to wait.  Once every caller waits, the
members come on duty one by one (0.1 s apart); each talk lasts
``--talk-seconds`` and the member hangs up, which frees them for the next
waiter, until the line is empty.

A member becomes free (a) at the commit that puts them on duty, or (b) at the
end of their talk (FreeSWITCH's CHANNEL_UNBRIDGE stamp, ``call_records.end_us``).
Their phone rings when the emulator creates the leg (``BridgeAttempt.at``).  The
latency between the two covers the NOTIFY, the matching transaction, breaking
the caller's hold, the hand-over to the hunt (the minutes announcement, here a
20 ms stand-in prompt, the call record, the backstop) and the ``bridge``.

    python -m benchmarks.waiting_line --match-rounds 300 [--callers 200] [--counsellors 20]

times the matching round trip alone (``waiting.match``, no daemon, no calls):
the line full, every member busy but one, a different one each round, and
the five waiters at the head barred from the first five members (each round
pairs one waiter, who is then put back).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

import asyncpg

from benchmarks.harness import bench_database, daemon_env, machine, percentile, raise_fd_limit
from daemon.repositories import callers, counsellors, groups, ledger, nodes, tenants, waiting
from emulator import CallerScript, CallResult, FakeFreeSwitch, FarEnd, Keys
from tests.daemon_process import DaemonProcess

NUMBER = "0312345678"


def user(i: int) -> str:
    return f"080{i:08d}"


async def populate(pool: asyncpg.Pool, n_callers: int, n_counsellors: int) -> list[int]:
    tenant = await tenants.create_tenant(pool, "waiting-bench", n_callers + n_counsellors)
    await tenants.add_number(pool, tenant, NUMBER, "coaching")
    members = [
        await counsellors.create(
            pool, tenant, name=f"c{i}", dial_string=f"sofia/external/{user(i)}@127.0.0.1:5090", on_duty=False
        )
        for i in range(n_counsellors)
    ]
    await groups.create(
        pool,
        tenant,
        code="12",
        name="busy",
        rate_yen_per_min=600,
        members=members,
        queue_enabled=True,
        queue_max_length=500,
        queue_max_wait_s=3600,
        queue_announce_s=30,
    )
    for i in range(n_callers):
        caller = await callers.create(
            pool, tenant, name=f"u{i}", billing="prepaid", payment_method="bank_transfer", numbers=[f"090{i:08d}"]
        )
        await ledger.post(pool, tenant, caller, "deposit", 100_000, memo="bench")
    return members


def script(i: int, far_ends: dict[str, FarEnd]) -> CallerScript:
    return CallerScript(
        caller=f"090{i:08d}",
        destination=NUMBER,
        digits=[Keys("12#", delay=0.05, interval=0.05), Keys("1", delay=0.05)],
        far_ends=far_ends,
    )


def latencies(
    results: list[CallResult], on_duty_at: dict[str, float], ends: dict[str, list[float]]
) -> dict[str, list[float]]:
    """For each ring of a member: the ring minus the moment they last became free before it (s).

    By how they became free: ``on_duty`` (put on duty) or ``talk_ended``.
    """
    rings: dict[str, list[float]] = {}
    for r in results:
        for attempt in r.bridged_to:
            for leg in attempt.legs:
                rings.setdefault(leg.endpoint.split("/")[-1].split("@")[0], []).append(attempt.at)
    out: dict[str, list[float]] = {"on_duty": [], "talk_ended": []}
    for who, times in rings.items():
        freed = sorted([(on_duty_at[who], "on_duty"), *((end, "talk_ended") for end in ends.get(who, []))])
        for at in sorted(times):
            before = [f for f in freed if f[0] <= at]
            if before:
                out[before[-1][1]].append(at - before[-1][0])
    return out


async def measure(pool: asyncpg.Pool, results: list[CallResult], on_duty_at: dict[str, float]) -> dict[str, object]:
    """The latencies from each member becoming free to their phone ringing, and the line left over."""
    report: dict[str, object] = {}
    rows = await pool.fetch(
        "SELECT c.dial_string, r.end_us FROM call_records r JOIN counsellors c ON c.id = r.counsellor_id"
        " WHERE r.end_us IS NOT NULL AND r.answer_us IS NOT NULL"
    )
    ends: dict[str, list[float]] = {}
    for r in rows:
        ends.setdefault(r["dial_string"].split("/")[-1].split("@")[0], []).append(r["end_us"] / 1e6)
    by_kind = latencies(results, on_duty_at, ends)
    measured = [x * 1000 for kind in by_kind.values() for x in kind]
    for kind, values in by_kind.items():
        ms = [x * 1000 for x in values]
        report[f"{kind}_rings"] = len(ms)
        report[f"{kind}_to_ringing_ms_p50_p99"] = [round(percentile(ms, q), 1) for q in (0.5, 0.99)]
    talked = sum(1 for r in results if any(b.outcome == "SUCCESS" for b in r.bridged_to))
    report["consultations"] = f"{talked}/{len(results)}"
    report["rings_measured"] = len(measured)
    report["free_to_ringing_ms_p50"] = round(percentile(measured, 0.5), 1)
    report["free_to_ringing_ms_p99"] = round(percentile(measured, 0.99), 1)
    report["free_to_ringing_ms_max"] = round(max(measured), 1) if measured else None
    lags = await pool.fetch(
        "SELECT extract(epoch FROM c.last_call_end) * 1000 - max(r.end_us) / 1000.0 AS lag_ms"
        " FROM counsellors c JOIN call_records r ON r.counsellor_id = c.id GROUP BY c.id"
    )
    release = [float(r["lag_ms"]) for r in lags]  # the member's last talk: its end → released by the hunt
    report["talk_end_to_release_ms_p50_max"] = [round(percentile(release, 0.5), 1), round(max(release), 1)]
    report["waiting_rows_left"] = await pool.fetchval("SELECT count(*) FROM waiting_calls")
    return report


async def main(args: argparse.Namespace) -> dict[str, object]:
    raise_fd_limit()
    report: dict[str, object] = machine() | {
        "callers": args.callers,
        "counsellors": args.counsellors,
        "talk_seconds": args.talk_seconds,
        "arrivals_per_second": args.arrivals_per_second,
    }
    async with bench_database() as (dsn, work):
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        assert pool is not None
        members = await populate(pool, args.callers, args.counsellors)
        daemon = DaemonProcess(daemon_env(dsn, work, node="wait", pool_size=40))
        await daemon.start()
        try:
            fs = FakeFreeSwitch(port=daemon.esl_port, linger_scale=0.0, record_frames=False)
            far_ends = {
                user(i): FarEnd("answer", answer_after=0.1, hangup_after=args.talk_seconds)
                for i in range(args.counsellors)
            }
            started = time.monotonic()
            calls = []
            for i in range(args.callers):  # arrivals spread out: the line fills, no admission storm
                calls.append(asyncio.create_task(fs.place_call(script(i, far_ends))))
                await asyncio.sleep(1 / args.arrivals_per_second)
            waiting = 0
            while waiting + sum(c.done() for c in calls) < args.callers:  # in the line, or turned away
                if time.monotonic() - started > 300:
                    raise RuntimeError("the callers did not get into the line")
                await asyncio.sleep(0.1)
                waiting = await pool.fetchval("SELECT count(*) FROM waiting_calls")
            report["seconds_to_fill_the_line"] = round(time.monotonic() - started, 2)
            report["callers_waiting"] = waiting  # the others were refused at admission (database too slow)
            on_duty_at: dict[str, float] = {}
            for i, member in enumerate(members):
                await pool.execute("UPDATE counsellors SET on_duty = true WHERE id = $1", member)
                on_duty_at[user(i)] = time.time()
                await asyncio.sleep(0.1)
            served = time.monotonic()
            results = await asyncio.gather(*calls)
            report["seconds_to_serve_the_line"] = round(time.monotonic() - served, 2)
            report |= await measure(pool, results, on_duty_at)
        finally:
            await daemon.stop()
            await pool.close()
    return report


async def match_only(args: argparse.Namespace) -> dict[str, object]:
    """``waiting.match`` alone: one member freed per round, the line's head partly barred from them."""
    report: dict[str, object] = machine() | {"callers": args.callers, "counsellors": args.counsellors}
    async with bench_database() as (dsn, _):
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        assert pool is not None
        try:
            members = await populate(pool, 0, args.counsellors)
            group: int = await pool.fetchval("SELECT id FROM counsellor_groups")
            tenant: int = await pool.fetchval("SELECT tenant_id FROM counsellor_groups")
            await nodes.heartbeat(pool, "bench")
            for _ in range(args.callers):
                who = waiting.Waiter(tenant, group, uuid.uuid4(), "bench", None)
                await waiting.join(pool, who, max_length=args.callers, live_seconds=3600)
            await pool.execute(
                "UPDATE waiting_calls SET passed_over = $1"
                " WHERE id IN (SELECT id FROM waiting_calls ORDER BY joined_at, id LIMIT 5)",
                members[:5],
            )
            await pool.execute("UPDATE counsellors SET on_duty = true")
            took: list[float] = []
            for i in range(args.match_rounds):
                free = members[i % len(members)]
                await pool.execute("UPDATE counsellors SET current_call = gen_random_uuid() WHERE id <> $1", free)
                await pool.execute("UPDATE counsellors SET current_call = NULL, claimed_at = NULL WHERE id = $1", free)
                started = time.perf_counter()
                found = await waiting.match(pool, group, "bench", 3600)
                took.append((time.perf_counter() - started) * 1000)
                assert len(found.claimed) == 1, found
                await pool.execute("UPDATE waiting_calls SET offered_to = NULL")
        finally:
            await pool.close()
    report["match_rounds"] = len(took)
    report["match_ms_p50_p90_p99"] = [round(percentile(took, q), 2) for q in (0.5, 0.9, 0.99)]
    return report


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--counsellors", type=int, default=20)
    parser.add_argument("--talk-seconds", type=float, default=0.5)
    parser.add_argument("--arrivals-per-second", type=float, default=20.0)
    parser.add_argument("--match-rounds", type=int, default=0, help="time the matching round trip alone")
    args = parser.parse_args()
    report = asyncio.run(match_only(args) if args.match_rounds else main(args))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    cli()
