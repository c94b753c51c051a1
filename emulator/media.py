"""Media on the caller leg: how long a file plays, and playing it while the caller keys.

Durations follow the media: a ``tone_stream`` lasts its tones (``%(500,0,440);loops=2``
completed 1.004 s after it started, play_fs_hangup), a WAV file its frames, a
``file_string://a!b`` its files in sequence.

:func:`play` is ``switch_ivr_play_file``: with an input callback it dequeues each
DTMF digit as it arrives and stops when the callback says so; without one (the
bad-input prompt of ``play_and_get_digits``) digits stay queued.
"""

from __future__ import annotations

import math
import os
import re
import time
import wave
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from emulator.session import Session

#: ``stopped``: uuid_break (FILE PLAYED); ``transfer``: uuid_transfer took the channel (PLAYBACK ERROR).
PlayOutcome = Literal["done", "break", "down", "stopped", "transfer"]
#: Called with each digit dequeued during the playback; True stops it (SWITCH_STATUS_BREAK).
DigitCallback = Callable[[str], bool]

_TONE = re.compile(r"%\((\d+),(\d+)")
_LOOPS = re.compile(r"(?:^|;)\s*(?:loops|L)\s*=\s*(-?\d+)")
_wav_cache: dict[str, tuple[float, float]] = {}


def tone_duration(spec: str) -> float:
    """``tone_stream://`` length in seconds: the sum of on+off of each ``%(on,off,…)``, times loops."""
    once = sum(int(on) + int(off) for on, off in _TONE.findall(spec)) / 1000
    match = _LOOPS.search(spec)
    loops = int(match.group(1)) if match else 1
    if loops < 0:
        return math.inf
    return once * max(loops, 1)


def wav_duration(path: str) -> float | None:
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    cached = _wav_cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        with wave.open(path, "rb") as w:
            duration = w.getnframes() / float(w.getframerate())
    except (wave.Error, EOFError, OSError):
        return None
    _wav_cache[path] = (mtime, duration)
    return duration


def media_duration(path: str) -> float | None:
    """Seconds a playback of ``path`` lasts; ``None`` when FreeSWITCH could not open it."""
    path = path.strip()
    if path.startswith("{") and "}" in path:
        path = path[path.index("}") + 1 :]
    if path.startswith("tone_stream://"):
        return tone_duration(path[len("tone_stream://") :])
    if path.startswith("silence_stream://"):
        first = path[len("silence_stream://") :].split(",")[0]
        ms = int(first) if first.lstrip("-").isdigit() else 0
        return math.inf if ms <= 0 else ms / 1000
    if path.startswith("file_string://"):
        total = 0.0
        for part in path[len("file_string://") :].split("!"):
            one = media_duration(part)
            if one is None:
                return None
            total += one
        return total
    if path.lower().endswith(".wav"):
        return wav_duration(path)
    return None


def playback_terminators(value: str | None) -> str:
    """mod_dptools ``on_dtmf``: the digits that stop a ``playback`` (``*`` unless set)."""
    if value is None:
        return "*"
    if value.lower() == "any":
        return "1234567890*#"
    if value.lower() == "none":
        return ""
    return value


async def play(s: Session, duration: float, on_dtmf: DigitCallback | None = None) -> PlayOutcome:
    """``switch_ivr_play_file``: play, set the playback_* variables.

    ``done``: the file ended; ``break``: ``on_dtmf`` stopped it at a digit; ``down``: the
    channel went down.
    """
    started = time.monotonic()
    outcome: PlayOutcome = "done"
    stop = s.media_started()
    try:
        while True:
            left = duration - (time.monotonic() - started)
            if left <= 0:
                break
            also = (stop, s.dtmf_arrival()) if on_dtmf is not None else (stop,)
            waited = await s.app_wait(s.wait(left if math.isfinite(left) else None, *also))
            if waited == "down":
                outcome = "down"
                break
            if stop.done():
                outcome = "stopped" if stop.result() == "break" else "transfer"
                s.broken = outcome == "stopped"
                break
            if waited == "event" and on_dtmf is not None:
                halt = False
                while s.dtmf_queue and not halt:
                    halt = on_dtmf(s.dtmf_queue.popleft())
                if halt:
                    outcome = "break"
                    break
            elif waited == "timeout":
                break
    finally:
        s.media_ended(stop)
    elapsed = time.monotonic() - started
    ms = int(duration * 1000) if outcome == "done" else int(min(duration, elapsed) * 1000)
    s.played_ms += ms
    samples = ms * 8
    s.ch.set_vars(
        [
            ("playback_last_offset_pos", str(samples)),
            ("playback_seconds", str(ms // 1000)),
            ("playback_ms", str(ms)),
            ("playback_samples", str(samples)),
        ]
    )
    return outcome
