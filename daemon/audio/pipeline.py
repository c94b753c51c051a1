"""The one stage every prompt goes through: customer uploads and synthesised speech alike.

From mono float audio at the working rate (16 kHz):

1. remove DC and rumble (4th-order Butterworth high-pass, 90 Hz);
2. find the content (10 ms frames over the noise floor and within 45 dB of the loudest) and cut
   the silence or room noise before and after it, keeping 30 ms and fading 10 ms at each cut;
3. two variants: **8 kHz** (300 Hz high-pass, FIR low-pass to 3.4 kHz while resampling: the
   G.711 band) and **16 kHz** (low-pass 7 kHz: the G.722 band);
4. each variant normalised to −19 LUFS integrated (BS.1770-4), with a look-ahead limiter
   holding the 4× oversampled true peak under −3 dBTP; gain and limiter alternate until both
   hold (the loudness within 0.3 LU);
5. fixed padding of digital silence: 200 ms before, 300 ms after;
6. 16-bit PCM WAV (rounded, no dither: the padding stays digital silence).

``process_file`` decodes an upload first (:mod:`daemon.audio.decode`); ``process_speech``
starts from the synthesiser's samples.  Both write the WAVs into a staging directory and
return the :class:`~daemon.audio.report.Report`; :mod:`daemon.audio.store` files them.
"""

from __future__ import annotations

import hashlib
import io
import math
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from daemon.audio import dsp
from daemon.audio.decode import WORK_RATE, Decoded, decode
from daemon.audio.errors import AudioRejected
from daemon.audio.loudness import db, integrated_loudness, true_peak
from daemon.audio.report import InputLevels, Output, Report, SourceInfo
from daemon.audio.target import LEAD_PAD_S, RATES, TAIL_PAD_S, TARGET_LUFS, TRUE_PEAK_CEILING_DBTP

Audio = npt.NDArray[np.float64]

SILENT_BELOW_LUFS: Final = -60.0  # quieter than this is an empty or failed recording
MIN_CONTENT_S: Final = 0.25
# A joined piece (a number word of a spoken amount, daemon.prompts.spoken) plays right after the
# one before it: no lead silence, a breath after it, and one short syllable (ニ, ゴ) is enough.
JOINED_TAIL_PAD_S: Final = 0.03
JOINED_MIN_CONTENT_S: Final = 0.1
LOUDNESS_TOLERANCE_LU: Final = 0.3
CEILING_MARGIN_DB: Final = 0.3  # aim under the ceiling: 16-bit rounding and other meters' filters

STEPS: Final = [
    "mono mix",
    f"high-pass {dsp.RUMBLE_HZ:.0f} Hz (rumble, DC)",
    "leading/trailing silence trimmed",
    f"8 kHz: band {dsp.NARROWBAND[0]:.0f}-{dsp.NARROWBAND[1]:.0f} Hz; 16 kHz: band up to {dsp.WIDEBAND_TOP_HZ:.0f} Hz",
    f"loudness normalised to {TARGET_LUFS:.0f} LUFS (EBU R128), true peak limited to {TRUE_PEAK_CEILING_DBTP:.0f} dBTP",
    f"padded {LEAD_PAD_S * 1000:.0f} ms / {TAIL_PAD_S * 1000:.0f} ms of silence",
    "16-bit PCM WAV, mono",
]


