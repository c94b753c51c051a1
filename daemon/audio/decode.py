"""Decode any recording with PyAV (FFmpeg inside the wheel) into mono float at the working rate.

Streamed: packets are decoded one at a time and resampled (libswresample) to 16 kHz as they
come, so memory follows the *output* (16 kHz mono, 7.7 MB a minute), never the whole input.
On the way the input's own sample peak and clipping are measured at its native rate and
format.  The first audio stream is used (a video file's sound track; the picture is ignored).

Refusals (:class:`~daemon.audio.errors.AudioRejected`): not a media file, no audio stream,
a codec this FFmpeg cannot decode, corrupt or truncated data, longer than the limit (checked
on the container's header *and* while decoding, since headers can lie), no samples at all.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import av
import av.error
import numpy as np
import numpy.typing as npt

from daemon.audio.errors import AudioRejected

Audio = npt.NDArray[np.float64]

WORK_RATE: Final = 16000
CLIP_LEVEL: Final = 0.9999  # |sample| at or above this is full scale (int16 32764 and up)
CLIP_RUN: Final = 3  # this many full-scale samples in a row are clipping, not a peak
TRUNCATED_RATIO: Final = 0.9  # decoded less than this share of the declared duration: truncated


@dataclass(frozen=True, slots=True)
class Source:
    container: str  # FFmpeg's demuxer name: mp3, "mov,mp4,m4a,3gp,3g2,mj2", wav, ogg, "matroska,webm", ...
    container_long: str
    codec: str  # mp3, aac, pcm_s24le, opus, flac, amrnb, ...
    codec_long: str
    sample_format: str  # the decoder's output: s16, s32, fltp, ...
    sample_rate: int
    channels: int
    had_video: bool
    duration_s: float  # decoded
    sample_peak: float  # linear, over every channel, native rate
    clipped_samples: int


@dataclass(frozen=True, slots=True)
class Decoded:
    source: Source
    samples: Audio  # mono (mean of the channels), WORK_RATE
    rate: int


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.EOFError):
        raise AudioRejected(
            "not_audio", "this is not an audio or video file we can read (or it is damaged beyond reading)"
        ) from None
    except av.error.FFmpegError as exc:
        raise AudioRejected("corrupt", f"the file cannot be opened: {exc.strerror or exc}") from None


def _native_float(frame: av.AudioFrame) -> npt.NDArray[np.float64]:
    """The frame's samples as float (channels x n), integer formats scaled to -1..1."""
    a = frame.to_ndarray()
    if frame.format.is_packed:
        a = a.reshape(-1, len(frame.layout.channels)).T
    return _as_float(a)


def _peak(frame: av.AudioFrame) -> float:
    """Largest |sample| of a frame, in -1..1 terms, without converting the frame to float."""
    a = frame.to_ndarray()
    if a.dtype == np.uint8:
        return max(int(a.max()) - 128, 128 - int(a.min())) / 128.0
    if a.dtype.kind == "i":
        return max(int(a.max()), -int(a.min())) / float(2 ** (8 * a.dtype.itemsize - 1))
    return max(float(a.max()), -float(a.min()))


def _as_float(a: np.ndarray) -> npt.NDArray[np.float64]:
    if a.dtype == np.uint8:
        return (a.astype(np.float64) - 128.0) / 128.0
    if a.dtype.kind == "i":
        scale = float(2 ** (8 * a.dtype.itemsize - 1))
        return np.asarray(a, dtype=np.float64) / scale
    return np.asarray(a, dtype=np.float64)


def _clipped(a: npt.NDArray[np.float64]) -> int:
    """Samples in runs of CLIP_RUN or more at full scale, plus float samples beyond full scale."""
    full = np.abs(a) >= CLIP_LEVEL
    if a.shape[1] < CLIP_RUN:
        return int(np.count_nonzero(np.abs(a) > 1.0))
    run = full[:, : 1 - CLIP_RUN].copy()
    for k in range(1, CLIP_RUN):
        run &= full[:, k : a.shape[1] - CLIP_RUN + 1 + k]
    marked = np.zeros_like(full)
    for k in range(CLIP_RUN):
        marked[:, k : a.shape[1] - CLIP_RUN + 1 + k] |= run
    return int(np.count_nonzero(marked) + np.count_nonzero((np.abs(a) > 1.0) & ~marked))


