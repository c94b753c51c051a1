"""This daemon against the other ways to write an outbound-socket server, in one sitting.

    python -m benchmarks.bench_peers --peer-python /tmp/calld-bench-peers/bin/python [--calls 4000]

The same generator (``emulator/fast.py``, the emulator's lean load generator:
FreeSWITCH's outbound socket as the transcripts in ``../shared/freeswitch/transcripts``
show it, real-sized events rendered by the emulator's serializers, the 20 ms media tick
unless ``--media-tick 0``) drives, one after the other:

* **calld**: this daemon (``python -m daemon run``) with line admission and release
  in its PostgreSQL; the call is its interim flow (answer → 20 ms guidance → hang-up);
* **bare**: ``benchmarks/peers/bare.py``, the same call in bare asyncio, no database;
* **greenswitch** and **genesis**: the same call on those libraries
  (``benchmarks/peers/*_app.py``), run by ``--peer-python`` (a throw-away environment:
  ``make bench-peers`` makes it; without one they are skipped).

Pinning: every server process (all its threads; for calld also its PostgreSQL) on
CPU 0, the generator on CPU 1, as ``taskset`` would.  Per server: ``--calls`` calls at
each ``--inflight`` level (set-ups/s, the server's CPU per call), then
``--latency-seconds`` at 100 set-ups/s (connect → first command, p50/p99; for calld also
its own view, ``own_first_command_at_100`` in the JSON: its histogram from the CHANNEL_DATA
reply to the first call-control command, samples over each bound, which splits the daemon's
part from the generator's and the kernel's).

Two levels by default: 100 in flight, which every server here copes with (greenswitch
listens with a backlog of 100 and genesis with asyncio's default of 100: with more
connections arriving at once, the kernel drops some handshakes and those calls never
start, so their rate measures a 120-s timeout), and 500, which lets a server reach its
ceiling (at 100 in flight a call of about 0.1 s caps the rate near 1,000/s).
``--repeat N`` runs each server N times (the machine's own spread is ±20 % run to run).

One table at the end: a row per server (its median run at the highest level), with
calld's ratio to each at every level, and a row per run when repeated; in the JSON also the generator's own
CPU per call (when it nears a whole core, the table measures the generator, not the
server).  Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import asyncpg

from benchmarks.cutoffs import histogram, scrape
from benchmarks.harness import bench_database, cpu_seconds, daemon_env, machine, percentile, raise_fd_limit
from benchmarks.setup_rate import NUMBER, prepare_database
from emulator.fast import LoadSwitch
from tests.daemon_process import DaemonProcess, free_port
from tests.stand_in_prompts import write_prompts

PEERS = Path(__file__).parent / "peers"
OWN_LATENCY = "calld_connect_to_first_command_seconds"
SERVER_CPU = {0}
GENERATOR_CPU = {1}


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of ``pid`` (what ``taskset -a -p`` does); threads and children made later inherit it."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except ProcessLookupError:
            continue


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry))
    return found


def postgres_pids(dsn_dir: Path) -> list[int]:
    """The embedded PostgreSQL's postmaster (postmaster.pid) and its processes."""
    postmaster = int((dsn_dir / "postmaster.pid").read_text().split()[0])
    return [postmaster, *children(postmaster)]


async def wait_listening(port: int, proc: asyncio.subprocess.Process, within: float = 60.0) -> None:
    until = time.monotonic() + within
    while time.monotonic() < until:
        if proc.returncode is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            _r, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        writer.close()
        return
    raise TimeoutError("server did not listen")


