"""The protocol layer alone: CPU time per call of the Session, in one process.

    python -m benchmarks.session_path [--calls 5000] [--repeat 5]

A call is what the set-up benchmark's daemon does on the wire (connect, myevents,
linger in one write; answer; a playback; hangup; CHANNEL_HANGUP_COMPLETE; close),
driven by the scripted in-memory channel of tests/fake_channel.py: no socket, no
database, no emulator.  CPU time (``time.process_time``) rather than wall time,
so other work on the machine moves it little; the best of ``--repeat`` runs is
reported.  The fake channel's own work is included (the same for any Session).

Second figure, the wire alone: the bytes FreeSWITCH sent in one captured call
(play_fs_hangup: answer, a tone, hang-up) fed to a sans-IO Connection as they
were chunked, CHANNEL_DATA read into a ChannelInfo; once with every event
``myevents`` brings and once without those the set-up write unsubscribes
(daemon/outbound/subscription.py), as FreeSWITCH then sends it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from benchmarks.harness import machine
from daemon.esl import Parser
from daemon.esl.connection import ChannelData, Connection
from daemon.outbound.channel import ChannelInfo
from daemon.outbound.subscription import NIXED
from tests.fake_channel import FakeChannel
from tests.transcripts import load

CAPTURE = "play_fs_hangup.jsonl"
#: The Event-UUIDs the captured app sent (answer, playback): its completions match them.
CAPTURED_EXECUTES = ("cbf1d8af-02ba-4e54-a381-b8ec15ea0932", "9edc438b-79b6-461f-b420-9ef202a5411e")


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


def captured_reads(nixed: bool) -> list[bytes]:
    """FreeSWITCH's reads of the captured call; ``nixed``: without the events nixevent drops."""
    parser = Parser()
    reads = []
    for record in load(CAPTURE):
        if record.direction != "fs>app" or not record.data:
            continue
        kept = [
            frame.to_bytes()
            for frame in parser.feed(record.data)
            if not (nixed and frame.content_type == "text/event-plain" and frame.event().name in NIXED)
        ]
        if kept:
            reads.append(b"".join(kept))
    return reads


def wire_call(reads: list[bytes]) -> None:
    conn = Connection()
    conn.connect(), conn.myevents(), conn.linger(5)
    data = conn.receive_data(reads[0])[0]
    assert isinstance(data, ChannelData)
    ChannelInfo.from_connect_reply(data.frame)
    for event_uuid in CAPTURED_EXECUTES:
        conn.execute("playback", "x", event_uuid=event_uuid)
    conn.hangup()
    for read in reads[1:]:
        conn.receive_data(read)
    assert conn.hangup_complete is not None and conn.executing == 0


def wire(calls: int, repeat: int, nixed: bool) -> float:
    reads = captured_reads(nixed)
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(calls):
            wire_call(reads)
        best = min(best, time.process_time() - started)
    return best / calls


async def main(args: argparse.Namespace) -> dict[str, object]:
    report = machine()
    await run(500, args.inflight)  # warm-up
    best = min([await run(args.calls, args.inflight) for _ in range(args.repeat)])
    report["session_cpu_us_per_call"] = round(best / args.calls * 1e6, 1)
    print(f"session path: {report['session_cpu_us_per_call']} µs CPU per call (best of {args.repeat})", flush=True)
    for nixed in (False, True):
        key = "wire_nixed_us_per_call" if nixed else "wire_all_events_us_per_call"
        report[key] = round(wire(args.calls, args.repeat, nixed) * 1e6, 1)
        bytes_in = sum(map(len, captured_reads(nixed)))
        what = "without the nixed events" if nixed else "every myevents event"
        print(f"wire, {what}: {report[key]} µs CPU per call, {bytes_in} bytes", flush=True)
    return report


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--inflight", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))


if __name__ == "__main__":
    cli()
