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
from scipy import signal

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
    """Both K-weighting biquads in one pass (second-order sections)."""
    y: Audio = signal.sosfilt(_k_sos(rate), x)
    return y


@lru_cache(maxsize=8)
def _k_sos(rate: int) -> Audio:
    sections = [np.concatenate([b / a[0], a / a[0]]) for b, a in _k_weighting(rate)]
    return np.array(sections)


def block_energies(x: Audio, rate: int) -> Audio:
    """Mean square of the K-weighted signal over each 400 ms block (75 % overlap)."""
    step = round(STEP_S * rate)
    per_block = round(BLOCK_S / STEP_S)
    squares = k_weighted(x, rate)
    np.square(squares, out=squares)
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
    """Per sample n, the largest |value| of the 4× interpolated signal from n up to n + 1 (and |x[n]|).

    When even the bound ``gain * max|x|`` stays at or under ``above``, nothing can exceed it and
    ``|x|`` is returned without interpolating.  Otherwise each phase is one short convolution.
    """
    phases, gain = _phases()
    env = np.abs(x)
    if len(x) == 0 or float(env.max()) * gain <= above:
        return env
    delay = phases.shape[1] // 2  # group delay of the 96-tap FIR: 47.5 output samples = ~12 input samples
    for phase in phases:
        y = np.convolve(x, phase[::-1])[delay : delay + len(x)]
        np.maximum(env, np.abs(y, out=y), out=env)
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
