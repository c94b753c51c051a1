"""Bodies of the customer guidance API (``/api/v1/operator/guidance``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from daemon.audio.report import Report
from daemon.prompts.voice import PITCH_RANGE, SPEED_RANGE
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
    path: str = Field(description="8 kHz WAV: what a flow hands to FreeSWITCH's playback")
    wideband_path: str | None = Field(description="16 kHz WAV; mod_sndfile picks it by itself on wideband calls")
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


def out(row: Any) -> GuidanceOut:
    return GuidanceOut(
        id=row.id,
        name=row.name,
        kind=row.kind,
        path=row.path,
        wideband_path=row.wideband_path,
        digest=row.digest,
        original_name=row.original_name,
        text=row.speech_text,
        speed=row.speech_speed,
        pitch=row.speech_pitch,
        report=Report.model_validate(row.report) if row.report else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
