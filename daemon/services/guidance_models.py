"""Bodies of the customer guidance API (``/api/v1/operator/guidance``).

An answer names the audio by the URL that downloads it, never by its place on
the server's disk (the database keeps that, for FreeSWITCH): a customer has no
use for a server path, and a stranger who sees one learns the layout.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from daemon.audio.report import Report
from daemon.audio.voice import PITCH_RANGE, SPEED_RANGE
from daemon.services.values import TenantName

GuidanceName = Annotated[TenantName, Field(description="the tenant's own name for it, unique per tenant")]


class SpeechIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: GuidanceName | None = Field(None, description="required to create; on replace, a new name (optional)")
    text: str = Field(min_length=1, max_length=10000, description="Japanese text to be read")
    speed: float = Field(1.0, ge=SPEED_RANGE[0], le=SPEED_RANGE[1], description="1.0 = the voice's own pace")
    pitch: float = Field(0.0, ge=PITCH_RANGE[0], le=PITCH_RANGE[1], description="semitones up (+) or down (-)")


class GuidanceOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    kind: str = Field(description="upload or speech")
    audio_url: str | None = Field(description="download of the 8 kHz WAV a call plays (none before processing)")
    wideband_audio_url: str | None = Field(description="16 kHz WAV, played by itself on wideband calls")
    digest: str | None
    original_name: str | None
    text: str | None = None
    speed: float | None = None
    pitch: float | None = None
    report: Report | None = Field(description="what the processing did")
    created_at: datetime
    updated_at: datetime


class GuidanceList(BaseModel):
    model_config = ConfigDict(frozen=True)

    guidance: list[GuidanceOut]


AUDIO_URL = "/api/v1/operator/guidance/{id}/audio?rate={rate}"


def _report(row: Any) -> Report | None:
    """The stored report, each output's file given as its download URL."""
    if not row.report:
        return None
    report = Report.model_validate(row.report)
    outputs = [o.model_copy(update={"file": AUDIO_URL.format(id=row.id, rate=o.rate)}) for o in report.outputs]
    return report.model_copy(update={"outputs": outputs})


def out(row: Any) -> GuidanceOut:
    return GuidanceOut(
        id=row.id,
        name=row.name,
        kind=row.kind,
        audio_url=AUDIO_URL.format(id=row.id, rate=8000) if row.digest else None,
        wideband_audio_url=AUDIO_URL.format(id=row.id, rate=16000) if row.digest and row.wideband_path else None,
        digest=row.digest,
        original_name=row.original_name,
        text=row.speech_text,
        speed=row.speech_speed,
        pitch=row.speech_pitch,
        report=_report(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
