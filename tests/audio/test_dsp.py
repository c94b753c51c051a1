"""The stage's meters and filters against references: pyloudnorm, scipy, known tones."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from daemon.audio import dsp, loudness


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(round(seconds * rate)) / rate + 0.3)


def level_db(x: np.ndarray) -> float:
    return 20 * math.log10(math.sqrt(2 * float(np.mean(x**2))) + 1e-30)


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_loudness_matches_pyloudnorm(rate: int) -> None:
    rng = np.random.default_rng(rate)
    x = rng.standard_normal(rate * 7) * 0.1 * np.repeat(rng.uniform(0, 1, 70), rate // 10)  # pauses and bursts
    assert abs(loudness.integrated_loudness(x, rate) - pyloudnorm.Meter(rate).integrated_loudness(x)) < 0.01


def test_loudness_of_a_1khz_tone_follows_bs1770() -> None:
    # BS.1770: a 0 dBFS 997 Hz sine in one channel reads -3.01 LUFS
    assert abs(loudness.integrated_loudness(tone(997, 48000, 5, 1.0), 48000) + 3.01) < 0.05
    assert loudness.integrated_loudness(np.zeros(48000), 48000) == -math.inf


@pytest.mark.parametrize(("freq", "rate"), [(1000, 8000), (3300, 8000), (6500, 16000)])
def test_true_peak_finds_peaks_between_samples(freq: float, rate: int) -> None:
    x = tone(freq, rate, 2.0) * signal.windows.tukey(2 * rate, 0.1)
    reference = float(np.max(np.abs(signal.resample_poly(x, 16, 1))))
    measured = loudness.true_peak(x)
    assert abs(20 * math.log10(measured / reference)) < 0.05
    assert measured >= float(np.max(np.abs(x)))


def test_limiter_holds_the_true_peak() -> None:
    rng = np.random.default_rng(7)
    x = dsp.narrowband(rng.standard_normal(16000 * 2) * 0.4, 16000)
    ceiling = 10 ** (-3 / 20)
    y = dsp.limit_true_peak(x, ceiling, 8000)
    assert loudness.true_peak(y) <= ceiling * 1.01
    quiet = np.abs(x) < 0.05
    assert np.mean(np.abs(y[quiet] - x[quiet])) < 0.02  # between peaks the gain returns to 1
    small = x * 0.1
    assert dsp.limit_true_peak(small, ceiling, 8000) is small


def test_narrowband_is_the_telephone_band() -> None:
    rate = 16000
    passed = dsp.narrowband(tone(1000, rate), rate)
    assert len(passed) == 8000
    assert abs(level_db(passed[2000:-500]) - level_db(tone(1000, 8000))) < 0.2
    assert level_db(dsp.narrowband(tone(3950, rate), rate)[2000:-500]) < -60  # would alias at 8 kHz
    assert level_db(dsp.narrowband(tone(100, rate), rate)[4000:]) < -25  # below the band


def test_rumble_and_wideband_filters() -> None:
    rate = 16000
    assert level_db(dsp.remove_rumble(tone(30, rate, 2.0), rate)[rate:]) < -40
    assert abs(level_db(dsp.remove_rumble(tone(300, rate, 2.0), rate)[rate:]) - level_db(tone(300, rate))) < 0.3
    assert abs(level_db(dsp.wideband(tone(5000, rate), rate)[2000:]) - level_db(tone(5000, rate))) < 0.3
    assert level_db(dsp.wideband(tone(7900, rate), rate)[2000:]) < -20


def test_content_span_ignores_silence_and_room_noise() -> None:
    rate = 16000
    rng = np.random.default_rng(3)
    x = rng.standard_normal(rate * 3) * 1e-3
    x[rate : 2 * rate] += tone(440, rate, 1.0, 0.3)
    span = dsp.content_span(x, rate)
    assert span is not None
    assert abs(span.start - (rate - 480)) <= 160 and abs(span.end - (2 * rate + 480)) <= 160
    assert dsp.content_span(np.zeros(rate), rate) is None


def test_content_span_keeps_a_quiet_start_of_continuous_sound() -> None:
    rate = 16000
    music = tone(440, rate, 4.0, 0.5) * np.concatenate([np.full(rate, 0.03), np.ones(3 * rate)])  # -30 dB intro
    span = dsp.content_span(music, rate)
    assert span is not None and span.start == 0
