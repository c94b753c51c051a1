"""Two nodes, one database: two daemons, each with its own emulated FreeSWITCH, one PostgreSQL.

    python -m benchmarks.two_nodes [--calls 30] [--lines 8]

Two daemon processes (distinct node ids, heartbeat 1 s, node timeout 5 s) against one
embedded PostgreSQL; each has its own FakeFreeSwitch (its own inbound event socket and
password) that writes its CDRs into the shared ``fs_cdr`` as mod_cdr_pg_csv does.  One
tenant with ``--lines`` lines.  Three phases, each ending in a JSON audit:

a. **load on both nodes**: ``--calls`` calls offered at once, alternately to each node;
   ``active_calls`` is sampled throughout: never more live calls than lines, and every
   call not admitted was refused with 486 and never answered;
b. **one caller on both nodes**: one prepaid caller in two consultations at once, one on
   each node, one balance: both cut at the same joint deadline, the charges within the
   money, the balance not below zero;
c. **a node killed**: ``--lines`` prepaid calls talking on node A, SIGKILL A; its
   FreeSWITCH carries the bridges on until its backstop and writes the CDRs; after the node
   timeout node B frees A's lines and finishes A's records from those CDRs
   (``reconciled_cdr``), exactly one charge each, none past its deadline.

After each phase the money and leak audit of ``benchmarks.chaos_kill`` must be clean.
Exits non-zero if any promise is broken.  Loopback addresses only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from benchmarks.chaos_kill import ZERO_AFTER_FAULTS, audit, billed_past_deadline, wait_for
from benchmarks.coaching import NUMBER, RATE, fund, populate
from benchmarks.harness import bench_database, daemon_env, machine, raise_fd_limit
from emulator import CallerScript, CallResult, FakeFreeSwitch, FarEnd, Keys
from tests.daemon_process import DaemonProcess

NODE_TIMEOUT = 5
CUT_TOLERANCE_MS = 500  # the daemon's own cutoff; a miss means the backstop (≥ 1 s late) ended it


@dataclass
class Node:
    name: str
    fs: FakeFreeSwitch
    daemon: DaemonProcess


async def start_node(dsn: str, work: Path, name: str) -> Node:
    password = f"{name}-{uuid.uuid4().hex[:12]}"
    fs = FakeFreeSwitch(port=0, linger_scale=0.1, record_frames=False, cdr_dsn=dsn)
    inbound = await fs.serve_inbound("127.0.0.1", 0, password)
    env = daemon_env(dsn, work, node=name) | {
        "CALLD_NODE_ID": name,
        "CALLD_DATA_DIR": str(work / name),
        "CALLD_FS_ESL_HOST": "127.0.0.1",
        "CALLD_FS_ESL_PORT": str(inbound.sockets[0].getsockname()[1]),
        "CALLD_FS_ESL_PASSWORD": password,
        "CALLD_HEARTBEAT_SECONDS": "1",
        "CALLD_NODE_TIMEOUT_SECONDS": str(NODE_TIMEOUT),
    }
    daemon = DaemonProcess(env)
    await daemon.start()
    fs.port = daemon.esl_port
    return Node(name, fs, daemon)


def call(caller: int, member: int, hangup_after: float | None) -> CallerScript:
    """Caller ``caller`` keys ``member``'s one-member group; the counsellor answers at once."""
    return CallerScript(
        caller=f"090{caller:08d}",
        destination=NUMBER,
        digits=[Keys(f"{100 + member}#", delay=0.05, interval=0.05)],
        far_ends={f"080{member:08d}": FarEnd("answer", answer_after=0.1)},
        hangup_after_bridge=hangup_after,
    )


Phase = tuple[dict[str, object], list[str]]  # the audit, and the promises it found broken


async def settled(conn: asyncpg.Connection, report: dict[str, object], broken: list[str]) -> Phase:
    """Add the money and leak audit of the whole database so far (every figure must be 0 but
    ``calls`` and ``answered``, which count every call record since the start)."""
    await asyncio.sleep(1.5)  # the released lines' batch
    figures = await audit(conn)
    # (only closed records have billed seconds; an open one is already counted as broken)
    figures["billed_past_deadline"] = 0 if figures["records_open"] else await billed_past_deadline(conn)
    broken += [k for k in ZERO_AFTER_FAULTS if figures[k]]
    return report | figures, broken


