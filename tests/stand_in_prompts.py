"""Short stand-in prompt WAVs for call-flow tests and benchmarks."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

from daemon.prompts.catalog import PROMPTS


def write_prompts(directory: Path, seconds: float = 0.1, **longer: float) -> Path:
    """Short stand-in WAVs for every prompt name (8 kHz 16-bit mono, a quiet 440 Hz tone).

    Call-flow tests care which prompt plays, not what it says; the emulator plays a
    WAV for its real duration, so short files keep those tests fast.  Real prompt
    synthesis is tested in tests/prompts.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for name in PROMPTS:
        write_wav(directory / f"{name}.wav", longer.get(name, seconds))
    return directory


def write_wav(path: Path, seconds: float) -> Path:
    """One stand-in WAV of ``seconds`` (8 kHz 16-bit mono, a quiet 440 Hz tone)."""
    frames = int(8000 * seconds)
    tone = b"".join(struct.pack("<h", int(800 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(frames))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(tone)
    return path