def cpu_of(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        try:
            found[pid] = cpu_seconds(pid)
        except OSError:  # a backend that ended meanwhile
            continue
    return found


def own_latency(before: str, after: str) -> dict[str, object]:
    """The daemon's own connect → first command (its histogram: CHANNEL_DATA reply → first
    call-control command) over the samples between two scrapes: how many, and how many over each bound."""
    old, new = histogram(before, OWN_LATENCY), histogram(after, OWN_LATENCY)
    was = cast(dict[str, int], old["over"])
    over = {bound: n - was.get(bound, 0) for bound, n in cast(dict[str, int], new["over"]).items()}
    return {"samples": cast(int, new["samples"]) - cast(int, old["samples"]), "over": over}


async def drive(
    port: int,
    server: int,
    helpers: Callable[[], list[int]],
    args: argparse.Namespace,
    metrics_port: int | None = None,
) -> dict[str, object]:
    """``server``'s pid; ``helpers()``: its database's processes now (backends come and go);
    ``metrics_port``: calld's HTTP port, for its own view of the latency.

    One throughput phase per ``--inflight`` level (``levels`` in the result, keyed by the
    level), then the latency phase at 100/s."""
    gen = LoadSwitch(port=port, destination=NUMBER, media_tick=args.media_tick)
    await gen.place(200, 100)  # warm-up (the probe connection above is not a call)
    levels = {str(inflight): await throughput(gen, inflight, server, helpers, args) for inflight in args.inflight}
    lat: list[float] = []
    own: dict[str, object] | None = None
    if args.latency_seconds:
        before = await scrape(metrics_port) if metrics_port is not None else ""
        with generator_without_collections():
            slow = await gen.place(int(100 * args.latency_seconds), 1000, rate=100.0)
        lat = [s * 1000 for s in slow.latencies]
        if metrics_port is not None:
            own = own_latency(before, await scrape(metrics_port))
    return {
        "levels": levels,
        "p50_ms_at_100": round(percentile(lat, 0.5), 2) if lat else None,
        "p99_ms_at_100": round(percentile(lat, 0.99), 2) if lat else None,
        "own_first_command_at_100": own,
        "load_average": round(os.getloadavg()[0], 2),
    }


@contextlib.contextmanager
def generator_without_collections() -> Iterator[None]:
    """The generator's own garbage collections off while it measures latency.

    A collection in the generator delays its reading of a reply (counted as the server's
    latency) and bunches the next connections into a burst that then queue in the
    server.  Ten seconds at 100/s leave little to collect; it is done after.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def throughput(
    gen: LoadSwitch, inflight: int, server: int, helpers: Callable[[], list[int]], args: argparse.Namespace
) -> dict[str, object]:
    """``--calls`` calls with ``inflight`` in flight: set-ups/s, and the CPU per call of the
    server, its database and the generator."""
    server_cpu, helper_cpu, own_cpu = cpu_seconds(server), cpu_of(helpers()), time.process_time()
    tally = await gen.place(args.calls, inflight)
    own_used = time.process_time() - own_cpu
    used = cpu_seconds(server) - server_cpu
    db_used = sum(c - helper_cpu.get(p, 0.0) for p, c in cpu_of(helpers()).items())
    ok = tally.ok
    return {
        "setups_per_second": round(ok / tally.elapsed, 1),
        "ok": f"{ok}/{tally.placed}",
        "cpu_ms_per_call": round(used / max(ok, 1) * 1000, 3),
        "db_cpu_ms_per_call": round(db_used / max(ok, 1) * 1000, 3) if db_used else None,
        "generator_cpu_ms_per_call": round(own_used / max(tally.placed, 1) * 1000, 3),
        "first_error": tally.errors[0] if tally.errors else None,
    }


async def calld(args: argparse.Namespace) -> dict[str, object]:
    async with bench_database() as (dsn, work):
        await prepare_database(dsn)
        env = daemon_env(dsn, work, node="peers", pool_size=20)
        if args.event_loop:
            env["CALLD_EVENT_LOOP"] = args.event_loop
        daemon = DaemonProcess(env)
        await daemon.start()
        try:
            assert daemon.proc is not None
            pg = postgres_pids(work / "pgdata")
            for pid in [daemon.proc.pid, *pg]:
                pin(pid, SERVER_CPU)
            return await drive(
                daemon.esl_port, daemon.proc.pid, lambda: postgres_pids(work / "pgdata"), args, daemon.http_port
            )
        finally:
            await daemon.stop()


async def peer(python: str, app: str, prompt: Path, args: argparse.Namespace) -> dict[str, object]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        python,
        str(PEERS / app),
        str(port),
        str(prompt),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        pin(proc.pid, SERVER_CPU)
        await wait_listening(port, proc)
        pin(proc.pid, SERVER_CPU)  # threads it made while starting
        return await drive(port, proc.pid, list, args)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def median_run(runs: list[dict[str, object]], top: str) -> dict[str, object]:
    """Of a server's runs, the one with the median set-ups/s at the highest in-flight level."""
    done = [r for r in runs if "error" not in r]
    if not done:
        return runs[0]
    return sorted(done, key=lambda r: rate(r, top) or 0.0)[len(done) // 2]


def rate(run: dict[str, object], level: str) -> float | None:
    levels = cast(dict[str, dict[str, object]], run.get("levels", {}))
    value = levels.get(level, {}).get("setups_per_second")
    return float(cast(float, value)) if value is not None else None


def table(rows: dict[str, list[dict[str, object]]], inflight: list[int]) -> str:
    """One row per server (its median run), then one per run where a server ran more than once.

    Each level's figures are joined by " / " in the order of the levels (a server that
    loses calls at one level still has a fair ratio at the others)."""
    names = [str(n) for n in inflight]
    top = names[-1]
    ours = median_run(rows["calld"], top) if rows.get("calld") else None
    each = " / ".join(names)
    lines = [
        "| server | "
        + " | ".join(f"set-ups/s, {n} in flight" for n in names)
        + f" | calld ÷ it ({each}) | CPU ms/call, server; its DB ({each}) | p50 / p99 ms at 100/s"
        f" | calls ok ({each}) | load |",
        "|---" * (len(names) + 6) + "|",
    ]
    for name, runs in rows.items():
        shown = [("", median_run(runs, top))]
        if len(runs) > 1:
            shown = [(" (median)", shown[0][1])] + [(f" run {i}", run) for i, run in enumerate(runs, 1)]
        for suffix, r in shown:
            if "error" in r:
                lines.append(f"| {name}{suffix} | " + "— | " * (len(names) + 3) + f"{r['error']} | — |")
                continue
            levels = cast(dict[str, dict[str, object]], r["levels"])
            lines.append(
                f"| {name}{suffix} | "
                + " | ".join(str(levels[n]["setups_per_second"]) for n in names)
                + " | "
                + " / ".join(ratio(ours, r, n) for n in names)
                + " | "
                + " / ".join(cpu(levels[n]) for n in names)
                + f" | {r['p50_ms_at_100']} / {r['p99_ms_at_100']} | "
                + " / ".join(str(levels[n]["ok"]) for n in names)
                + f" | {r['load_average']} |"
            )
    return "\n".join(lines)


def ratio(ours: dict[str, object] | None, theirs: dict[str, object], level: str) -> str:
    mine, other = (rate(ours, level) if ours else None), rate(theirs, level)
    return f"{mine / other:.2f}" if mine and other else "—"


def cpu(level: dict[str, object]) -> str:
    db = level.get("db_cpu_ms_per_call")
    return f"{level['cpu_ms_per_call']}" + (f"; {db}" if db is not None else "")


async def main(args: argparse.Namespace) -> int:
    raise_fd_limit()
    os.sched_setaffinity(0, GENERATOR_CPU)
    report: dict[str, object] = {**machine(), "calls": args.calls, "inflight": args.inflight, "repeat": args.repeat}
    prompt = write_prompts(Path(args.work) / "peer-prompts", seconds=0.02) / "greeting.wav"
    rows: dict[str, list[dict[str, object]]] = {}
    runs = [("calld", None), ("bare", sys.executable)]
    if args.peer_python:
        runs += [("greenswitch", args.peer_python), ("genesis", args.peer_python)]
    if args.servers:
        runs = [run for run in runs if run[0] in args.servers.split(",")]
    for name, python in runs:
        for _ in range(args.repeat):
            print(f"{name} …", file=sys.stderr, flush=True)
            result: dict[str, object]
            try:
                if python is None:
                    result = await calld(args)
                else:
                    app = "bare.py" if name == "bare" else f"{name}_app.py"
                    result = await peer(python, app, prompt, args)
            except (RuntimeError, TimeoutError, OSError, asyncpg.PostgresError) as exc:
                result = {"error": repr(exc)}
            rows.setdefault(name, []).append(result)
            print(f"{name}: {result}", file=sys.stderr, flush=True)
    report["servers"] = rows
    print(json.dumps(report, indent=2))
    print()
    print(table(rows, args.inflight))
    return 0


def levels(text: str) -> list[int]:
    """``--inflight``: comma-separated, ascending."""
    found = sorted({int(part) for part in text.split(",") if part.strip()})
    if not found or found[0] < 1:
        raise argparse.ArgumentTypeError("in-flight levels are whole numbers from 1, e.g. 100,500")
    return found


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--peer-python", default="", help="Python of the environment with greenswitch and genesis")
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument(
        "--inflight",
        type=levels,
        default=[100, 500],
        help="calls at once, one throughput phase per level (comma-separated); a call lasts five 20 ms ticks"
        " and its round trips: the rate is at most this / 0.1 s",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each server (the table: each, and the median)")
    parser.add_argument("--latency-seconds", type=float, default=5.0, help="0: no latency phase")
    parser.add_argument("--media-tick", type=float, default=0.02, help="the emulator's frame clock (0: none)")
    parser.add_argument("--work", default="/tmp", help="where the peers' stand-in prompt is written")
    parser.add_argument("--servers", default="", help="only these (comma-separated: calld,bare,greenswitch,genesis)")
    parser.add_argument("--event-loop", default="", help="calld's CALLD_EVENT_LOOP (uvloop or asyncio)")
    sys.exit(asyncio.run(main(parser.parse_args())))


if __name__ == "__main__":
    cli()
