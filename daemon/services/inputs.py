"""What people send to the operations: the API's request bodies, the console's forms, the CLI's arguments.

Strict pydantic models over the value rules of :mod:`daemon.services.values`
(an amount is an int, never "1000"); the console reads what a person typed into
them (:mod:`daemon.console.forms`), the API parses its JSON into them.  Unknown
fields are refused.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from daemon.rules.billing.limits import MAX_ENTRY_YEN
from daemon.services.values import (
    TOKYO,
    Billing,
    CounsellorPhone,
    CreditLimit,
    DialString,
    EntryYen,
    Flag,
    IdempotencyKey,
    Label,
    Lines,
    Members,
    Memo,
    MinimumCharge,
    Name,
    PaymentMethod,
    PhoneNumber,
    Product,
    QueryTime,
    RatePerMinute,
    RowId,
    RowIdQuery,
    Seconds,
    Strategy,
    TenantName,
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantCreate(_In):
    name: TenantName
    lines: Lines


class LinesUpdate(_In):
    lines: Lines


class NumberCreate(_In):
    number: PhoneNumber
    product: Product


class TokenCreate(_In):
    label: Label = ""


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
    queue_enabled: Annotated[bool, Field(strict=True, description="a waiting line when every member is busy")] = False
    queue_max_wait_s: Annotated[int, Field(strict=True, ge=10, le=3600)] = 300
    queue_max_length: Annotated[int, Field(strict=True, ge=1, le=500)] = 10
    queue_announce_s: Annotated[int, Field(strict=True, ge=10, le=600, description="position announced every")] = 30
    minimum_talk_seconds: Annotated[
        int,
        Field(
            strict=True,
            ge=1,
            le=3600,
            description="a prepaid caller (or one with a credit limit) is offered only to members"
            " whose rate their money covers for this long",
        ),
    ] = 60
    members: Members = Field(default_factory=list)


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


class _Period(_In):
    """A listing filtered by ``since`` and ``until`` (its subclasses declare them)."""

    def in_tokyo(self) -> Self:
        """The same filters, with times given without a zone read as Japan time (a person's "9:00")."""
        zoned = {k: v.replace(tzinfo=TOKYO) for k in ("since", "until") if (v := getattr(self, k)) and not v.tzinfo}
        return self.model_copy(update=zoned) if zoned else self


class CallQuery(_Period):
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


class AuditQuery(_Period):
    """Filters of the audit log (query string); every one narrows, none: the newest rows."""

    since: QueryTime | None = Field(None, description="changes at or after, ISO 8601; without a zone: Asia/Tokyo")
    until: QueryTime | None = Field(None, description="changes before, ISO 8601; without a zone: Asia/Tokyo")
    actor: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None, description='who, as the log names them: a console login, "admin-api", "tenant-token:7", "cli:root"'
    )
    actor_kind: Literal["admin_token", "tenant_token", "console", "cli", "system"] | None = None
    object: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description='what was changed, e.g. "caller 12"; a trailing * matches a prefix ("caller *")'
    )
    action: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None, description='e.g. "ledger.deposit"; a trailing * matches a prefix ("ledger.*")'
    )
    tenant_id: RowIdQuery | None = Field(None, description="the platform's view only: one tenant's changes")
    before_id: RowIdQuery | None = Field(None, description="paging: rows older than this id (next_before_id)")
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
