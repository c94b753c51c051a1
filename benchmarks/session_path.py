"""The protocol layer alone: CPU time per call of the Session, in one process.

    python -m benchmarks.session_path [--calls 5000] [--repeat 5]

A call is what the set-up benchmark's daemon does on the wire (connect, myevents,
linger in one write; answer; a playback; hangup; CHANNEL_HANGUP_COMPLETE; close),
driven by the scripted in-memory channel of tests/fake_channel.py: no socket, no
database, no emulator.  CPU time (``time.process_time``) rather than wall time,
so other work on the machine moves it little; the best of ``--repeat`` runs is
reported.  The fake channel's own work is included (the same for any Session).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from benchmarks.harness import machine
from tests.fake_channel import FakeChannel


async def one_call() -> None:
    fake = FakeChannel()
    session = fake.connect()
    await session.start(5)
    await session.execute("answer")
    await session.execute("playback", "/var/prompts/greeting.wav")
    await session.hangup("NORMAL_CLEARING")
    await session.finish(1.0)


async def run(calls: int, inflight: int) -> float:
    gate = asyncio.Semaphore(inflight)

    async def gated() -> None:
        async with gate:
            await one_call()

    started = time.process_time()
    async with asyncio.TaskGroup() as tg:
        for _ in range(calls):
            tg.create_task(gated())
    return time.process_time() - started


async def main(args: argparse.Namespace) -> dict[str, object]:
    report = machine()
    await run(500, args.inflight)  # warm-up
    best = min([await run(args.calls, args.inflight) for _ in range(args.repeat)])
    report["session_cpu_us_per_call"] = round(best / args.calls * 1e6, 1)
    print(f"session path: {report['session_cpu_us_per_call']} µs CPU per call (best of {args.repeat})", flush=True)
    return report


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--inflight", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))


if __name__ == "__main__":
    cli()
