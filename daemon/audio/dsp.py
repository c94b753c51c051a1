"""Signal processing of the guidance stage: filters, resampling, silence trimming, fades, limiter.

Everything works on mono float64 in -1..1.  Filters are causal IIR (scipy ``sosfilt``), except
the 16 → 8 kHz step, whose polyphase FIR is also the telephone band's upper edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from daemon.audio.loudness import peak_envelope

Audio = npt.NDArray[np.float64]

RUMBLE_HZ: Final = 90.0  # 4th-order Butterworth high-pass: handling noise, HVAC, mains hum's low part
NARROWBAND: Final = (300.0, 3400.0)  # G.711 telephone band (8 kHz)
WIDEBAND_TOP_HZ: Final = 7000.0  # G.722 upper edge (16 kHz)
FRAME_S: Final = 0.010


@lru_cache(maxsize=16)
def _butter(order: int, cutoff: float, kind: str, rate: int) -> npt.NDArray[np.float64]:
    sos: npt.NDArray[np.float64] = signal.butter(order, cutoff, btype=kind, fs=rate, output="sos")
    return sos


def _filter(x: Audio, sos: npt.NDArray[np.float64]) -> Audio:
    y: Audio = signal.sosfilt(sos, x)
    return y


def remove_rumble(x: Audio, rate: int) -> Audio:
    return _filter(x - float(np.mean(x)) if len(x) else x, _butter(4, RUMBLE_HZ, "highpass", rate))


def wideband(x: Audio, rate: int) -> Audio:
    """Band-limit for G.722 (50-7000 Hz; the rumble filter already made the lower edge)."""
    return _filter(x, _butter(8, WIDEBAND_TOP_HZ, "lowpass", rate))


@lru_cache(maxsize=4)
def _decimator(rate: int) -> npt.NDArray[np.float64]:
    """Low-pass FIR for rate → 8 kHz: flat to ~3.35 kHz, 80 dB down from ~3.95 kHz (no aliasing)."""
    taps = 8 * (rate // 1000) + 1
    h: npt.NDArray[np.float64] = signal.firwin(taps, 3650.0, fs=rate, window=("kaiser", 8.0))
    return h


def narrowband(x: Audio, rate: int) -> Audio:
    """The telephone band at 8 kHz: 300 Hz high-pass (2nd order), FIR low-pass 3.4 kHz while resampling."""
    low, _ = NARROWBAND
    y = _filter(x, _butter(2, low, "highpass", rate))
    return resample(y, rate, 8000, window=_decimator(rate) if rate % 8000 == 0 else None)


def resample(x: Audio, rate_in: int, rate_out: int, window: npt.NDArray[np.float64] | None = None) -> Audio:
    if rate_in == rate_out:
        return x
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    y: Audio = signal.resample_poly(x, up, down, window=("kaiser", 8.0) if window is None else window)
    return y


@dataclass(frozen=True, slots=True)
class Span:
    """Where the content is, in samples: ``x[start:end]``."""

    start: int
    end: int


def frame_rms(x: Audio, rate: int) -> Audio:
    frame = max(1, round(FRAME_S * rate))
    n = len(x) // frame
    if n == 0:
        return np.array([float(np.sqrt(np.mean(x**2)))]) if len(x) else np.zeros(0)
    rms: Audio = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    return rms


def content_span(
    x: Audio,
    rate: int,
    *,
    below_loudest_db: float = 45.0,
    above_floor_db: float = 12.0,
    floor_gate_cap_db: float = 35.0,
) -> Span | None:
    """The span from the first to the last 10 ms frame that is not silence or room noise.

    A frame counts as content when it is within ``below_loudest_db`` of the loudest frame and
    ``above_floor_db`` over the noise floor (the 10th percentile of the frames), so hiss or a
    fan under a recording is trimmed like digital silence.  The floor's gate never rises above
    ``floor_gate_cap_db`` under the loudest frame: in music or speech without pauses the 10th
    percentile is quiet *content*, which must not be cut.  ``None``: nothing stands out.
    """
    rms = frame_rms(x, rate)
    if len(rms) == 0 or float(rms.max()) <= 0:
        return None
    loudest = float(rms.max())
    floor = float(np.percentile(rms, 10))
    floor_gate = min(floor * 10 ** (above_floor_db / 20), loudest * 10 ** (-floor_gate_cap_db / 20))
    gate = max(loudest * 10 ** (-below_loudest_db / 20), floor_gate)
    loud = np.nonzero(rms >= gate)[0]
    if len(loud) == 0:
        return None
    frame = max(1, round(FRAME_S * rate))
    margin = 3 * frame  # keep 30 ms around: soft onsets (h, s, f) and decays
    return Span(max(0, int(loud[0]) * frame - margin), min(len(x), (int(loud[-1]) + 1) * frame + margin))


def fade(x: Audio, rate: int, seconds: float = FRAME_S) -> Audio:
    """Raised-cosine fade in and out, so a trimmed edge never clicks."""
    n = min(len(x) // 2, round(seconds * rate))
    if n == 0:
        return x
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, n))
    y = x.copy()
    y[:n] *= ramp
    y[-n:] *= ramp[::-1]
    return y


def limit_true_peak(x: Audio, ceiling: float, rate: int, window_s: float = 0.005) -> Audio:
    """Look-ahead limiter on the 4× oversampled envelope: a smooth gain <= ceiling/peak everywhere.

    The needed gain is min-filtered over ±W, then box-averaged over ±W: every sample's gain is a
    mean of minima whose windows all contain that sample, so it never exceeds what the sample
    needs.  Attack and release are each ~W (5 ms); between peaks the gain is exactly 1.
    """
    env = peak_envelope(x, above=ceiling)
    if len(env) == 0 or float(env.max()) <= ceiling:
        return x
    half = max(1, round(window_s * rate))
    need = env  # in place from here on: a 10-minute file is 77 MB per array
    np.maximum(need, 1e-12, out=need)
    np.divide(ceiling, need, out=need)
    np.minimum(need, 1.0, out=need)
    floor = ndimage.minimum_filter1d(need, size=2 * half + 1, mode="constant", cval=1.0)
    del env, need
    gain: Audio = ndimage.uniform_filter1d(floor, size=2 * half + 1, mode="nearest")
    del floor
    np.minimum(gain, 1.0, out=gain)
    np.multiply(x, gain, out=gain)
    return gain
