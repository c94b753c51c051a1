"""Shared benchmark plumbing: an embedded PostgreSQL, the daemon's environment, statistics."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from daemon import gc_tuning, loop_stalls
from daemon.postgres.embedded import EmbeddedPostgres
from daemon.postgres.migrate import migrate
from emulator import CallerScript, CallResult, FakeFreeSwitch
from tests.stand_in_prompts import write_prompts


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_model() -> str:
    """The CPU's model name (what ``lscpu`` shows as "Model name")."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def machine() -> dict[str, object]:
    """What a result needs beside it: the CPU, the cores, Python, and how busy the machine already was."""
    return {
        "machine": f"{cpu_model()}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def raise_fd_limit() -> None:
    """Thousands of calls need thousands of sockets (two per call on one machine)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (/proc/PID/stat).

    Unlike a rate, CPU time per call hardly moves when other work shares the cores.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def bench_database() -> AsyncIterator[tuple[str, Path]]:
    """A throw-away embedded PostgreSQL, migrated; yields (dsn, work dir)."""
    work = Path(tempfile.mkdtemp(prefix="calld-bench-"))
    pg = await asyncio.to_thread(EmbeddedPostgres, work / "pgdata", delete_on_stop=True)
    try:
        conn = await asyncpg.connect(pg.dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield pg.dsn, work
    finally:
        await asyncio.to_thread(pg.stop)


#: The bearer token of a benchmark daemon's ``/metrics`` (it refuses the scrape without one).
METRICS_TOKEN = "benchmark-metrics-token"


def daemon_env(dsn: str, work: Path, *, node: str, pool_size: int = 20, **prompt_seconds: float) -> dict[str, str]:
    """Environment of a benchmark daemon: short stand-in prompts, quiet logs.

    ``CALLD_LOOP_STALL_REPORT`` set for the benchmark is passed on (daemon.loop_stalls: what held the loop).
    """
    prompts = write_prompts(work / f"prompts-{uuid.uuid4().hex[:6]}", seconds=0.02, **prompt_seconds)
    stalls = os.environ.get(loop_stalls.VARIABLE)
    return {
        **({loop_stalls.VARIABLE: os.path.abspath(stalls)} if stalls else {}),
        "CALLD_DATABASE_URL": dsn,
        "CALLD_DATA_DIR": str(work / f"data-{node}"),  # the node's settlement journal; never ./var
        "CALLD_PROMPTS_DIR": str(prompts),
        "CALLD_GENERATE_PROMPTS": "false",
        "CALLD_NODE_ID": f"{node}-{uuid.uuid4().hex[:6]}",
        "CALLD_DB_POOL_SIZE": str(pool_size),
        "CALLD_LOG_LEVEL": "error",
        "CALLD_METRICS_TOKEN": METRICS_TOKEN,
    }


async def place_many(
    fs: FakeFreeSwitch,
    scripts: Iterable[CallerScript],
    inflight: int,
    rate: float | None = None,
) -> tuple[list[CallResult], float]:
    """Place the calls with at most ``inflight`` at once (and at most ``rate`` per second).

    ``scripts`` may be a generator: the next call is taken only when it may start.
    """
    gate = asyncio.Semaphore(inflight)
    results: list[CallResult] = []

    async def one(script: CallerScript) -> None:
        try:
            results.append(await fs.place_call(script))
        finally:
            gate.release()

    started = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for i, script in enumerate(scripts):
            await gate.acquire()
            if rate is not None:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            tg.create_task(one(script))
    return results, time.perf_counter() - started


async def daemon_status(http_port: int) -> dict[str, object]:
    """The daemon's ``GET /status`` (open event-socket sessions, every tenant's live calls)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", http_port)
    try:
        writer.write(b"GET /status HTTP/1.0\r\n\r\n")
        body = (await reader.read()).partition(b"\r\n\r\n")[2]
    finally:
        writer.close()
    status: dict[str, object] = json.loads(body)
    return status


def stand_in_gc() -> None:
    """The benchmark process (the emulated FreeSWITCH and its callers) collects garbage like the daemon.

    Its loop stalled for over a second a few times a run under load (``generator_loop_lag``),
    and every kill that arrived meanwhile was run that late (``emulator.arrival``): the
    stand-in's pause, not the daemon's, which a real FreeSWITCH does not have.  Full
    collections over the start-up heap are one such pause the daemon already avoids.
    """
    gc_tuning.tune()
    gc_tuning.settle()
