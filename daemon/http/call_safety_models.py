"""The admin API's bodies for a tenant's call safety: international calls and the forwarding fraud guard."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class InternationalUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(description="true: the tenant's IVR may forward abroad (010…, +<country>…)")


class ForwardGuardUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_legs: int = Field(ge=0, le=1000, description="forwarded legs ringing or talking at once (0: none)")
    max_minutes_per_day: int = Field(ge=0, le=100000, description="forwarded talk per Asia/Tokyo day")


class RefusalCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    reason: str = Field(description="concurrent_legs, daily_minutes, or a destination policy code")
    count: int


class CallSafety(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: int
    international: bool
    max_legs: int
    max_minutes_per_day: int
    open_legs: int = Field(description="forwarded legs ringing or talking now")
    minutes_today: int = Field(description="forwarded talk so far this Asia/Tokyo day, whole minutes")
    refused_today: list[RefusalCount] = Field(description="forwards not dialled this Asia/Tokyo day, by reason")
