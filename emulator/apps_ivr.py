"""Dialplan applications the IVR needs beyond the Coaching Dial set: ``record`` and ``multiset``.

``record path [time_limit_secs] [silence_thresh] [silence_hits]`` follows
``switch_ivr_record_file``: it ends when the caller keys one of
``playback_terminators`` (``*`` when unset, ``none`` for none), after
``silence_hits`` seconds of continuous silence when a threshold is given (3 s
when the hits are left out), at the time limit, or when the caller hangs up.
EXECUTE_COMPLETE carries ``record_ms``, ``record_samples`` and ``record_seconds``
(and ``playback_terminator_used``).  The file is written (silence, 8 kHz 16-bit
mono) when its folder exists, as FreeSWITCH would fail to open it otherwise.

What the caller does while recording comes from the script's next ``digits``
entry: :class:`~emulator.script.Keys` ``delay`` is how long they speak, then
``digits`` are keyed (``"#"`` ends the message); no entry: the caller says nothing.
Digits keyed are dequeued (FreeSWITCH's record callback consumes them: a
terminator ends the recording, any other is dropped), so none is left for the
next application.

``multiset [^^<delim>]var=value<delim>var=value`` sets each (an empty value unsets).
"""

from __future__ import annotations

import os
import wave
from typing import TYPE_CHECKING

from emulator.apps import AppSpec, set_app

if TYPE_CHECKING:
    from emulator.session import Session

RATE = 8000


def _int(argv: list[str], index: int) -> int:
    return int(argv[index]) if len(argv) > index and argv[index].isdigit() else 0


async def record(s: Session, arg: str) -> None:
    argv = arg.split()
    if not argv:
        s.error("record: no file given")
        return
    path, limit, thresh, hits = argv[0], _int(argv, 1), _int(argv, 2), _int(argv, 3)
    if thresh and not hits:
        hits = 3
    terminators = s.ch.get_var("playback_terminators") or "*"
    if terminators == "none":
        terminators = ""
    if not _folder_exists(path):
        s.error(f"record: cannot open {path!r}")
        return
    keys = s.next_keys()
    started = s.loop.time()
    ends = [float(limit)] if limit else []
    if thresh:
        ends.append((keys.delay if keys else 0.0) + hits)
    end = min(ends) if ends else None
    used = ""
    for index, digit in enumerate(keys.digits if keys else ""):
        assert keys is not None
        at = keys.delay + index * keys.interval
        if end is not None and at >= end:
            break
        if await s.app_wait(s.wait(max(0.0, started + at - s.loop.time()))) == "down":
            break
        s.dtmf(digit)
        used = _take_digits(s, terminators)
        if used:
            break
    if not used and not s.is_down:
        left = None if end is None else max(0.0, started + end - s.loop.time())
        await s.app_wait(s.wait(left))
    _take_digits(s, terminators)  # keyed meanwhile: record's input callback consumed them
    ms = int((s.loop.time() - started) * 1000)
    if end is not None:
        ms = min(ms, int(end * 1000))
    _write_silence(path, ms)
    samples = ms * RATE // 1000
    values: list[tuple[str, str | None]] = [
        ("record_samples", str(samples)),
        ("record_seconds", str(ms // 1000)),
        ("record_ms", str(ms)),
    ]
    if used:
        values.append(("playback_terminator_used", used))
    s.ch.set_vars(values)


def _take_digits(s: Session, terminators: str) -> str:
    """Dequeue the digits keyed so far, as record's DTMF callback does; the first terminator, or ""."""
    used = ""
    while s.dtmf_queue:
        digit = s.dtmf_queue.popleft()
        if digit in terminators and not used:
            used = digit
    return used


def _folder_exists(path: str) -> bool:
    return os.path.isdir(os.path.dirname(path) or ".")


def _write_silence(path: str, ms: int) -> None:
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"\x00\x00" * (ms * RATE // 1000))


async def multiset(s: Session, arg: str) -> None:
    delim = " "
    if arg.startswith("^^") and len(arg) > 2:
        delim, arg = arg[2], arg[3:]
    for pair in arg.split(delim):
        if pair.strip():
            await set_app(s, pair)


APPS_IVR: dict[str, AppSpec] = {
    "record": AppSpec(record, needs_media=True),
    "multiset": AppSpec(multiset),
}
