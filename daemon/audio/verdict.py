"""The loudness report in one plain sentence for the customer (聞き取りやすい / 小さすぎる / 割れています …).

The report's figures (LUFS, dBTP, gain) are for engineers; a clinic's receptionist
wants to know whether callers will hear the guidance well and, if not, what to do.
The stage fixes the level of any recording, so what is left to tell is what it
cannot fix: distortion recorded into the file (clipping survives any gain), a
recording so quiet that raising it raised the room's noise as much as the voice,
one so loud that the limiter had to hold its peaks, or nothing but silence.

Thresholds: the stage aims at −19 LUFS (daemon/audio/target.py).  A gain of more
than 18 dB (a recording under about −37 LUFS, a phone held far from the mouth)
lifts the noise floor of a quiet room (≈ −60 dBFS) to where callers hear it
under the voice; an input above −12 LUFS needed its peaks limited, which is
audible as "squashed" speech.  Pure: the report in, words out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from daemon.audio.report import Report

QUIET_GAIN_DB: Final = 18.0
LOUD_INPUT_LUFS: Final = -12.0

Level = Literal["good", "warn", "bad"]


@dataclass(frozen=True, slots=True)
class Verdict:
    level: Level  # good: nothing to do; warn: usable, could be better; bad: callers will notice
    words: str  # the verdict itself (聞き取りやすい …)
    advice: str  # what the customer may do about it ("" when nothing)


GOOD = Verdict("good", "聞き取りやすい", "")


def verdict(report: Report) -> Verdict:
    """The one thing worth telling about a processed guidance, the worst first."""
    before = report.before
    if before.loudness_lufs is None:
        return Verdict("bad", "音が入っていません", "無音の録音です。録音し直してください。")
    if before.clipping:
        return Verdict(
            "bad",
            "割れています",
            "元の録音で音が割れています（音量の上限を超えて歪んでいます）。"
            "マイクから少し離れるか録音の音量を下げて、録音し直してください。",
        )
    if report.gain_db > QUIET_GAIN_DB:
        return Verdict(
            "warn",
            "小さすぎる",
            "元の録音の音が小さすぎます。自動で大きくしましたが、周りの雑音も大きくなっています。"
            "マイクに近づいて録音し直すと聞き取りやすくなります。",
        )
    if report.limited and before.loudness_lufs > LOUD_INPUT_LUFS:
        return Verdict(
            "warn",
            "大きすぎる",
            "元の録音の音が大きすぎたため、自動で抑えました。少し離れて録音し直すと自然に聞こえます。",
        )
    return GOOD
