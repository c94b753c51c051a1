"""Bodies of the IVR API: flow versions, voicemail, the forwarding add-on and tariff."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from daemon.rules.ivr.models import Flow


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class VersionSummary(_Out):
    version: int
    live: bool = Field(description="new calls start with this version")
    created_at: datetime
    published_at: datetime | None = Field(description="when it first went live")


class VersionOut(VersionSummary):
    definition: Flow


class VersionList(_Out):
    versions: list[VersionSummary]


class VoicemailOut(_Out):
    id: int
    call_uuid: uuid.UUID
    flow_node: str
    caller_number: str = Field(description="national digits; empty when withheld")
    dialled: str
    duration_ms: int
    created_at: datetime


class VoicemailList(_Out):
    voicemails: list[VoicemailOut]


class VoicemailQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=10**9)] = 0


class TariffIn(BaseModel):
    """The per-duration tariff of a tenant's forwarded calls (the add-on itself: ``PUT …/forwarding``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit_seconds: Literal[1, 30, 60]
    yen_per_unit: Annotated[int, Field(ge=0, le=100_000, strict=True)]


class TariffOut(_Out):
    tenant_id: int
    unit_seconds: int
    yen_per_unit: int


class ForwardedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    since: datetime | None = Field(None, description="rung at or after (ISO 8601, UTC if no offset)")
    until: datetime | None = Field(None, description="rung before")
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=10**9)] = 0


class ForwardedLeg(_Out):
    leg_uuid: uuid.UUID
    call_uuid: uuid.UUID
    number: str = Field(description="the number rung")
    state: Literal["ringing", "talking", "ended"]
    outcome: str | None = Field(description="answered, busy, no_answer, failed, caller_hangup")
    created_us: int
    answer_us: int | None
    end_us: int | None
    billsec: int | None
    unit_seconds: int
    yen_per_unit: int
    charge_yen: int | None


class ForwardedList(_Out):
    legs: list[ForwardedLeg]


class ContractOut(_Out):
    enabled: bool = Field(description="the forwarding add-on")
    unit_seconds: int
    yen_per_unit: int
