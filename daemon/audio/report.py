"""What the guidance stage did, as the API answers it (also the child process's JSON result).

Levels that do not exist (the loudness of silence, −∞) are ``null``.  Pure pydantic: the
daemon imports this without numpy or PyAV.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class SourceInfo(BaseModel):
    kind: str = Field(description="upload or speech (typed text)")
    container: str | None = Field(None, description="FFmpeg demuxer: mp3, 'mov,mp4,m4a,3gp,3g2,mj2', wav, ogg, ...")
    container_long: str | None = None
    codec: str | None = Field(None, description="sound track codec: mp3, aac, pcm_s16le, opus, flac, amrnb, ...")
    codec_long: str | None = None
    sample_format: str | None = None
    sample_rate: int
    channels: int
    had_video: bool = False
    duration_s: float
    bytes: int | None = None


class Levels(BaseModel):
    loudness_lufs: float | None = Field(description="integrated loudness, ITU-R BS.1770-4 / EBU R128")
    true_peak_dbtp: float | None = Field(description="4x oversampled peak")


class InputLevels(Levels):
    sample_peak_dbfs: float | None = Field(description="largest sample of any channel at the input's own rate")
    clipped_samples: int = Field(description="samples in runs of 3+ at full scale (or beyond it)")
    clipping: bool


class Output(BaseModel):
    rate: int
    file: str = Field(description="path FreeSWITCH plays (absolute once stored)")
    duration_s: float
    loudness_lufs: float | None
    true_peak_dbtp: float | None


class Report(BaseModel):
    source: SourceInfo
    before: InputLevels = Field(description="the mono mix of the input at 16 kHz (peaks: see sample_peak_dbfs)")
    target_lufs: float
    true_peak_ceiling_dbtp: float
    gain_db: float = Field(description="gain applied to reach the target (before limiting)")
    limited: bool = Field(description="peaks had to be held down to the true-peak ceiling")
    trimmed_lead_s: float = Field(description="silence or room noise cut from the start")
    trimmed_tail_s: float = Field(description="silence or room noise cut from the end")
    lead_pad_s: float
    tail_pad_s: float
    steps: list[str]
    outputs: list[Output]
    digest: str = Field(description="sha256 of the 8 kHz WAV: the files' name")
