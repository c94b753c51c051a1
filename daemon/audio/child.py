"""The child process that decodes and synthesises: ``python -m daemon.audio.child``.

Reads one JSON job on stdin, writes one JSON answer on stdout, exits.  Before importing
anything heavy it lowers its priority (calls keep the CPU) and caps its address space, so a
hostile file can neither starve the daemon nor eat the machine's memory; the parent kills it
when the time limit passes.  pyopenjtalk prints to stdout when imported, so the answer goes
to a private copy of the original stdout and fd 1 points at stderr.

Answers: ``{"ok": <result>}``, ``{"rejected": {"reason", "message"}}`` (the input's fault), or
``{"error": "<text>"}`` (ours); each with ``peak_rss_kib``, the child's peak memory.
JSON, not pickle: the parent never unpickles what a child that parsed hostile data sends back.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path
from typing import Any


def _upload(args: dict[str, Any]) -> Any:
    from daemon.audio.pipeline import process_file

    report = process_file(Path(args["path"]), Path(args["staging"]), max_seconds=float(args["max_seconds"]))
    return report.model_dump(mode="json")


def _speech(args: dict[str, Any]) -> Any:
    from daemon.audio import synth
    from daemon.audio.errors import AudioRejected
    from daemon.audio.pipeline import process_speech

    try:
        audio, rate = synth.tts(
            args["text"], speed=float(args.get("speed", 1.0)), half_tone=float(args.get("pitch", 0.0))
        )
    except ValueError as exc:  # nothing the voice can read (no Japanese, only symbols), or bad settings
        raise AudioRejected("invalid_text", f"the text cannot be read aloud: {exc}") from None
    return process_speech(audio, rate, Path(args["staging"])).model_dump(mode="json")


def _speech_batch(args: dict[str, Any]) -> Any:
    """Several texts in one process (the prompt catalogue at start): pyopenjtalk loads once."""
    from daemon.audio import synth
    from daemon.audio.pipeline import process_speech

    reports = []
    for item in args["items"]:
        audio, rate = synth.tts(item["text"], speed=float(item.get("speed", 1.0)))
        report = process_speech(audio, rate, Path(item["staging"]), joined=bool(item.get("joined")))
        reports.append(report.model_dump(mode="json"))
    return reports


TASKS = {"upload": _upload, "speech": _speech, "speech_batch": _speech_batch}


def main() -> int:
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    job = json.loads(sys.stdin.read())
    limit = int(job.get("memory_bytes") or 0)
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.nice(10)
    try:
        answer: dict[str, Any] = {"ok": TASKS[job["task"]](job["args"])}
    except MemoryError:
        answer = {"rejected": {"reason": "corrupt", "message": "decoding this file needs more memory than allowed"}}
    except Exception as exc:
        from daemon.audio.errors import AudioRejected

        if isinstance(exc, AudioRejected):
            answer = {"rejected": {"reason": exc.reason, "message": exc.message}}
        else:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
    answer["peak_rss_kib"] = _peak_rss_kib()
    with os.fdopen(answer_fd, "w", encoding="utf-8") as out:
        json.dump(answer, out)
    return 0


def _peak_rss_kib() -> int:
    """VmHWM: this process image's peak RSS (ru_maxrss would include the parent's, copied by fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
