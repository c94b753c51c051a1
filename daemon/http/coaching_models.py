"""Bodies of the Coaching Dial operator API.  Money is integer yen: floats and strings are refused."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from daemon.billing.limits import (
    MAX_CREDIT_LIMIT_YEN,
    MAX_ENTRY_YEN,
    MAX_MINIMUM_CHARGE_YEN,
    MAX_RATE_YEN_PER_MIN,
)
from daemon.db.counsellors import DIAL_STRING_PATTERN
from daemon.http.models import TOKYO, Label, PhoneNumber, check_name
from daemon.numbers import normalise_dialled_number

Name = Annotated[str, Field(strict=True, min_length=1, max_length=200), AfterValidator(check_name)]
EntryYen = Annotated[
    int, Field(strict=True, gt=0, le=MAX_ENTRY_YEN, description=f"integer yen, 1 to {MAX_ENTRY_YEN:,}")
]
CreditLimit = Annotated[
    int, Field(strict=True, ge=0, le=MAX_CREDIT_LIMIT_YEN, description=f"integer yen, 0 to {MAX_CREDIT_LIMIT_YEN:,}")
]
MinimumCharge = Annotated[
    int,
    Field(strict=True, ge=0, le=MAX_MINIMUM_CHARGE_YEN, description=f"integer yen, 0 to {MAX_MINIMUM_CHARGE_YEN:,}"),
]
RatePerMinute = Annotated[int, Field(strict=True, ge=0, le=MAX_RATE_YEN_PER_MIN, description="integer yen per minute")]
Seconds = Annotated[int, Field(strict=True, ge=0, le=3600)]
DialString = Annotated[
    str,
    Field(
        strict=True,
        pattern=DIAL_STRING_PATTERN,
        description="a raw FreeSWITCH dial string, e.g. sofia/external/1001@192.0.2.10:5060",
    ),
]
CounsellorPhone = Annotated[
    str,
    Field(strict=True),
    AfterValidator(normalise_dialled_number),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*(0|\+81)[1-9][0-9]{8,9}\s*$",
            "description": "Japanese number, national (09012345678) or +81; not premium-rate (0990),"
            " caller-pays (0570), 0180 or M2M (020)",
            "examples": ["09012345678", "0312345678", "+819012345678"],
        }
    ),
]
Strategy = Literal["longest_idle", "round_robin", "sequential", "random", "ring_all"]
Billing = Literal["prepaid", "postpaid"]
PaymentMethod = Literal["card", "bank_transfer"]


def _printable(value: str) -> str:
    """PostgreSQL text cannot hold NUL, and keys and memos have no business holding controls."""
    if any(ord(ch) < 0x20 and ch not in "\t\n" for ch in value) or "\x7f" in value:
        raise ValueError("control characters (NUL and the like) are not allowed")
    return value


Memo = Annotated[str, Field(strict=True, max_length=1000), AfterValidator(_printable)]
RowId = Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]
RowIdQuery = Annotated[int, Field(ge=1, le=2**63 - 1)]  # query strings are text: parsed, then bounded
Flag = Annotated[bool, Field(strict=True)]


def _distinct(ids: list[int]) -> list[int]:
    if len(set(ids)) != len(ids):
        raise ValueError("a counsellor is listed twice")
    return ids


Members = Annotated[
    list[RowId], Field(max_length=500, description="counsellor ids, in hunting order"), AfterValidator(_distinct)
]
IdempotencyKey = Annotated[
    str, Field(strict=True, min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$", description="printable ASCII")
]


def _bounded_time(value: datetime) -> datetime:
    if not 2000 <= value.year <= 2100:
        raise ValueError("dates between the years 2000 and 2100 only")
    return value


QueryTime = Annotated[
    datetime, Field(description="ISO 8601; without a zone: Japan time (Asia/Tokyo)"), AfterValidator(_bounded_time)
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class TokenCreate(_In):
    label: Label = ""


class TokenCreated(_Out):
    id: int
    tenant_id: int
    token: str = Field(description="shown once; only its hash is kept")


class CounsellorIn(_In):
    name: Name
    phone_number: CounsellorPhone | None = Field(
        None,
        description="the counsellor's phone, national (09012345678) or +81; rung through"
        " CALLD_COUNSELLOR_DIAL_TEMPLATE. Required unless the admin set a dial string",
    )
    rate_yen_per_min: RatePerMinute | None = Field(None, description="overrides the group's rate")
    on_duty: Flag = False


class DialOverrideIn(_In):
    dial_string: DialString | None = Field(description="null drops the override: the phone number is rung again")


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


class DutyIn(_In):
    on_duty: Flag


class GroupIn(_In):
    code: Annotated[str, Field(strict=True, pattern=r"^[0-9]{1,6}$", description="what the caller keys")]
    name: Name
    rate_yen_per_min: RatePerMinute
    strategy: Strategy = "longest_idle"
    ring_timeout_s: Annotated[int, Field(strict=True, ge=1, le=120)] = 20
    free_seconds: Seconds = 0
    minimum_charge_yen: MinimumCharge = 0
    max_missed: Annotated[int, Field(strict=True, ge=1, le=100)] = 3
    wrapup_seconds: Seconds = 0
    warning_seconds: Annotated[int, Field(strict=True, ge=0, le=600)] = 60
    members: Members = Field(default_factory=list)


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
    members: list[int]


class GroupList(_Out):
    groups: list[GroupOut]


class MembersIn(_In):
    members: Members


class CallerIn(_In):
    name: Name
    numbers: list[PhoneNumber] = Field(default_factory=list, max_length=20)
    pin: Annotated[str | None, Field(strict=True, pattern=r"^[0-9]{4,8}$")] = None
    billing: Billing
    payment_method: PaymentMethod
    credit_limit_yen: CreditLimit | None = Field(None, description="postpaid only; none = no limit")

    @model_validator(mode="after")
    def _rules(self) -> CallerIn:
        if self.payment_method == "card" and self.billing != "postpaid":
            raise ValueError("card payers are postpaid: set billing to 'postpaid'")
        if self.billing == "prepaid" and self.credit_limit_yen is not None:
            raise ValueError("a credit limit applies to postpaid callers only; a prepaid caller's limit is the balance")
        if len(set(self.numbers)) != len(self.numbers):
            raise ValueError("the same number is listed twice")
        return self


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


class DepositIn(_In):
    amount_yen: EntryYen
    memo: Memo = ""
    idempotency_key: IdempotencyKey | None = Field(
        None, description="a retry with the same key and body books nothing twice"
    )


class PayoutIn(DepositIn):
    """Money paid back to the caller out of their balance (the balance never goes below 0)."""


class RefundIn(DepositIn):
    """A refund of one charge, named by its call or its ledger entry (at most what it charged, in all)."""

    call_uuid: uuid.UUID | None = Field(None, description="the call whose charge is refunded")
    charge_id: RowId | None = Field(None, description="or: the ledger id of the charge")

    @model_validator(mode="after")
    def _one_charge(self) -> RefundIn:
        if (self.call_uuid is None) == (self.charge_id is None):
            raise ValueError(
                "name the charge to refund by call_uuid or by charge_id (exactly one); to pay money back"
                " out of the balance, POST …/payouts"
            )
        return self


class AdjustmentIn(_In):
    amount_yen: Annotated[int, Field(strict=True, ge=-MAX_ENTRY_YEN, le=MAX_ENTRY_YEN)]
    memo: Memo = ""
    idempotency_key: IdempotencyKey | None = None

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentIn:
        if self.amount_yen == 0:
            raise ValueError("an adjustment of 0 yen changes nothing")
        return self


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


class CallQuery(_In):
    """Filters of the call-record listing (query string)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: QueryTime | None = Field(
        None, description="calls created at or after, ISO 8601 (2026-12-01T09:00); without a zone: Asia/Tokyo"
    )
    until: QueryTime | None = Field(
        None,
        description="calls created before, ISO 8601 (2026-12-02 or 2026-12-01T18:00+09:00); without a zone: Asia/Tokyo",
    )
    caller_id: RowIdQuery | None = None
    counsellor_id: RowIdQuery | None = None
    group_id: RowIdQuery | None = None
    state: Literal["hunting", "talking", "ended"] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=10**9)] = 0

    def in_tokyo(self) -> CallQuery:
        """The same filters, with times given without a zone read as Japan time (a person's "9:00")."""
        zoned = {k: v.replace(tzinfo=TOKYO) for k in ("since", "until") if (v := getattr(self, k)) and not v.tzinfo}
        return self.model_copy(update=zoned) if zoned else self


class CallList(_Out):
    calls: list[CallOut]
