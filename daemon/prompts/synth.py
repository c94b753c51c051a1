"""Offline synthesis of a guidance prompt into a telephony WAV (8 kHz, 16-bit, mono).

Chain (all numpy, no network, no scipy):

1. ``pyopenjtalk.tts`` (pyopenjtalk-plus, bundled dictionary and the bundled HTS voice
   ``mei_normal``) -> float64 samples on an int16 scale (not -1..1; peaks may even exceed
   32767), 48 kHz.
2. Scale to -1..1 and remove DC.
3. Polyphase resampling to 8 kHz (48k -> 8k is decimation by 6) through a Kaiser-windowed
   sinc low-pass designed at the input rate: passband to 3.4 kHz, cutoff 3.7 kHz, >= 80 dB
   down from 4.0 kHz (the new Nyquist), so nothing audible aliases.
4. High-pass at ~100 Hz (linear-phase FIR, spectral inversion of a windowed sinc): the
   telephone band starts at 300 Hz; this removes rumble and any residual offset.
5. Trim the synthesiser's own leading/trailing silence (gate 45 dB below the loudest
   10 ms frame), then a 10 ms raised-cosine fade in and out.
6. Loudness: active-speech RMS (10 ms frames within 35 dB of the loudest) normalised to
   -18 dBFS, with a look-ahead peak limiter holding peaks at -3 dBFS (headroom for the
   G.711 encoder and for any gain on the trunk). Two passes, since limiting lowers RMS.
7. 200 ms of digital silence before, 300 ms after (prompts played back to back then have
   a natural half-second gap, and the first syllable is never clipped by media setup).
8. Round to int16 (no dither: the padding stays pure digital silence, output is
   deterministic) and write a PCM WAV with the ``wave`` module.

Offline caveats (pyopenjtalk-plus 0.4.x): the dictionary and voice ship inside the wheel;
nothing is downloaded unless ``use_tsqyomi`` is requested (we never do). Importing it
prints an "ONNX Runtime is not installed" warning to *stdout*; :func:`_load_tts` swallows
it so it cannot end up in the daemon's log stream. ``predict_nani`` is turned off (it needs
onnxruntime and none of our texts contains 何).
"""

from __future__ import annotations

import contextlib
import io
import math
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float64]

OUTPUT_RATE: Final = 8000
TARGET_RMS_DBFS: Final = -18.0
PEAK_CEILING_DBFS: Final = -3.0
LEAD_SILENCE_S: Final = 0.200
TAIL_SILENCE_S: Final = 0.300
FADE_S: Final = 0.010
HIGHPASS_HZ: Final = 100.0
SPEED: Final = 1.0

# Bump when the processing chain changes so that PromptLibrary regenerates every prompt.
SYNTH_VERSION: Final = (
    f"1:rate={OUTPUT_RATE}:rms={TARGET_RMS_DBFS}:peak={PEAK_CEILING_DBFS}:"
    f"pad={LEAD_SILENCE_S},{TAIL_SILENCE_S}:hp={HIGHPASS_HZ}:speed={SPEED}"
)

_tts_lock = threading.Lock()
_tts_fn: Callable[..., tuple[Any, int]] | None = None


def _load_tts() -> Callable[..., tuple[Any, int]]:
    """Import pyopenjtalk once, hiding the warning it prints to stdout at import time."""
    global _tts_fn  # noqa: PLW0603
    with _tts_lock:
        if _tts_fn is None:
            with contextlib.redirect_stdout(io.StringIO()):
                import pyopenjtalk

            _tts_fn = pyopenjtalk.tts
        return _tts_fn


def tts(text: str) -> tuple[Audio, int]:
    """Raw synthesiser output scaled to -1..1, and its sample rate."""
    fn = _load_tts()
    samples, rate = fn(text, speed=SPEED, predict_nani=False)
    audio = np.asarray(samples, dtype=np.float64) / 32768.0
    if audio.ndim != 1 or audio.size == 0:
        raise ValueError(f"synthesiser returned no audio for {text!r}")
    return audio, int(rate)


# --- filters ---------------------------------------------------------------------------------


