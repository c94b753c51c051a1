"""Response bodies of the Coaching Dial operator API (the request bodies are :mod:`daemon.services.inputs`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from daemon.services.values import Billing, PaymentMethod, Strategy


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class TokenCreated(_Out):
    id: int
    tenant_id: int
    token: str = Field(description="shown once; only its hash is kept")


class CounsellorOut(_Out):
    id: int
    name: str
    phone_number: str | None
    dial_string: str = Field(
        description="what FreeSWITCH rings: the admin's override, or the template filled in;"
        " empty: the destination policy refuses the stored number, it is never rung"
    )
    dial_override: bool = Field(description="true: dial_string is a raw override set by the admin")
    rate_yen_per_min: int | None
    on_duty: bool
    in_call: bool
    missed_in_row: int
    last_call_end: datetime | None


class CounsellorList(_Out):
    counsellors: list[CounsellorOut]


class GroupOut(_Out):
    id: int
    code: str
    name: str
    rate_yen_per_min: int
    strategy: Strategy
    ring_timeout_s: int
    free_seconds: int
    minimum_charge_yen: int
    max_missed: int
    wrapup_seconds: int
    warning_seconds: int
    queue_enabled: bool
    queue_max_wait_s: int
    queue_max_length: int
    queue_announce_s: int
    minimum_talk_seconds: int
    members: list[int]


class GroupList(_Out):
    groups: list[GroupOut]


class CallerOut(_Out):
    id: int
    name: str
    numbers: list[str]
    has_pin: bool = Field(description="the PIN itself is never shown")
    billing: Billing
    payment_method: PaymentMethod
    credit_limit_yen: int | None
    balance_yen: int = Field(description="negative for a postpaid caller who owes")


class CallerList(_Out):
    callers: list[CallerOut]


class EntryOut(_Out):
    id: int
    caller_id: int
    kind: str
    amount_yen: int
    balance_after: int
    call_uuid: uuid.UUID | None
    idempotency_key: str | None
    memo: str
    created_at: datetime
    refund_of: int | None = Field(None, description="refunds: the ledger id of the charge given back")
    replayed: bool = Field(False, description="true: this request was a replay; nothing new was booked")


class Ledger(_Out):
    caller_id: int
    balance_yen: int
    entries: list[EntryOut]


class CallOut(_Out):
    call_uuid: uuid.UUID
    created_at: datetime
    caller_id: int | None
    caller_number: str
    group_id: int | None
    counsellor_id: int | None
    state: str
    answer_us: int | None
    end_us: int | None
    billed_seconds: int | None
    charge_yen: int | None
    hangup_cause: str | None
    ended_by: str | None


class CallList(_Out):
    calls: list[CallOut]
