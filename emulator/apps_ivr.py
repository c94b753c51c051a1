"""Dialplan applications the IVR needs beyond the Coaching Dial set: ``record`` and ``multiset``.

``record path [time_limit_secs] [silence_thresh] [silence_hits]`` follows
``switch_ivr_record_file`` and the record_* captures:

* The file holds the audio frames that **arrived**, not the record's wall time: a
  7.92 s record of 7.08 s of 20 ms speech packets wrote 7.060 s (one frame short;
  ``record_ms`` 7060 = the file), no RTP at all wrote a 44-byte header
  (``record_ms`` 0), a phone sending silent RTP got its silence written.  With 30 ms
  packets FreeSWITCH changed its codec's ptime and lost 200 ms more
  (record_caller_speech_ptime30).
* It ends when the caller keys one of ``playback_terminators`` (``*`` when unset,
  ``none`` for none; EXECUTE_COMPLETE one tick after the DTMF event), after
  ``silence_hits`` seconds of silence when a threshold is given (3 s when the hits are
  left out; the count runs from the record's start, RTP or not: record_no_rtp ended
  after 3.000 s), at the time limit, counted in whole epoch seconds (it stops at
  ``int(start) + limit + 1``: ``record F 5`` ran 5.4-6.0 s, record_no_rtp_limit), or
  when the caller hangs up (CHANNEL_HANGUP first, with the linger notice, then
  EXECUTE_COMPLETE one tick later: record_caller_hangup; the file is kept).
* EXECUTE_COMPLETE carries ``silence_hits_exhausted`` (set ``false`` at the start),
  ``playback_terminator_used`` (only when a terminator ended it),
  ``record_record_file_size``, ``record_file_size``, ``record_seconds`` (truncated),
  ``record_ms``, ``record_samples``; ``Application-Response`` stays ``_none_``.

What the caller's phone sends comes from the script's next ``digits`` entry: a
:class:`~emulator.script.Speech` (see there), a :class:`~emulator.script.Keys`
(speech for ``delay`` s, then the keys), or nothing (a phone sending silence).  Speech
is written as a 1 kHz tone, silence as zero samples, so a test can tell them apart.
Digits keyed are dequeued (FreeSWITCH's record callback consumes them: a terminator
ends the recording, any other is dropped), so none is left for the next application.

``multiset [^^<delim>]var=value<delim>var=value`` sets each (an empty value unsets).
"""

from __future__ import annotations

import asyncio
import math
import os
import struct
import time
import wave

from emulator.apps import set_app
from emulator.script import Keys, Speech
from emulator.session import AppSpec, Session

RATE = 8000
WAV_HEADER = 44
#: The one frame every capture's file lacked against the packets that arrived.
LOST_FRAME_MS = 20
#: Lost while FreeSWITCH re-initialises its codec for a caller whose ptime is not its own 20 ms.
PTIME_CHANGE_MS = 200
SILENT_CALLER = Speech()
_TONE = struct.pack("<8h", *(int(8000 * math.sin(2 * math.pi * i / 8)) for i in range(8)))  # 1 kHz at 8 kHz


def _int(argv: list[str], index: int) -> int:
    return int(argv[index]) if len(argv) > index and argv[index].isdigit() else 0


def _speech(entry: Keys | Speech | None) -> Speech:
    if entry is None:
        return SILENT_CALLER
    if isinstance(entry, Keys):
        return Speech(seconds=entry.delay, digits=entry.digits, keyed_at=entry.delay, interval=entry.interval)
    return entry


def silence_end(speech: Speech, hits: int) -> float:
    """When ``hits`` s of silence have gone by (s after the start): speech resets the count."""
    if not speech.rtp or speech.seconds <= 0 or speech.start >= hits:
        return float(hits)
    return speech.start + speech.seconds + hits