def kaiser_lowpass(cutoff: float, transition: float, rate: float, atten_db: float = 80.0) -> Audio:
    """Linear-phase low-pass FIR (Kaiser-windowed sinc), unity DC gain, odd length.

    ``cutoff`` is the -6 dB point and ``transition`` the full transition width, in Hz.
    """
    beta = 0.1102 * (atten_db - 8.7) if atten_db > 50 else 0.5842 * (atten_db - 21) ** 0.4 + 0.07886 * (atten_db - 21)
    width = 2 * math.pi * transition / rate
    taps = math.ceil((atten_db - 8.0) / (2.285 * width)) + 1
    taps += 1 - taps % 2  # odd: integer group delay
    n = np.arange(taps) - (taps - 1) / 2
    h = (2 * cutoff / rate) * np.sinc(2 * cutoff / rate * n) * np.kaiser(taps, beta)
    result: Audio = h / h.sum()
    return result


def _fir_same(x: Audio, h: Audio) -> Audio:
    """Convolve with a linear-phase FIR, compensating its delay (output aligned to input)."""
    delay = (len(h) - 1) // 2
    y: Audio = np.convolve(x, h)[delay : delay + len(x)]
    return y


def resample(x: Audio, rate_in: int, rate_out: int) -> Audio:
    """Rational polyphase resampling with an anti-alias/anti-image Kaiser low-pass.

    The filter is designed at ``rate_in * up``; output m is the input around
    ``(m * down + delay) / up`` dotted with one phase of it. Outputs ``m0, m0 + up, ...``
    share a phase and their input windows advance by ``down``, so each phase is one
    matrix-vector product over a strided (copy-free) window view: only kept samples are
    computed (48 kHz -> 8 kHz: up=1, down=6).
    """
    if rate_in == rate_out:
        return x.copy()
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    band = min(rate_in, rate_out) / 2  # the narrower Nyquist
    h = kaiser_lowpass(cutoff=0.925 * band, transition=0.15 * band, rate=rate_in * up) * up
    delay = (len(h) - 1) // 2  # group delay in up-sampled samples (odd-length filter)
    per_phase = math.ceil(len(h) / up)
    h = np.concatenate([h, np.zeros(per_phase * up - len(h))])  # equal taps per phase
    phases = h.reshape(per_phase, up).T[:, ::-1]  # phases[p] = h[p::up], reversed for a dot

    n_out = math.ceil(len(x) * up / down)
    pad = per_phase
    tail = pad + (up * down + delay) // up + 1
    xp = np.concatenate([np.zeros(pad), x, np.zeros(tail)])
    windows = np.lib.stride_tricks.sliding_window_view(xp, per_phase)
    out = np.empty(n_out)
    for m0 in range(min(up, n_out)):
        t0 = m0 * down + delay  # position in the up-sampled stream, delay compensated
        first = t0 // up - (per_phase - 1) + pad  # window start of output m0
        count = len(range(m0, n_out, up))
        out[m0::up] = windows[first::down][:count] @ phases[t0 % up]
    return out


