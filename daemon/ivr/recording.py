"""When a voicemail recording is a message: the caller must have said something.

FreeSWITCH's ``record`` writes the audio frames that arrive, not the time it ran
(transcripts record_*): a caller whose phone sends no RTP leaves a 44-byte file and
``record_ms`` 0, and a caller who says nothing still leaves the silence that ended the
recording (record_silent_rtp: 2.52 s of silence for a 3 s silence limit).  So neither
"a file exists" nor "record_ms > 0" means somebody spoke.

A recording is kept as a message when it holds at least :data:`MIN_SPOKEN_MS` of audio
*before* the silence that ended it (when silence ended it, its last
``silence_seconds`` are that silence).  Half a second is shorter than any message that
can carry a name or a number (a two-syllable word takes 0.3-0.4 s; "田中です" about 0.6 s)
and longer than what a caller leaves by pressing ``#`` at once, hanging up at the beep,
or breathing into the phone.  A recording under it is not listed, and its file is removed.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_SPOKEN_MS = 500


@dataclass(frozen=True, slots=True)
class Recording:
    """What FreeSWITCH reported for one ``record``: its ``record_ms`` and whether silence ended it."""

    ms: int
    silence_ended: bool = False


def spoken_ms(recording: Recording, silence_seconds: int) -> int:
    """The audio before the trailing silence (an estimate: the silence count may start before any RTP)."""
    trailing = silence_seconds * 1000 if recording.silence_ended else 0
    return max(0, recording.ms - trailing)


def is_message(recording: Recording, silence_seconds: int) -> bool:
    return spoken_ms(recording, silence_seconds) >= MIN_SPOKEN_MS