def _level(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class Normalised:
    samples: Audio
    gain_db: float
    limited: bool


def normalise(x: Audio, rate: int) -> Normalised:
    """Gain to TARGET_LUFS, then hold the true peak under the ceiling; repeat until both hold."""
    ceiling = 10 ** ((TRUE_PEAK_CEILING_DBTP - CEILING_MARGIN_DB) / 20)
    level = integrated_loudness(x, rate)
    if not math.isfinite(level):
        raise AudioRejected("silent", "the recording is silent")
    first_gain = TARGET_LUFS - level
    limited = False
    y = x
    for _ in range(6):
        y = y * 10 ** ((TARGET_LUFS - level) / 20)
        shaped = dsp.limit_true_peak(y, ceiling, rate)
        limited = limited or shaped is not y
        y = shaped
        level = integrated_loudness(y, rate)
        if abs(level - TARGET_LUFS) <= LOUDNESS_TOLERANCE_LU:
            break
    return Normalised(y, first_gain, limited)


def to_pcm16(x: Audio) -> bytes:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2").tobytes()


def wav_bytes(x: Audio, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_pcm16(x))
    return buffer.getvalue()


def pcm16_samples(wav: bytes) -> tuple[Audio, int]:
    with wave.open(io.BytesIO(wav), "rb") as w:
        rate, raw = w.getframerate(), w.readframes(w.getnframes())
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0, rate


def _render(x: Audio, rate: int, pads: tuple[float, float]) -> tuple[bytes, Output]:
    """Pad, write 16-bit, and measure what FreeSWITCH will play (a residue over the ceiling is scaled away)."""
    lead, tail = np.zeros(round(pads[0] * rate)), np.zeros(round(pads[1] * rate))
    ceiling = 10 ** (TRUE_PEAK_CEILING_DBTP / 20)
    for _ in range(3):
        data = wav_bytes(np.concatenate([lead, x, tail]), rate)
        final, _ = pcm16_samples(data)
        peak = true_peak(final)
        if peak <= ceiling:
            break
        x = x * (10 ** ((TRUE_PEAK_CEILING_DBTP - CEILING_MARGIN_DB) / 20) / peak)
    out = Output(
        rate=rate,
        file=f"{rate}.wav",
        duration_s=round(len(final) / rate, 3),
        loudness_lufs=_level(integrated_loudness(final, rate)),
        true_peak_dbtp=_level(db(peak)),
    )
    return data, out


def telephony(
    x: Audio, rate: int, source: SourceInfo, before: InputLevels, staging: Path, *, joined: bool = False
) -> Report:
    """Steps 1-6 on mono ``x`` at ``rate`` (16 kHz); WAVs into ``staging`` as ``<rate>.wav``.

    ``joined``: a piece spliced after another (see ``JOINED_TAIL_PAD_S``).
    """
    pads = (0.0, JOINED_TAIL_PAD_S) if joined else (LEAD_PAD_S, TAIL_PAD_S)
    min_content_s = JOINED_MIN_CONTENT_S if joined else MIN_CONTENT_S
    if before.loudness_lufs is None or before.loudness_lufs < SILENT_BELOW_LUFS:
        raise AudioRejected(
            "silent", f"the recording is silent or nearly so (quieter than {SILENT_BELOW_LUFS:.0f} LUFS)"
        )
    x = dsp.remove_rumble(x, rate)
    span = dsp.content_span(x, rate)
    if span is None or (span.end - span.start) / rate < min_content_s:
        raise AudioRejected("too_short", f"less than {min_content_s} s of sound stands out of the silence")
    core = dsp.fade(x[span.start : span.end], rate)
    length = len(x)
    del x
    outputs: list[Output] = []
    gain = 0.0
    limited = False
    files: dict[int, bytes] = {}
    for out_rate in RATES:  # one variant at a time: memory holds the core and one variant
        variant = dsp.narrowband(core, rate) if out_rate == 8000 else dsp.wideband(core, rate)
        done = normalise(variant, out_rate)
        del variant
        files[out_rate], out = _render(done.samples, out_rate, pads)
        outputs.append(out)
        if out_rate == 8000:
            gain, limited = done.gain_db, done.limited
    staging.mkdir(parents=True, exist_ok=True)
    for out_rate, data in files.items():
        (staging / f"{out_rate}.wav").write_bytes(data)
    return Report(
        source=source,
        before=before,
        target_lufs=TARGET_LUFS,
        true_peak_ceiling_dbtp=TRUE_PEAK_CEILING_DBTP,
        gain_db=round(gain, 2),
        limited=limited,
        trimmed_lead_s=round(span.start / rate, 3),
        trimmed_tail_s=round((length - span.end) / rate, 3),
        lead_pad_s=pads[0],
        tail_pad_s=pads[1],
        steps=STEPS,
        outputs=outputs,
        digest=hashlib.sha256(files[8000]).hexdigest(),
    )


def _levels(x: Audio, rate: int, sample_peak: float, clipped: int) -> InputLevels:
    return InputLevels(
        loudness_lufs=_level(integrated_loudness(x, rate)),
        true_peak_dbtp=_level(db(true_peak(x))),
        sample_peak_dbfs=_level(db(sample_peak)),
        clipped_samples=clipped,
        clipping=clipped > 0,
    )


def process_decoded(decoded: Decoded, staging: Path, size: int | None = None) -> Report:
    s = decoded.source
    source = SourceInfo(
        kind="upload",
        container=s.container,
        container_long=s.container_long,
        codec=s.codec,
        codec_long=s.codec_long,
        sample_format=s.sample_format,
        sample_rate=s.sample_rate,
        channels=s.channels,
        had_video=s.had_video,
        duration_s=round(s.duration_s, 3),
        bytes=size,
    )
    before = _levels(decoded.samples, decoded.rate, s.sample_peak, s.clipped_samples)
    return telephony(decoded.samples, decoded.rate, source, before, staging)


def process_file(path: Path, staging: Path, *, max_seconds: float) -> Report:
    decoded = decode(path, max_seconds=max_seconds, rate=WORK_RATE)
    return process_decoded(decoded, staging, size=path.stat().st_size)


def process_speech(samples: Audio, rate: int, staging: Path, *, joined: bool = False) -> Report:
    """Synthesised speech (float -1..1 at the synthesiser's rate) through the same stage (``joined``: a piece)."""
    x = dsp.resample(samples, rate, WORK_RATE)
    source = SourceInfo(kind="speech", sample_rate=rate, channels=1, duration_s=round(len(samples) / rate, 3))
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    before = _levels(x, WORK_RATE, peak, 0)
    return telephony(x, WORK_RATE, source, before, staging, joined=joined)
