"""Run a decode or synthesis job in a child process (:mod:`daemon.audio.child`) with a time limit.

The daemon never imports numpy, PyAV or pyopenjtalk: a child does the work and exits, so
the daemon's memory stays small (issue 6: pyopenjtalk kept 150 MB resident after generating
prompts) and a hostile file that makes FFmpeg spin or balloon is killed, never stalling the
event loop.  ``run`` is for async code; ``run_sync`` for start-up code in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import daemon
from daemon.audio.errors import AudioRejected
from daemon.logs import get_logger

_log = get_logger(__name__)
_PACKAGE_ROOT = str(Path(daemon.__file__).resolve().parents[1])


class ChildFailed(RuntimeError):
    """The child crashed or answered nonsense: our bug, not the input's (HTTP 500)."""


def _command() -> list[str]:
    return [sys.executable, "-m", "daemon.audio.child"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"  # one core at most: the other one keeps taking calls
    return env


def _job(task: str, args: dict[str, Any], memory_bytes: int) -> bytes:
    return json.dumps({"task": task, "args": args, "memory_bytes": memory_bytes}).encode()


def _answer(task: str, returncode: int | None, out: bytes, err: bytes) -> Any:
    try:
        answer = json.loads(out) if out else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        tail = err.decode("utf-8", "replace")[-2000:]
        _log.error("audio_child_failed", task=task, returncode=returncode, stderr=tail)
        if returncode is not None and returncode < 0:  # killed by a signal (e.g. the kernel at the memory cap)
            raise AudioRejected("corrupt", "the file could not be decoded (the decoder was stopped)")
        raise ChildFailed(f"audio child exited with {returncode} and no answer")
    _log.debug("audio_child_done", task=task, peak_rss_kib=answer.get("peak_rss_kib"))
    if "rejected" in answer:
        rejected = answer["rejected"]
        raise AudioRejected(str(rejected["reason"]), str(rejected["message"]))
    if "error" in answer:
        _log.error("audio_child_error", task=task, error=answer["error"])
        raise ChildFailed(str(answer["error"]))
    return answer["ok"]


def _timed_out(timeout: float) -> AudioRejected:
    return AudioRejected("timeout", f"processing took longer than {timeout:.0f} s and was stopped")


async def run(task: str, args: dict[str, Any], *, time_limit: float, memory_bytes: int) -> Any:
    proc = await asyncio.create_subprocess_exec(
        *_command(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
    )
    try:
        async with asyncio.timeout(time_limit):
            out, err = await proc.communicate(_job(task, args, memory_bytes))
    except TimeoutError:
        raise _timed_out(time_limit) from None
    finally:
        if proc.returncode is None:  # timed out or cancelled: never leave it running
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    return _answer(task, proc.returncode, out, err)


def run_sync(task: str, args: dict[str, Any], *, timeout: float, memory_bytes: int) -> Any:
    try:
        done = subprocess.run(  # kills the child on timeout
            _command(),
            input=_job(task, args, memory_bytes),
            capture_output=True,
            timeout=timeout,
            env=_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _timed_out(timeout) from None
    return _answer(task, done.returncode, done.stdout, done.stderr)
