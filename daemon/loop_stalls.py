"""What holds the event loop when it is late: a diagnostic, off unless ``CALLD_LOOP_STALL_REPORT`` names a file.

``calld_event_loop_lag_seconds`` (daemon.loop_lag) says *that* the loop was late,
not *what* ran meanwhile; uvloop has no slow-callback log like the standard
loop's debug mode.  :class:`StallSampler` keeps a heartbeat on the loop (a timer
every 10 ms) and watches it from a thread of its own: while the heartbeat is
more than ``threshold`` late, every 5 ms it takes the main thread's stack
(``sys._current_frames``) and counts it.  It also times every garbage
collection (``gc.callbacks``), which holds the GIL and so shows in no stack.
Every few seconds, and at stop, it writes what it counted as JSON to the file:

* ``late_seconds`` and ``late_main_thread_cpu_seconds``: how long the loop was late, and how
  much of that the main thread ran on a core (the rest it waited for one: CPU starvation);
* ``stacks``: the most counted stacks, outermost frame first (``file:function``);
* ``functions``: per function, in how many late samples it was on the stack;
* ``gc``: per generation, collections, total (wall and CPU), longest, how many took over the threshold, and the
  objects they freed (garbage in reference cycles, which only a collection frees).

A thread switch costs the loop little (the watcher sleeps between looks and
only reads frames while the loop is already late), but it is a tool for
finding a cause, not a thing to leave on in production.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

VARIABLE = "CALLD_LOOP_STALL_REPORT"

#: A sample is taken while the heartbeat is later than this (seconds): the cutoff's aim.
THRESHOLD = 0.05
BEAT = 0.01  # the heartbeat's interval (seconds)
LOOK = 0.005  # the watcher's interval (seconds)
WRITE_EVERY = 5.0  # seconds between two reports written
DEPTH = 40  # frames kept per stack, innermost first
TOP = 60  # stacks and functions kept in the report


def from_environment(environ: Mapping[str, str] = os.environ) -> StallSampler | None:
    path = environ.get(VARIABLE, "")
    return StallSampler(Path(path)) if path else None


def _name(frame: FrameType) -> str:
    code = frame.f_code
    parts = Path(code.co_filename).parts
    for root in ("daemon", "asyncpg", "aiohttp", "asyncio", "structlog", "prometheus_client", "emulator"):
        if root in parts:
            where = "/".join(parts[len(parts) - 1 - parts[::-1].index(root) :])
            break
    else:
        where = parts[-1] if parts else "?"
    return f"{where}:{code.co_name}"


def stack_of(frame: FrameType | None) -> tuple[str, ...]:
    """The frame's stack, outermost first, at most :data:`DEPTH` innermost frames."""
    names: list[str] = []
    while frame is not None and len(names) < DEPTH:
        names.append(_name(frame))
        frame = frame.f_back
    return tuple(reversed(names))


class StallSampler:
    """Counts the main thread's stacks while the loop's heartbeat is late; writes them to ``path``."""

    def __init__(self, path: Path, threshold: float = THRESHOLD) -> None:
        self.path = path
        self.threshold = threshold
        self.stacks: Counter[tuple[str, ...]] = Counter()
        self.samples = 0
        self.stalls = 0  # runs of late samples
        self.gc: dict[int, dict[str, float]] = {}
        self._last = time.monotonic()
        self._main = threading.get_ident()
        self._handle: asyncio.TimerHandle | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._gc_started = 0.0
        self._gc_cpu_started = 0.0
        self.late_seconds = 0.0  # wall time the loop spent late (between looks)
        self.late_cpu_seconds = 0.0  # of which the main thread was on a core

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._main = threading.get_ident()
        self._beat(loop)
        gc.callbacks.append(self._gc)
        self._thread = threading.Thread(target=self._watch, name="loop-stalls", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.write()

    def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        self._last = time.monotonic()
        self._handle = loop.call_later(BEAT, self._beat, loop)

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        cpu = time.thread_time()
        if phase == "start":
            self._gc_started, self._gc_cpu_started = now, cpu
            return
        took = now - self._gc_started
        with self._lock:
            row = self.gc.setdefault(
                info["generation"],
                {"count": 0, "seconds": 0.0, "cpu_seconds": 0.0, "max": 0.0, "over": 0, "collected": 0},
            )
            row["count"] += 1
            row["cpu_seconds"] += cpu - self._gc_cpu_started
            row["collected"] += info["collected"]
            row["seconds"] += took
            row["max"] = max(row["max"], took)
            row["over"] += took > self.threshold

    def _watch(self) -> None:
        late_before = False
        main_cpu = time.pthread_getcpuclockid(self._main)
        written = before = time.monotonic()
        cpu_before = time.clock_gettime(main_cpu)
        while not self._stopping.wait(LOOK):
            now, cpu = time.monotonic(), time.clock_gettime(main_cpu)
            late = now - self._last - BEAT > self.threshold
            if late:
                stack = stack_of(sys._current_frames().get(self._main))
                with self._lock:
                    self.samples += 1
                    self.stalls += not late_before
                    self.stacks[stack] += 1
                    if late_before:
                        self.late_seconds += now - before
                        self.late_cpu_seconds += cpu - cpu_before
            late_before, before, cpu_before = late, now, cpu
            if now - written > WRITE_EVERY:
                written = now
                self.write()

    def report(self) -> dict[str, object]:
        with self._lock:
            functions: Counter[str] = Counter()
            for stack, count in self.stacks.items():
                for name in set(stack):
                    functions[name] += count
            return {
                "threshold_ms": self.threshold * 1000,
                "late_samples": self.samples,
                "stalls": self.stalls,
                "late_seconds": round(self.late_seconds, 3),
                "late_main_thread_cpu_seconds": round(self.late_cpu_seconds, 3),
                "gc": {
                    str(gen): {
                        **row,
                        "seconds": round(row["seconds"], 3),
                        "cpu_seconds": round(row["cpu_seconds"], 3),
                        "max_ms": round(row["max"] * 1000, 1),
                    }
                    for gen, row in sorted(self.gc.items())
                },
                "functions": functions.most_common(TOP),
                "stacks": [[count, ";".join(stack)] for stack, count in self.stacks.most_common(TOP)],
            }

    def write(self) -> None:
        text = json.dumps(self.report(), indent=1)
        part = self.path.with_suffix(".part")
        part.write_text(text)
        part.replace(self.path)
