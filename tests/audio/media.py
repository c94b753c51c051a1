"""Real media files for the guidance tests and benchmark, encoded with PyAV (FFmpeg in the wheel).

``speech_like`` makes a voice-like signal (voiced syllables with gliding pitch and a spectral
tilt, pauses between them) so loudness, trimming and the limiter meet what a recording has;
``encode`` writes it in any container/codec PyAV can encode.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float64]


def speech_like(seconds: float, rate: int, *, level: float = 0.3, seed: int = 1, lead: float = 0.0) -> Audio:
    """Mono syllables (120-220 Hz voices, harmonics to 7 kHz, 1/k tilt) with pauses; ``lead`` s of silence first."""
    rng = np.random.default_rng(seed)
    out = np.zeros(round(seconds * rate))
    t = round(lead * rate)
    while t < len(out):
        length = round(rng.uniform(0.12, 0.30) * rate)
        n = np.arange(min(length, len(out) - t))
        f0 = rng.uniform(120, 220) * (1 + 0.15 * n / max(1, length))
        phase = 2 * np.pi * np.cumsum(f0) / rate
        voiced = sum(np.sin(k * phase) / k for k in range(1, int(7000 / 260)))
        env = np.sin(np.pi * n / max(1, length)) ** 2
        out[t : t + len(n)] += level * env * voiced / 2.0
        t += length + round(rng.choice([0.03, 0.05, 0.08, 0.4], p=[0.4, 0.3, 0.2, 0.1]) * rate)
    return out


@dataclass(frozen=True)
class Format:
    container: str
    codec: str
    suffix: str
    rate: int | None = None  # encoder's rate when it differs from the signal's (AMR: 8000, Opus: 48000)
    mono_only: bool = False


FORMATS = {
    "mp3": Format("mp3", "libmp3lame", ".mp3"),
    "m4a": Format("ipod", "aac", ".m4a"),
    "wav16": Format("wav", "pcm_s16le", ".wav"),
    "wav24": Format("wav", "pcm_s24le", ".wav"),
    "wav8": Format("wav", "pcm_u8", ".wav"),
    "wav_float": Format("wav", "pcm_f32le", ".wav"),
    "flac": Format("flac", "flac", ".flac"),
    "ogg_opus": Format("ogg", "libopus", ".ogg", rate=48000),
    "webm_opus": Format("webm", "libopus", ".webm", rate=48000),
    "amr": Format("amr", "libopencore_amrnb", ".amr", rate=8000, mono_only=True),
}


def _layout(channels: int) -> str:
    return "stereo" if channels == 2 else "mono"


def encode(
    path: Path,
    samples: Audio,
    rate: int,
    fmt: Format,
    *,
    video: bool = False,
    audio: bool = True,
) -> Path:
    """Write ``samples`` (channels x n, or n for mono) as ``fmt``; ``video`` adds a small MPEG-4 picture."""
    data = np.atleast_2d(samples).astype(np.float32)
    if fmt.mono_only:
        data = data.mean(axis=0, keepdims=True)
    enc_rate = fmt.rate or rate
    if enc_rate != rate:
        resampler = av.AudioResampler(format="fltp", layout=_layout(data.shape[0]), rate=enc_rate)
    else:
        resampler = None
    with av.open(str(path), "w", format=fmt.container) as out:
        stream = (
            cast(av.AudioStream, out.add_stream(fmt.codec, rate=enc_rate, layout=_layout(data.shape[0])))
            if audio
            else None
        )
        picture = None
        if video:
            picture = out.add_stream("mpeg4", rate=10)
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        step = 4096
        seconds = data.shape[1] / rate
        frames_done = 0
        for start in range(0, data.shape[1], step):
            if stream is not None:
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(data[:, start : start + step]), format="fltp", layout=_layout(data.shape[0])
                )
                frame.sample_rate = rate
                frame.pts = start
                frame.time_base = Fraction(1, rate)
                frames = resampler.resample(frame) if resampler is not None else [frame]
                for f in frames:
                    for packet in stream.encode(f):
                        out.mux(packet)
            while picture is not None and frames_done < min(seconds, (start + step) / rate) * 10:
                image = av.VideoFrame.from_ndarray(np.full((48, 64, 3), frames_done % 255, np.uint8), format="rgb24")
                image.pts = frames_done
                for packet in picture.encode(image.reformat(format="yuv420p")):
                    out.mux(packet)
                frames_done += 1
        if stream is not None:
            if resampler is not None:
                for f in resampler.resample(None):
                    for packet in stream.encode(f):
                        out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        if picture is not None:
            for packet in picture.encode(None):
                out.mux(packet)
    return path


def stereo(mono: Audio, *, width: float = 0.1) -> Audio:
    """Two slightly different channels (a room: the right one a little quieter and later)."""
    right = np.concatenate([np.zeros(7), mono[:-7]]) * (1 - width)
    return np.stack([mono, right])