def written(speech: Speech, until: float) -> tuple[int, int]:
    """(speech ms, total ms) in the file of a record that ran ``until`` s."""
    if not speech.rtp or until <= speech.start:
        return 0, 0
    ptime = speech.ptime
    packets = math.floor((until - speech.start) * 1000 / ptime + 1e-6) + 1
    spoken = math.ceil(speech.seconds * 1000 / ptime - 1e-6)
    if not speech.silence_after:
        packets = min(packets, spoken)
    lost = LOST_FRAME_MS + (PTIME_CHANGE_MS if ptime != 20 else 0)
    total = max(0, packets * ptime - lost)
    return min(total, max(0, spoken * ptime - lost)), total


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
    speech = _speech(s.next_entry())
    started, epoch = s.loop.time(), time.time()
    if speech.hangs_up_at is not None:
        s.later(speech.hangs_up_at, lambda: s.hangup("NORMAL_CLEARING", "caller", origin="caller"))
    s.ch.set_var("silence_hits_exhausted", "false")
    _reset_read_codec(s)  # set for the record's own reading, restored as it ends
    ends = [math.floor(epoch) + limit + 1 - epoch] if limit else []
    if thresh:
        ends.append(silence_end(speech, hits))
    end = min(ends) if ends else None
    used = ""
    stopped: float | None = None
    for index, digit in enumerate(speech.digits if speech.keyed_at is not None else ""):
        at = (speech.keyed_at or 0.0) + index * speech.interval
        if end is not None and at >= end:
            break
        if await s.app_wait(s.wait(max(0.0, started + at - s.loop.time()))) == "down":
            break
        s.dtmf(digit)
        used = _take_digits(s, terminators)
        if used:
            stopped = at
            await s.app_wait(s.wait(s.tick))  # EXECUTE_COMPLETE one tick after the DTMF event
            break
    if not used and not s.is_down:
        left = None if end is None else max(0.0, started + end - s.loop.time())
        await s.app_wait(s.wait(left))
    if s.is_down:
        stopped = s.loop.time() - started
        if s.listener is not None:
            s.listener.channel_down()  # the linger notice rides with CHANNEL_HANGUP
        await asyncio.sleep(s.tick)  # Session.wait would return at once after the hangup
    _take_digits(s, terminators)  # keyed meanwhile: record's input callback consumed them
    ran = stopped if stopped is not None else min(s.loop.time() - started, end if end is not None else math.inf)
    exhausted = bool(thresh) and not used and not s.is_down and ran >= silence_end(speech, hits) - 1e-6
    _finish(s, path, speech, ran, used, exhausted=exhausted)


def _finish(s: Session, path: str, speech: Speech, ran: float, used: str, *, exhausted: bool) -> None:
    """Write the file; the variables of EXECUTE_COMPLETE, in the captured order."""
    spoken_ms, ms = written(speech, ran)
    _write(path, spoken_ms, ms)
    samples = ms * RATE // 1000
    size = str(WAV_HEADER + 2 * samples)
    values: list[tuple[str, str | None]] = [("silence_hits_exhausted", "true")] if exhausted else []
    if speech.rtp and speech.ptime != 20 and ran > speech.start:
        values += _ptime_change(s, speech.ptime)
    if used:
        values.append(("playback_terminator_used", used))
    values += [
        ("record_record_file_size", size),
        ("record_file_size", size),
        ("record_seconds", str(ms // 1000)),
        ("record_ms", str(ms)),
        ("record_samples", str(samples)),
    ]
    s.ch.set_vars(values)
    _reset_read_codec(s)


def _reset_read_codec(s: Session) -> None:
    """``switch_core_session_set_read_codec``: both variables set again, so they move to the end."""
    s.ch.set_vars([(name, s.ch.get_var(name)) for name in ("read_codec", "read_rate")])


def _ptime_change(s: Session, ptime: int) -> list[tuple[str, str | None]]:
    """``Asynchronous PTIME not supported, changing our end from 20 to 30`` (record_caller_speech_ptime30)."""
    ch = s.ch
    codec, rate = ch.get_var("rtp_use_codec_name") or "PCMU", ch.get_var("rtp_use_codec_rate") or "8000"
    return [
        ("rtp_h_X-Broken-PTIME", f"Adv=20;Sent={ptime}"),
        ("rtp_use_codec_name", codec),
        ("rtp_use_codec_rate", rate),
        ("rtp_use_codec_ptime", str(ptime)),
        ("rtp_use_codec_channels", "1"),
        ("rtp_last_audio_codec_string", f"{codec}@{rate}h@{ptime}i@1c"),
        ("write_codec", ch.get_var("write_codec")),
        ("write_rate", ch.get_var("write_rate")),
    ]


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


def _write(path: str, spoken_ms: int, ms: int) -> None:
    """8 kHz 16-bit mono: the speech as a tone, then silence."""
    tone = spoken_ms * RATE // 1000
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(_TONE * (tone // 8) + b"\x00\x00" * (ms * RATE // 1000 - tone // 8 * 8))


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
