"""Bodies of the invoice and contract admin API (the invoice itself is
:class:`daemon.rules.billing.invoice.Invoice`)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from daemon.services.values import IdempotencyKey

MAX_ADJUSTMENT_YEN = 100_000_000
_FORBIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # controls, invisible formatting, line separators


def _reason(value: str) -> str:
    reason = unicodedata.normalize("NFC", value.strip())
    if not reason:
        raise ValueError("give the reason, as it will be printed on the invoice")
    if len(reason) > 200:
        raise ValueError(f"the reason has {len(reason)} characters; at most 200 fit on the invoice")
    if any(unicodedata.category(ch) in _FORBIDDEN for ch in reason):
        raise ValueError("the reason is one line of text: no control characters, tabs or newlines")
    return reason


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ForwardingUpdate(_In):
    enabled: Annotated[bool, Field(strict=True, description="the forwarding add-on (+10,000 yen a month)")]


class ForwardingChanged(_Out):
    tenant_id: int
    forwarding: bool
    previous_forwarding: bool


class ContractChangeOut(_Out):
    id: int
    changed_at: datetime
    lines: int
    forwarding: bool


class ContractHistory(_Out):
    tenant_id: int
    changes: list[ContractChangeOut] = Field(description="every state of the contract, oldest first")


class AdjustmentCreate(_In):
    amount_yen: Annotated[
        int,
        Field(
            strict=True,
            ge=-MAX_ADJUSTMENT_YEN,
            le=MAX_ADJUSTMENT_YEN,
            description="integer yen before tax; negative credits the customer",
        ),
    ]
    reason: Annotated[str, Field(strict=True, max_length=1000), AfterValidator(_reason)]
    idempotency_key: IdempotencyKey | None = Field(None, description="a replay returns the first adjustment")

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentCreate:
        if self.amount_yen == 0:
            raise ValueError("an adjustment of 0 yen changes nothing")
        return self


class AdjustmentOut(_Out):
    id: int
    tenant_id: int
    period: str
    amount_yen: int
    reason: str
    idempotency_key: str | None
    created_at: datetime
    replayed: bool


class InvoiceSummary(_Out):
    number: str
    period: str
    issued_on: date
    due_on: date
    subtotal_yen: int
    tax_yen: int
    total_yen: int
    closed_at: datetime


class InvoiceList(_Out):
    tenant_id: int
    invoices: list[InvoiceSummary] = Field(description="closed invoices, oldest first")


class InvoiceMailed(_Out):
    number: str
    sent_to: str = Field(description="the tenant's billing e-mail address")
    sent_at: datetime
