"""Independent measures of a processed WAV: the stdlib reader, pyloudnorm, and scipy's 4x resampler."""

from __future__ import annotations

import math
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy import signal


@dataclass(frozen=True)
class Measured:
    rate: int
    channels: int
    width: int
    samples: np.ndarray
    loudness_lufs: float
    true_peak_dbtp: float

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


def measure(path: Path) -> Measured:
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    loudness = pyloudnorm.Meter(rate).integrated_loudness(x)
    peak = float(np.max(np.abs(signal.resample_poly(x, 4, 1))))
    return Measured(rate, channels, width, x, loudness, 20 * math.log10(peak) if peak > 0 else -math.inf)


def contents(path: Path) -> bytes:
    return path.read_bytes()


def world_readable(path: Path) -> bool:
    return path.is_file() and (path.stat().st_mode & 0o444) == 0o444
