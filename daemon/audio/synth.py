"""The Japanese speech synthesiser (pyopenjtalk): text → float samples at its own rate.

Only the synthesis lives here; the samples then go through the same guidance stage as a
customer's upload (:mod:`daemon.audio.pipeline`: rumble filter, trimming, telephone band,
−19 LUFS / −3 dBTP, padding, 8 and 16 kHz WAVs), so every prompt sounds equally loud.
It runs in the audio child process (:mod:`daemon.audio.child`), never in the daemon: the
dictionary and voice would otherwise stay resident (issue 6: 234 MB idle RSS).

pyopenjtalk-plus 0.4.x: the dictionary and the HTS voice ``mei_normal`` ship inside the wheel;
nothing is downloaded unless ``use_tsqyomi`` is requested (we never do).  Importing it prints
an "ONNX Runtime is not installed" warning to *stdout*; :func:`_load_tts` swallows it.
``predict_nani`` is off (it needs onnxruntime).  Output: float64 on an int16 scale (peaks may
exceed 32767), 48 kHz.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from daemon.audio.voice import PITCH_RANGE, SPEED, SPEED_RANGE

Audio = npt.NDArray[np.float64]

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


def tts(text: str, *, speed: float = SPEED, half_tone: float = 0.0) -> tuple[Audio, int]:
    """Raw synthesiser output scaled to -1..1, and its sample rate."""
    if not SPEED_RANGE[0] <= speed <= SPEED_RANGE[1] or not PITCH_RANGE[0] <= half_tone <= PITCH_RANGE[1]:
        raise ValueError(f"speed must be within {SPEED_RANGE} and pitch within {PITCH_RANGE} semitones")
    fn = _load_tts()
    samples, rate = fn(text, speed=speed, half_tone=half_tone, predict_nani=False)
    audio = np.asarray(samples, dtype=np.float64) / 32768.0
    if audio.ndim != 1 or audio.size == 0:
        raise ValueError(f"synthesiser returned no audio for {text!r}")
    return audio, int(rate)
