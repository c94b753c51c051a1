"""What the load generator itself costs: its CPU per call, the full emulator against the lean one.

    python -m benchmarks.generator_cost [--calls 2000] [--inflight 200] [--rounds 3]

The same calls (``bench_peers``' call: answer, a 20 ms guidance, hang-up) go to
``benchmarks/peers/bare.py``, placed alternately by ``FakeFreeSwitch`` (emulator/switch.py)
and by ``LoadSwitch`` (emulator/fast.py), pinned as in ``bench_peers`` (server CPU 0,
generator CPU 1).  Per run: set-ups/s and the CPU time this process used per call (user +
system: the generator, since the server is another process).  On a shared machine the CPU
per call moves with the load; alternating rounds is what makes old and new comparable.
Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
from pathlib import Path

from benchmarks.bench_peers import GENERATOR_CPU, PEERS, SERVER_CPU, pin, wait_listening
from benchmarks.harness import cpu_seconds, place_many, raise_fd_limit
from emulator import CallerScript, FakeFreeSwitch
from emulator.fast import LoadSwitch
from tests.daemon_process import free_port
from tests.stand_in_prompts import write_prompts


def own_cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


async def one(generator: str, port: int, args: argparse.Namespace) -> tuple[int, float]:
    """(calls ok, seconds) for ``args.calls`` calls after 200 to warm up."""
    if generator == "lean":
        lean = LoadSwitch(port=port)
        await lean.place(200, 100)
        tally = await lean.place(args.calls, args.inflight)
        return tally.ok, tally.elapsed
    full = FakeFreeSwitch(port=port, linger_scale=0.0, record_frames=False)
    script = CallerScript()
    await place_many(full, [script] * 200, 100)
    results, elapsed = await place_many(full, [script] * args.calls, args.inflight)
    return sum(1 for r in results if not r.errors), elapsed


async def main(args: argparse.Namespace) -> None:
    raise_fd_limit()
    os.sched_setaffinity(0, GENERATOR_CPU)
    prompt = write_prompts(Path(args.work) / "generator-cost-prompts", seconds=0.02) / "greeting.wav"
    for _ in range(args.rounds):
        for generator in ("full", "lean"):
            port = free_port()
            server = await asyncio.create_subprocess_exec(
                sys.executable, str(PEERS / "bare.py"), str(port), str(prompt)
            )
            try:
                pin(server.pid, SERVER_CPU)
                await wait_listening(port, server)
                user, system = own_cpu()
                server_cpu = cpu_seconds(server.pid)
                ok, elapsed = await one(generator, port, args)
                user, system = own_cpu()[0] - user, own_cpu()[1] - system
                server_used = cpu_seconds(server.pid) - server_cpu
                per_call = 1000 / (args.calls + 200)  # the warm-up's CPU is in the counters too
                print(
                    f"{generator}: {ok}/{args.calls} ok, {ok / elapsed:.0f} set-ups/s; generator"
                    f" {(user + system) * per_call:.3f} ms CPU per call (user {user * per_call:.3f},"
                    f" system {system * per_call:.3f}); bare.py {server_used * per_call:.3f};"
                    f" load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
            finally:
                server.kill()
                await server.wait()


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--inflight", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", default="/tmp", help="where bare.py's stand-in prompt is written")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