async def load(conn: asyncpg.Connection, nodes: list[Node], calls: int, lines: int) -> Phase:
    live: list[int] = []
    done = asyncio.Event()

    async def sample() -> None:
        until = time.monotonic() + 120
        while not done.is_set() and time.monotonic() < until:
            live.append(await conn.fetchval("SELECT count(*) FROM active_calls"))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    tasks = [nodes[i % 2].fs.place_call(call(i, i, 3.0)) for i in range(calls)]
    results: list[CallResult] = await asyncio.wait_for(asyncio.gather(*tasks), 90)
    done.set()
    await sampler
    talked_at = [any(b.outcome == "SUCCESS" for b in r.bridged_to) for r in results]
    talked = [r for r, t in zip(results, talked_at, strict=True) if t]
    refused = [r for r, t in zip(results, talked_at, strict=True) if not t]
    peak = max(live, default=0)
    wrong_refusals = sum(1 for r in refused if r.sip_final != 486 or r.answered)
    broken = [
        *(["more live calls than lines"] if peak > lines else []),
        *(["a refusal not 486 or answered"] if wrong_refusals else []),
        *(["no call talked, or more than the lines"] if not 0 < len(talked) <= lines else []),
    ]
    report: dict[str, object] = {
        "offered": calls,
        "lines": lines,
        "max_live_calls": peak,
        "samples": len(live),
        "talked": len(talked),
        "refused_486_unanswered": len(refused) - wrong_refusals,
        "refused_otherwise": wrong_refusals,
        "talked_per_node": [sum(talked_at[n::2]) for n in (0, 1)],
    }
    return await settled(conn, report, broken)


async def one_caller_two_nodes(conn: asyncpg.Connection, nodes: list[Node], caller: int, money: int) -> Phase:
    caller_id = await conn.fetchval("SELECT id FROM callers WHERE name = $1", f"u{caller}")
    tasks = [nodes[n].fs.place_call(call(caller, caller + n, None)) for n in (0, 1)]
    await asyncio.wait_for(asyncio.gather(*tasks), 60 + money)
    rows = await conn.fetch(
        "SELECT node_id, deadline_us, end_us, charge_yen, ended_by FROM call_records WHERE caller_id = $1", caller_id
    )
    deadlines = {r["deadline_us"] for r in rows}
    late = [(r["end_us"] - r["deadline_us"]) / 1000 for r in rows if r["deadline_us"] is not None]
    charged = sum(r["charge_yen"] for r in rows)
    balance = await conn.fetchval("SELECT balance_yen FROM callers WHERE id = $1", caller_id)
    nodes_used = {r["node_id"] for r in rows}
    broken = [
        *(["not one call on each node"] if len(rows) != 2 or len(nodes_used) != 2 else []),
        *(["not one joint deadline"] if len(deadlines) != 1 or None in deadlines else []),
        *(["not cut at the deadline"] if len(late) != 2 or any(abs(x) > CUT_TOLERANCE_MS for x in late) else []),
        *(["charged more than the money"] if charged > money else []),
        *(["balance below zero"] if balance < 0 else []),
    ]
    report: dict[str, object] = {
        "money_yen": money,
        "consultations": len(rows),
        "nodes": sorted(nodes_used),
        "ended_by": sorted(r["ended_by"] for r in rows),
        "same_deadline": len(deadlines) == 1 and None not in deadlines,
        "end_minus_deadline_ms": [round(x, 1) for x in late],
        "charges_yen": sorted(r["charge_yen"] for r in rows),
        "balance_yen": balance,
    }
    return await settled(conn, report, broken)


