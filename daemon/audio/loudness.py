"""Loudness (ITU-R BS.1770-4 / EBU R128 integrated, LUFS) and true peak (dBTP, 4× oversampling).

The K-weighting filters are pyloudnorm's own (``pyloudnorm.Meter(rate)._filters``: the
BS.1770 pre-filter and RLB high-pass, designed for any sample rate), applied with
``scipy.signal.lfilter``.  The gating is BS.1770-4's, vectorised: 400 ms blocks every
100 ms, absolute gate −70 LUFS, relative gate −10 LU.  pyloudnorm's ``integrated_loudness``
computes the same thing with a Python loop per block (≈0.2 s for 3 minutes); the tests
compare the two.

True peak follows BS.1770-4 Annex 2: oversample 4× (a 48-tap polyphase FIR, 12 taps per
phase) and take the largest absolute sample.  Quiet or silent input gives ``-inf``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
import pyloudnorm
from scipy import ndimage, signal

Audio = npt.NDArray[np.float64]

ABSOLUTE_GATE_LUFS: Final = -70.0
RELATIVE_GATE_LU: Final = -10.0
BLOCK_S: Final = 0.400
STEP_S: Final = 0.100
OVERSAMPLING: Final = 4


@lru_cache(maxsize=8)
def _k_weighting(rate: int) -> tuple[tuple[Audio, Audio], ...]:
    stages = pyloudnorm.Meter(rate)._filters.values()  # the pre-filter (high shelf) and the RLB high-pass
    return tuple((np.asarray(f.b, dtype=np.float64), np.asarray(f.a, dtype=np.float64)) for f in stages)


def k_weighted(x: Audio, rate: int) -> Audio:
    y = x
    for b, a in _k_weighting(rate):
        y = signal.lfilter(b, a, y)
    return np.asarray(y, dtype=np.float64)


def block_energies(x: Audio, rate: int) -> Audio:
    """Mean square of the K-weighted signal over each 400 ms block (75 % overlap)."""
    step = round(STEP_S * rate)
    per_block = round(BLOCK_S / STEP_S)
    squares = k_weighted(x, rate) ** 2
    n = len(squares) // step
    if n < per_block:
        return np.zeros(0)
    sub = squares[: n * step].reshape(n, step).sum(axis=1)
    window = np.convolve(sub, np.ones(per_block), mode="valid")
    energies: Audio = window / (per_block * step)
    return energies


def _lufs(energy: float) -> float:
    return -0.691 + 10 * math.log10(energy) if energy > 0 else -math.inf


def integrated_loudness(x: Audio, rate: int) -> float:
    """Integrated loudness of mono ``x`` (-1..1) in LUFS; ``-inf`` when everything is gated out."""
    if len(x) < BLOCK_S * rate:  # shorter than one block: measure it padded with silence
        x = np.concatenate([x, np.zeros(math.ceil(BLOCK_S * rate) - len(x) + 1)])
    z = block_energies(x, rate)
    if len(z) == 0:
        return -math.inf
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(z)
    above_absolute = z[levels >= ABSOLUTE_GATE_LUFS]
    if len(above_absolute) == 0:
        return -math.inf
    relative = _lufs(float(above_absolute.mean())) + RELATIVE_GATE_LU
    gated = z[(levels >= ABSOLUTE_GATE_LUFS) & (levels > relative)]
    return _lufs(float(gated.mean())) if len(gated) else -math.inf


TAPS_PER_PHASE: Final = 24
_BATCH: Final = 65536


@lru_cache(maxsize=1)
def _phases() -> tuple[Audio, float]:
    """The 4× interpolation FIR as a (4, 24) matrix of reversed phases, and its worst-case gain.

    96 taps (Kaiser, β = 8) instead of BS.1770's 48: flat to 0.02 dB at 3.4 kHz for 8 kHz audio,
    where the 48-tap filter under-reads by 0.3 dB.
    """
    h = signal.firwin(TAPS_PER_PHASE * OVERSAMPLING, 1 / OVERSAMPLING, window=("kaiser", 8.0)) * OVERSAMPLING
    phases = np.stack([h[p::OVERSAMPLING][::-1] for p in range(OVERSAMPLING)])
    gain = float(np.abs(phases).sum(axis=1).max())  # |interpolated| <= gain * max |x| of its window
    return phases, gain


def peak_envelope(x: Audio, above: float = 0.0) -> Audio:
    """Per sample n, the largest |value| of the 4× interpolated signal around n (n and the 3 points after it).

    Exact wherever the true peak could exceed ``above``; elsewhere ``|x|`` (which is then known
    to stay at or under ``above``: the window bound ``gain * max|x|`` rules it out).  Only those
    candidate samples are interpolated, so a normalised speech file costs a few percent of a full
    4× oversampling.
    """
    phases, gain = _phases()
    taps = phases.shape[1]
    env = np.abs(x)
    if len(x) == 0:
        return env
    delay = taps // 2  # group delay of the 96-tap FIR: 47.5 output samples = ~12 input samples
    window_max = ndimage.maximum_filter1d(env, size=2 * taps + 1)
    candidates = np.nonzero(window_max * gain > above)[0]
    if len(candidates) == 0:
        return env
    if len(candidates) > len(x) // 4:  # dense: four short convolutions beat gathering windows
        for phase in phases:
            y = np.convolve(x, phase[::-1])[delay : delay + len(x)]
            np.maximum(env, np.abs(y), out=env)
        return env
    padded = np.concatenate([np.zeros(taps), x, np.zeros(taps)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, taps)
    for start in range(0, len(candidates), _BATCH):
        idx = candidates[start : start + _BATCH]
        # row n + 1 of the windows is output n of each phase; output n + delay lies between inputs n and n + 1
        block = windows[idx + delay + 1]
        env[idx] = np.maximum(env[idx], np.abs(block @ phases.T).max(axis=1))
    return env


def true_peak(x: Audio) -> float:
    """Largest absolute value of ``x`` oversampled 4× (linear, not dB)."""
    if len(x) == 0:
        return 0.0
    sample_peak = float(np.max(np.abs(x)))
    return float(np.max(peak_envelope(x, above=sample_peak)))


def db(value: float) -> float:
    return 20 * math.log10(value) if value > 0 else -math.inf


def true_peak_dbtp(x: Audio) -> float:
    return db(true_peak(x))
