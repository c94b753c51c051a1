"""Guidance audio benchmark: a 3-minute 44.1 kHz stereo mp3 through the stage, and the daemon's idle RSS.

    python -m benchmarks.audio [--seconds 180] [--runs 3] [--rss] [--base 88eda17]

1. **input**: Japanese speech from the synthesiser (the catalogue's sentences with pauses,
   repeated to ``--seconds``), resampled to 44.1 kHz, two slightly different channels, a
   little room noise, encoded as mp3 with PyAV (libmp3lame, 128 kb/s).
2. **in process**: ``pipeline.process_file`` (decode, stage, both WAVs written) after the
   imports, ``--runs`` times: the processing cost itself.
3. **through the child**: what an upload costs end to end, ``isolate.run_sync("upload")``
   (a fresh interpreter that imports numpy/scipy/PyAV, decodes, processes, answers): time and
   the child's peak RSS (memory bound of one upload).
4. ``--rss``: idle RSS of ``python -m daemon run`` (embedded PostgreSQL, prompts generated at
   start) from this tree and from ``--base`` (extracted with ``git archive``), read from
   ``/proc/PID/status`` VmRSS a few seconds after /status answers 200.

Results go to BENCHMARKS.md by hand, with the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import rss_kib
from tests.audio.media import FORMATS, encode, stereo
from tests.daemon_process import free_port

REPO = Path(__file__).resolve().parents[1]


def speech_mp3(path: Path, seconds: float) -> Path:
    from daemon.audio import synth
    from daemon.audio.dsp import resample
    from daemon.prompts import PROMPTS

    pieces: list[np.ndarray] = []
    total = 0
    rate = 44100
    rng = np.random.default_rng(4)
    for text in list(PROMPTS.values())[:16]:
        audio, tts_rate = synth.tts(text)
        x = resample(audio, tts_rate, rate)
        pieces += [x, np.zeros(round(rng.uniform(0.3, 1.2) * rate))]
        total += len(x) + len(pieces[-1])
    voice = np.concatenate(pieces)
    voice = np.tile(voice, int(np.ceil(seconds * rate / len(voice))))[: round(seconds * rate)]
    noise = rng.standard_normal(len(voice)) * 10 ** (-60 / 20)
    return encode(path, stereo(voice * 0.5 + noise), rate, FORMATS["mp3"])


def bench_in_process(mp3: Path, runs: int, work: Path) -> list[float]:
    from daemon.audio.decode import decode
    from daemon.audio.pipeline import process_file

    times, cpu = [], []
    for i in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        process_file(mp3, work / f"in-{i}", max_seconds=600)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    print(f"  CPU time per run (less sensitive to the shared cores): best {min(cpu):.2f} s")
    started = time.perf_counter()
    decode(mp3, max_seconds=600)
    print(f"  decode alone (PyAV + resample to 16 kHz mono): {time.perf_counter() - started:.2f} s")
    return times


def bench_child(mp3: Path, runs: int, work: Path) -> tuple[list[float], int]:
    """The upload job as the daemon runs it (isolate's command and environment); times and peak RSS (KiB)."""
    from daemon.audio import isolate

    times, peak = [], 0
    for i in range(runs):
        job = isolate._job("upload", {"path": str(mp3), "staging": str(work / f"child-{i}"), "max_seconds": 600}, 2**31)
        started = time.perf_counter()
        child = subprocess.Popen(
            isolate._command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=isolate._env(),
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(job)
        child.stdin.close()
        answer = child.stdout.read()
        status = child.wait()
        times.append(time.perf_counter() - started)
        result = json.loads(answer)
        if status != 0 or "ok" not in result:
            raise RuntimeError(f"child failed: {answer[:300]!r}")
        peak = max(peak, int(result["peak_rss_kib"]))  # VmHWM (wait4's maxrss counts the fork of this process)
    return times, peak


async def idle_rss(tree: Path, work: Path) -> tuple[int, float]:
    """VmRSS (KiB) of an idle daemon from ``tree`` that generated its prompts; and its start time."""
    http_port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "CALLD_DATA_DIR": str(work),
        "CALLD_GENERATE_PROMPTS": "true",
        "CALLD_HTTP_PORT": str(http_port),
        "CALLD_ESL_PORT": str(free_port()),
        "CALLD_LOG_LEVEL": "error",
        "CALLD_NODE_ID": f"rss-{work.name}",
    }
    env.pop("CALLD_DATABASE_URL", None)
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "daemon", "run", cwd=tree, env=env, stdin=asyncio.subprocess.DEVNULL
    )
    try:
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"daemon from {tree} exited with {proc.returncode}")
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", http_port)
                writer.write(b"GET /status HTTP/1.0\r\n\r\n")
                head = await reader.read()
                writer.close()
                if b" 200 " in head.split(b"\r\n", 1)[0]:
                    break
            except OSError:
                pass
            await asyncio.sleep(0.2)
        ready = time.perf_counter() - started
        await asyncio.sleep(5)
        return rss_kib(proc.pid), ready
    finally:
        proc.terminate()
        await proc.wait()


def extract(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True, check=True).stdout
    into.mkdir(parents=True)
    tar = into / "tree.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as t:
        t.extractall(into, filter="data")
    tar.unlink()
    return into


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rss", action="store_true", help="also measure the idle daemon's RSS (slow)")
    parser.add_argument("--base", default="88eda17", help="revision to compare the idle RSS with")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    work = Path(tempfile.mkdtemp(prefix="calld-audio-bench-"))
    try:
        mp3 = speech_mp3(work / "speech.mp3", args.seconds)
        print(f"input: {mp3.stat().st_size / 1e6:.1f} MB mp3, {args.seconds:.0f} s, 44.1 kHz stereo")
        times = bench_in_process(mp3, args.runs, work)
        print(f"in process: median {statistics.median(times):.2f} s, best {min(times):.2f} s ({args.runs} runs)")
        times, peak = bench_child(mp3, args.runs, work)
        print(
            f"through the child: median {statistics.median(times):.2f} s, best {min(times):.2f} s;"
            f" child peak RSS {peak / 1024:.0f} MB"
        )
        print(f"load average after: {os.getloadavg()}")
        if args.rss:
            base = extract(args.base, work / "base")
            for label, tree in (("this tree", REPO), (f"base {args.base}", base)):
                rss, ready = asyncio.run(idle_rss(tree, work / f"data-{label.split()[0]}"))
                print(f"idle daemon RSS ({label}): {rss / 1024:.1f} MB (ready after {ready:.1f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