def _riff_shortfall(path: Path) -> float:
    """Share of a WAV's declared ``data`` chunk missing from the file (FFmpeg clamps it silently)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0.0
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk = f.read(8)
            declared: int = struct.unpack("<I", chunk[4:8])[0]
            if chunk[:4] == b"data":
                if declared in (0, 0xFFFFFFFF):  # streamed WAV: size unknown
                    return 0.0
                present = size - offset - 8
                return max(0.0, 1.0 - float(present) / float(declared))
            offset += 8 + declared + (declared & 1)
    return 0.0


def _declared_seconds(container: av.container.InputContainer, stream: av.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def decode(path: Path, *, max_seconds: float, rate: int = WORK_RATE) -> Decoded:
    with _open(path) as container:
        if not container.streams.audio:
            if container.streams.video:
                raise AudioRejected("no_audio_stream", "the file has a picture but no sound track")
            raise AudioRejected("not_audio", "this is not an audio or video file we can read")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        if ctx is None or ctx.codec is None or not ctx.codec.is_decoder:
            raise AudioRejected("unsupported_codec", "the sound track's codec is not supported")
        if container.format.name == "wav" and _riff_shortfall(path) > 1 - TRUNCATED_RATIO:
            raise AudioRejected("corrupt", "the WAV file ends early: part of its audio is missing (truncated upload?)")
        declared = _declared_seconds(container, stream)
        if declared is not None and declared > max_seconds:
            raise AudioRejected("too_long", f"the recording lasts {declared:.0f} s; the limit is {max_seconds:.0f} s")
        return _decode_stream(container, stream, declared, max_seconds=max_seconds, rate=rate)


def _decode_stream(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    declared: float | None,
    *,
    max_seconds: float,
    rate: int,
) -> Decoded:
    ctx = stream.codec_context
    resampler: av.AudioResampler | None = None
    chunks: list[Audio] = []
    peak, clipped, native_samples, native_rate, channels = 0.0, 0, 0, 0, 0
    sample_format = ""
    out_samples = 0

    def take(frames: list[av.AudioFrame]) -> None:
        nonlocal out_samples
        for out in frames:
            a = out.to_ndarray()  # dblp: (channels, n)
            chunks.append(a.mean(axis=0) if a.shape[0] > 1 else a[0].copy())
            out_samples += a.shape[1]
        if out_samples > max_seconds * rate:
            raise AudioRejected("too_long", f"the recording lasts more than the limit of {max_seconds:.0f} s")

    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                if not isinstance(frame, av.AudioFrame) or frame.samples == 0:
                    continue
                if resampler is None:
                    native_rate, channels = frame.sample_rate, len(frame.layout.channels)
                    sample_format = frame.format.name
                    layout = "stereo" if channels >= 2 else "mono"
                    resampler = av.AudioResampler(format="dblp", layout=layout, rate=rate)
                frame_peak = _peak(frame)
                peak = max(peak, frame_peak)
                if frame_peak >= CLIP_LEVEL:  # only then look for runs at full scale
                    clipped += _clipped(_native_float(frame))
                native_samples += frame.samples
                take(resampler.resample(frame))
        if resampler is not None:
            take(resampler.resample(None))
    except AudioRejected:
        raise
    except (av.error.FFmpegError, ValueError) as exc:
        raise AudioRejected("corrupt", f"the sound track is damaged and cannot be decoded ({exc})") from None

    if resampler is None or out_samples == 0:
        raise AudioRejected("corrupt", "the sound track holds no audio that can be decoded")
    duration = native_samples / native_rate
    if declared is not None and declared > 1.0 and duration < TRUNCATED_RATIO * declared:
        raise AudioRejected(
            "corrupt",
            f"the file ends early: {duration:.1f} s of the {declared:.1f} s it declares (truncated upload?)",
        )
    codec = ctx.codec
    source = Source(
        container=container.format.name,
        container_long=container.format.long_name,
        codec=codec.name,
        codec_long=codec.long_name,
        sample_format=sample_format,
        sample_rate=native_rate,
        channels=channels,
        had_video=bool(container.streams.video),
        duration_s=duration,
        sample_peak=peak if math.isfinite(peak) else 0.0,
        clipped_samples=clipped,
    )
    return Decoded(source=source, samples=np.concatenate(chunks), rate=rate)
