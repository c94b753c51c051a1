"""What a customer sent (a recording, or typed text) becomes a guidance's sound files.

The one way in for both front doors (the JSON API and the console): the
recording, already on disk, or the text is processed in the child process
(:mod:`daemon.audio.isolate`, one job at a time per daemon, so the other core
keeps taking calls), then filed in the :class:`~daemon.audio.store.GuidanceStore`.
Refusals are :class:`~daemon.audio.errors.AudioRejected` with their reason;
each front door says them its own way (an HTTP status, a Japanese sentence).
Nothing here knows about requests or rows.
"""

from __future__ import annotations

import asyncio
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from daemon.audio import isolate
from daemon.audio.errors import AudioRejected
from daemon.audio.limits import GuidanceLimits
from daemon.audio.report import Report
from daemon.audio.store import GuidanceStore

_EXT = re.compile(r"^[a-z0-9]{1,8}$")
_jobs: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


@functools.cache
def limits() -> GuidanceLimits:
    return GuidanceLimits()


@dataclass(frozen=True, slots=True)
class Upload:
    """A recording as received: a private file (the receiver removes it) and what the sender called it."""

    path: Path
    size: int
    sha256: str
    filename: str | None

    @property
    def ext(self) -> str:
        """The original's extension as kept in the store (``bin`` when it has none we can use)."""
        suffix = Path(self.filename or "").suffix.lower().lstrip(".")
        return suffix if _EXT.match(suffix) else "bin"


@dataclass(frozen=True, slots=True)
class Filed:
    """The sound in the store: what calls play, what was done, and the original kept (uploads only)."""

    report: Report  # its outputs name the files in the store
    path: Path  # 8 kHz: what a flow hands to FreeSWITCH's playback
    wideband_path: Path
    original: Path | None


def _one_at_a_time() -> asyncio.Semaphore:
    """One decode/synthesis child per daemon at a time: the other core keeps taking calls."""
    loop = asyncio.get_running_loop()
    return _jobs.setdefault(loop, asyncio.Semaphore(1))


async def _process(store: GuidanceStore, task: str, args: dict[str, object]) -> tuple[Report, Path]:
    staging = store.staging()
    try:
        async with _one_at_a_time():
            answer = await isolate.run(
                task,
                {**args, "staging": str(staging)},
                time_limit=limits().timeout_seconds,
                memory_bytes=limits().memory_bytes,
            )
        return Report.model_validate(answer), staging
    except BaseException:
        store.discard(staging)
        raise


def _file(store: GuidanceStore, report: Report, staging: Path, upload: Upload | None) -> Filed:
    plain = store.commit(
        staging,
        report.digest,
        original=upload.path if upload else None,
        sha256=upload.sha256 if upload else "",
        ext=upload.ext if upload else "",
    )
    outputs = [o.model_copy(update={"file": str(store.path(report.digest, o.rate))}) for o in report.outputs]
    return Filed(
        report=report.model_copy(update={"outputs": outputs}),
        path=plain,
        wideband_path=store.path(report.digest, 16000),
        original=store.original_path(upload.sha256, upload.ext) if upload else None,
    )


async def recording(store: GuidanceStore, upload: Upload) -> Filed:
    """Decode, clean and loudness-tune an uploaded recording (mp3, m4a/mp4, wav, flac, ogg/webm, amr)."""
    report, staging = await _process(store, "upload", {"path": str(upload.path), "max_seconds": limits().max_seconds})
    return _file(store, report, staging, upload)


def check_text(text: str) -> None:
    """Refuse text the voice must not be given, before a child is started."""
    if len(text) > limits().max_text_chars:
        raise AudioRejected("invalid_text", f"the text has {len(text)} characters; at most {limits().max_text_chars}")
    if any(unicodedata.category(ch) == "Cc" for ch in text.replace("\n", "")):
        raise AudioRejected("invalid_text", "the text must not contain control characters")


async def heard(store: GuidanceStore, text: str, *, speed: float, pitch: float, rate: int = 16000) -> bytes:
    """Typed text as a call would play it (the same stage), for a preview: nothing is filed."""
    check_text(text)
    _, staging = await _process(store, "speech", {"text": text, "speed": speed, "pitch": pitch})
    try:
        return await asyncio.to_thread((staging / f"{rate}.wav").read_bytes)
    finally:
        store.discard(staging)


async def speech(store: GuidanceStore, text: str, *, speed: float, pitch: float) -> Filed:
    """Read Japanese text aloud (speech synthesis) through the same stage as an upload."""
    check_text(text)
    report, staging = await _process(store, "speech", {"text": text, "speed": speed, "pitch": pitch})
    return _file(store, report, staging, None)