def highpass(x: Audio, cutoff: float, rate: int) -> Audio:
    """Linear-phase high-pass by spectral inversion of a Kaiser low-pass (60 dB)."""
    lp = kaiser_lowpass(cutoff=cutoff, transition=cutoff * 1.2, rate=rate, atten_db=60.0)
    hp = -lp
    hp[(len(hp) - 1) // 2] += 1.0
    return _fir_same(x, hp)


# --- dynamics --------------------------------------------------------------------------------


def _frame_rms(x: Audio, frame: int) -> Audio:
    n = len(x) // frame
    if n == 0:
        return np.array([math.sqrt(float(np.mean(x**2))) if len(x) else 0.0])
    frames = x[: n * frame].reshape(n, frame)
    rms: Audio = np.sqrt(np.mean(frames**2, axis=1))
    return rms


def active_rms(x: Audio, rate: int, gate_db: float = 35.0) -> float:
    """RMS over the 10 ms frames within ``gate_db`` of the loudest (pauses excluded)."""
    rms = _frame_rms(x, rate // 100)
    loudest = float(rms.max())
    if loudest <= 0:
        return 0.0
    active = rms[rms >= loudest * 10 ** (-gate_db / 20)]
    return float(np.sqrt(np.mean(active**2)))


def trim_silence(x: Audio, rate: int, gate_db: float = 45.0) -> Audio:
    """Drop leading/trailing frames more than ``gate_db`` below the loudest 10 ms frame."""
    frame = rate // 100
    rms = _frame_rms(x, frame)
    loud = np.nonzero(rms >= rms.max() * 10 ** (-gate_db / 20))[0]
    if len(loud) == 0:
        return x
    start = max(0, (int(loud[0]) - 1) * frame)  # keep one frame of onset
    end = min(len(x), (int(loud[-1]) + 2) * frame)
    return x[start:end]


def _sliding(x: Audio, half: int, reduce: Callable[..., Audio], fill: float) -> Audio:
    padded = np.concatenate([np.full(half, fill), x, np.full(half, fill)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return reduce(windows, axis=1)


def limit_peaks(x: Audio, ceiling: float, rate: int, window_s: float = 0.005) -> Audio:
    """Look-ahead peak limiter: smooth gain <= ceiling/|x| at every sample.

    The required gain is min-filtered over +-W then box-averaged over +-W; each sample's
    averaged gain is a mean of minima that all include that sample, so it never exceeds
    the gain the sample needs. Attack and release are therefore ~W each (W = 5 ms).
    """
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak <= ceiling:
        return x
    half = max(1, round(window_s * rate))
    need = np.minimum(1.0, ceiling / np.maximum(np.abs(x), 1e-12))
    floor = _sliding(need, half, np.min, 1.0)
    gain = _sliding(floor, half, np.mean, 1.0)
    limited: Audio = x * gain
    # Floating-point guard only; the construction above already bounds the peak.
    return np.clip(limited, -ceiling, ceiling)


def normalise(x: Audio, rate: int) -> Audio:
    target = 10 ** (TARGET_RMS_DBFS / 20)
    ceiling = 10 ** (PEAK_CEILING_DBFS / 20)
    for _ in range(2):
        level = active_rms(x, rate)
        if level <= 0:
            raise ValueError("silent audio cannot be normalised")
        x = limit_peaks(x * (target / level), ceiling, rate)
    return x


def fade(x: Audio, rate: int, seconds: float = FADE_S) -> Audio:
    n = min(len(x) // 2, round(seconds * rate))
    if n == 0:
        return x
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, n))
    y = x.copy()
    y[:n] *= ramp
    y[-n:] *= ramp[::-1]
    return y


# --- public ----------------------------------------------------------------------------------


def process(audio: Audio, rate: int) -> Audio:
    """Telephony chain (steps 2-7 above) from -1..1 float audio at ``rate`` to 8 kHz float."""
    x = audio - float(np.mean(audio))
    x = resample(x, rate, OUTPUT_RATE)
    x = highpass(x, HIGHPASS_HZ, OUTPUT_RATE)
    x = trim_silence(x, OUTPUT_RATE)
    x = fade(x, OUTPUT_RATE)
    x = normalise(x, OUTPUT_RATE)
    lead = np.zeros(round(LEAD_SILENCE_S * OUTPUT_RATE))
    tail = np.zeros(round(TAIL_SILENCE_S * OUTPUT_RATE))
    return np.concatenate([lead, x, tail])


def to_pcm16(x: Audio) -> bytes:
    ints = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    return ints.tobytes()


def write_wav(path: Path, x: Audio, rate: int = OUTPUT_RATE) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_pcm16(x))


def synthesize(text: str, path: Path) -> None:
    """Synthesise ``text`` and write the telephony WAV to ``path`` (not atomic: see library)."""
    audio, rate = tts(text)
    write_wav(path, process(audio, rate))


@dataclass(frozen=True)
class WavInfo:
    rate: int
    channels: int
    sample_width: int
    frames: int
    peak_dbfs: float
    rms_dbfs: float  # active speech level, pauses excluded

    @property
    def duration(self) -> float:
        return self.frames / self.rate


def inspect_wav(path: Path) -> WavInfo:
    """Read a PCM WAV back (used by tests and to sanity-check override files)."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width, frames = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        raw = w.readframes(frames)
    if width != 2:
        return WavInfo(rate, channels, width, frames, math.nan, math.nan)
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    level = active_rms(x, rate) if len(x) else 0.0

    def db(v: float) -> float:
        return 20 * math.log10(v) if v > 0 else -math.inf

    return WavInfo(rate, channels, width, frames, db(peak), db(level))