async def kill_one(conn: asyncpg.Connection, nodes: list[Node], first: int, calls: int) -> Phase:
    victim, survivor = nodes
    since = await conn.fetchval("SELECT clock_timestamp()")
    mine = f"FROM call_records WHERE node_id = '{victim.name}' AND created_at >= $1"
    tasks = [asyncio.create_task(victim.fs.place_call(call(first + i, first + i, None))) for i in range(calls)]
    until = time.monotonic() + 60
    while await conn.fetchval(f"SELECT count(*) {mine} AND state = 'talking'", since) < calls:
        if time.monotonic() > until:
            break
        await asyncio.sleep(0.05)
    talking: int = await conn.fetchval(f"SELECT count(*) {mine} AND state = 'talking'", since)
    lines_at_kill = await conn.fetchval("SELECT count(*) FROM active_calls")
    await asyncio.sleep(1.0)
    victim.daemon.kill()
    assert victim.daemon.proc is not None
    await victim.daemon.proc.wait()
    killed = time.perf_counter()
    lines_freed = await wait_for(conn, "SELECT (count(*) = 0)::int FROM active_calls", 1, 60)
    until = time.monotonic() + 90
    while await conn.fetchval(f"SELECT count(*) {mine} AND state <> 'ended'", since) > 0:
        if time.monotonic() > until:
            break
        await asyncio.sleep(0.05)
    records_done = time.perf_counter() - killed
    results = await asyncio.wait_for(asyncio.gather(*tasks), 60)
    ended_by = {
        r["ended_by"]: r["n"] for r in await conn.fetch(f"SELECT ended_by, count(*) AS n {mine} GROUP BY 1", since)
    }
    not_cdr = talking - ended_by.get("reconciled_cdr", 0)
    not_one_charge = await conn.fetchval(
        f"SELECT count(*) {mine} AND (SELECT count(*) FROM ledger l WHERE l.call_uuid = call_records.call_uuid"
        " AND l.kind = 'charge' AND l.amount_yen < 0) <> 1",
        since,
    )
    broken = [
        *(["not every call was talking at the kill"] if talking != calls else []),
        *([f"{not_cdr} not finished from the CDRs"] if not_cdr else []),
        *([f"{not_one_charge} without exactly one charge"] if not_one_charge else []),
    ]
    report: dict[str, object] = {
        "talking_on_killed_node": talking,
        "lines_taken_at_kill": lines_at_kill,
        "node_timeout_seconds": NODE_TIMEOUT,
        "lines_freed_seconds_after_kill": round(lines_freed, 2),
        "records_finished_seconds_after_kill": round(records_done, 2),
        "ended_by": ended_by,
        "without_exactly_one_charge": not_one_charge,
        "hung_up_by_in_freeswitch": dict(Counter(r.hangup_by or "" for r in results)),
        "finished_by": survivor.name,
    }
    return await settled(conn, report, broken)


async def main(args: argparse.Namespace) -> int:
    raise_fd_limit()
    report: dict[str, object] = {**machine(), "calls": args.calls, "lines": args.lines}
    print(json.dumps(report), flush=True)
    b_caller, c_first = args.calls, args.calls + 2
    shared_money = RATE * args.shared_seconds // 60
    failures: list[str] = []
    async with bench_database() as (dsn, work):
        tenant, callers = await populate(dsn, c_first + args.lines)
        conn = await asyncpg.connect(dsn)
        await conn.execute("UPDATE line_contracts SET lines = $1 WHERE tenant_id = $2", args.lines, tenant)
        await fund(dsn, tenant, callers[: args.calls], 100_000)
        await fund(dsn, tenant, [callers[b_caller]], shared_money)
        await fund(dsn, tenant, callers[c_first:], RATE * args.talk_seconds // 60)
        nodes: list[Node] = []
        try:
            nodes = [await start_node(dsn, work, "node-a"), await start_node(dsn, work, "node-b")]
            for name, phase in (
                ("a_load_on_both_nodes", load(conn, nodes, args.calls, args.lines)),
                ("b_one_caller_on_both_nodes", one_caller_two_nodes(conn, nodes, b_caller, shared_money)),
                ("c_one_node_killed", kill_one(conn, nodes, c_first, args.lines)),
            ):
                result, broken = await phase
                result["broken"] = broken
                print(json.dumps({name: result}, indent=2), flush=True)
                report[name] = result
                failures += [f"{name}: {b}" for b in broken]
        finally:
            for node in nodes:
                await node.daemon.stop()
                await node.fs.close()
                if node.fs.cdr is not None and node.fs.cdr.failed:
                    failures.append(f"{node.name}: {len(node.fs.cdr.failed)} CDR inserts failed")
            await conn.close()
    if failures:
        print(f"FAILED: {failures}", file=sys.stderr)
        return 1
    print("two nodes, one database: every promise held", flush=True)
    return 0


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=30, help="calls offered at once in phase a")
    parser.add_argument("--lines", type=int, default=8)
    parser.add_argument("--shared-seconds", type=int, default=10, help="phase b: the caller's money, in seconds")
    parser.add_argument("--talk-seconds", type=int, default=8, help="phase c: each caller's money, in seconds")
    sys.exit(asyncio.run(main(parser.parse_args())))


if __name__ == "__main__":
    cli()
