"""A tenant's monthly invoice: the seed's price list applied to one month (pure, integer yen).

Inputs: the contract history (every state of lines and forwarding add-on, with
the time it took effect, in the order the changes were made), the forwarded
calls answered in the month, and the month's adjustment lines.  Months are
calendar months in Asia/Tokyo.

- Base 14,800 yen a month including 1 line; each additional line 10,000 yen.
  The month's line count is the most lines in force at any moment of the month:
  a line added on any day costs the whole month, a line removed stops from the
  next month.  A tenant created on the last day pays the whole month.
- Forwarding add-on 10,000 yen for a month in which it was on at any moment,
  whatever the lines; forwarded calls cost what their legs were charged.
- Consumption tax (qualified invoice, 適格請求書): once per invoice and tax rate,
  on the sum of that rate's lines, rounded down.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

JST = ZoneInfo("Asia/Tokyo")
TAX_RATE_PERCENT = 10
TRANSFER_FEE_NOTE = "振込手数料はお客様のご負担となります"
_EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))
_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})")
_REGISTRATION = re.compile(r"T([0-9]{13})")


class NoContract(LookupError):
    """The tenant had no contract in that month (it did not exist yet)."""


# -- months ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A calendar month in Asia/Tokyo."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (2000 <= self.year <= 3000 and 1 <= self.month <= 12):
            raise ValueError(f"{self.year:04d}-{self.month:02d} is not a month (YYYY-MM, 2000-01 to 2999-12)")

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a month: write YYYY-MM, e.g. 2026-11")
        if int(match[1]) > 2999:
            raise ValueError(f"{text} is not a month (YYYY-MM, 2000-01 to 2999-12)")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def containing(cls, at: datetime) -> Period:
        local = at.astimezone(JST)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def compact(self) -> str:
        return f"{self.year:04d}{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        """00:00:00 JST on the first day (inclusive)."""
        return datetime(self.year, self.month, 1, tzinfo=JST)

    @property
    def end(self) -> datetime:
        """00:00:00 JST on the first day of the next month (exclusive)."""
        return self.next().start

    @property
    def start_us(self) -> int:
        return epoch_us(self.start)

    @property
    def end_us(self) -> int:
        return epoch_us(self.end)

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)


def epoch_us(at: datetime) -> int:
    """Microseconds since the epoch, as FreeSWITCH stamps them (exact, no float)."""
    return (at - _EPOCH) // timedelta(microseconds=1)


# -- what the month is made of ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContractState:
    """The contract as it was from ``at`` on (until the next change)."""

    at: datetime
    lines: int
    forwarding: bool


@dataclass(frozen=True, slots=True)
class ForwardingUsage:
    """Forwarded legs answered in the month (Asia/Tokyo, by answer time)."""

    calls: int = 0
    seconds: int = 0
    charge_yen: int = 0


@dataclass(frozen=True, slots=True)
class AdjustmentEntry:
    amount_yen: int  # positive: charged, negative: credited
    reason: str


@dataclass(frozen=True, slots=True)
class PriceList:
    base_yen: int = 14_800
    included_lines: int = 1
    extra_line_yen: int = 10_000
    forwarding_yen: int = 10_000


SEED_PRICES = PriceList()


@dataclass(frozen=True, slots=True)
class MonthUsage:
    max_lines: int
    forwarding: bool


def month_usage(history: Sequence[ContractState], period: Period) -> MonthUsage:
    """The most lines in force at any moment of the month, and whether the add-on ever was on.

    ``history`` is in the order the changes were made.  A change stamped earlier
    than the one before it (clocks of concurrent transactions) takes effect with
    its predecessor, never before it; a state replaced at the same instant still
    counts (it really was in force, briefly).
    """
    effective: list[datetime] = []
    for state in history:
        effective.append(state.at if not effective else max(effective[-1], state.at))
    in_force = []
    for i, state in enumerate(history):
        since = effective[i]
        until = effective[i + 1] if i + 1 < len(history) else None
        if since >= period.end:
            break
        if until is None or until > period.start or (until == since >= period.start):
            in_force.append(state)  # a state replaced at the same instant still was in force
    if not in_force:
        raise NoContract(f"no contract in {period}")
    return MonthUsage(max(s.lines for s in in_force), any(s.forwarding for s in in_force))


# -- the invoice -----------------------------------------------------------------


def check_registration_number(value: str) -> str:
    """A qualified-invoice issuer's registration number: ``T`` + 13 digits (empty: not configured).

    The 13 digits are the corporate number (法人番号) for companies, whose first
    digit checks the other twelve (9 − Σ digit × (1, 2, 1, 2, …) from the right, mod 9).
    """
    value = value.strip()
    if not value:
        return value
    match = _REGISTRATION.fullmatch(value)
    if match is None:
        raise ValueError("a registration number is T followed by 13 digits, e.g. T7000012050002")
    digits = match[1]
    weighted = sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(reversed(digits[1:])))
    if int(digits[0]) != 9 - weighted % 9:
        raise ValueError(f"{value} has a wrong check digit (the first of the 13 digits)")
    return value


RegistrationNumber = Annotated[str, AfterValidator(check_registration_number)]

LineCode = Literal["base", "extra_lines", "forwarding_addon", "forwarding_calls", "adjustment"]


class _Frozen(BaseModel):
    # Closed invoices are stored as this model's JSON and read back with it: add fields
    # only with defaults, never remove or rename one (a stored invoice must always load).
    model_config = ConfigDict(frozen=True, extra="forbid")


class Issuer(_Frozen):
    name: str = Field(description="適格請求書発行事業者の名称")
    registration_number: str = Field(description="登録番号: T + 13 digits")
    address: str = ""
    bank_account: str = Field("", description="振込先")

    @property
    def complete(self) -> bool:
        return bool(self.name.strip() and self.registration_number)


class InvoiceLine(_Frozen):
    code: LineCode
    description: str
    quantity: int
    unit: str
    unit_price_yen: int | None = Field(description="none for metered lines")
    amount_yen: int = Field(description="税抜, integer yen")
    tax_rate_percent: int = TAX_RATE_PERCENT


class TaxBucket(_Frozen):
    rate_percent: int
    taxable_yen: int = Field(description="税抜 sum of the lines at this rate")
    tax_yen: int = Field(description="消費税, rounded down, once per invoice and rate")


class Usage(_Frozen):
    max_lines: int = Field(description="most lines in force at any moment of the month")
    forwarding: bool = Field(description="the add-on was on at some moment of the month")
    forwarding_calls: int
    forwarding_seconds: int


class Invoice(_Frozen):
    number: str
    status: Literal["open", "closed"] = Field(description="open: a preview that may still change")
    tenant_id: int
    addressee: str = Field(description="宛名 (the tenant's billing name, else its name, when issued)")
    addressee_address: str = Field("", description="the addressee's postal address when issued")
    period: str = Field(description="YYYY-MM, Asia/Tokyo")
    period_start: date
    period_end: date
    issued_on: date
    due_on: date
    closed_at: datetime | None = None
    issuer: Issuer
    lines: list[InvoiceLine]
    taxes: list[TaxBucket]
    subtotal_yen: int = Field(description="税抜")
    tax_yen: int = Field(description="消費税")
    total_yen: int = Field(description="税込")
    usage: Usage
    payment_note: str = TRANSFER_FEE_NOTE


def invoice_number(tenant_id: int, period: Period) -> str:
    return f"INV-{tenant_id}-{period.compact}"


def tax_of(taxable_yen: int, rate_percent: int = TAX_RATE_PERCENT) -> int:
    """Consumption tax on one rate's sum, rounded down (integer arithmetic)."""
    if taxable_yen < 0:
        raise ValueError(f"the taxable sum is negative ({taxable_yen} yen): credits exceed the month's charges")
    return taxable_yen * rate_percent // 100


def invoice_lines(
    usage: MonthUsage,
    forwarded: ForwardingUsage,
    adjustments: Sequence[AdjustmentEntry],
    prices: PriceList = SEED_PRICES,
) -> list[InvoiceLine]:
    lines = [
        InvoiceLine(
            code="base",
            description=f"基本料金（{prices.included_lines}回線を含む）",
            quantity=1,
            unit="ヶ月",
            unit_price_yen=prices.base_yen,
            amount_yen=prices.base_yen,
        )
    ]
    extra = max(0, usage.max_lines - prices.included_lines)
    if extra:
        lines.append(
            InvoiceLine(
                code="extra_lines",
                description="追加回線",
                quantity=extra,
                unit="回線",
                unit_price_yen=prices.extra_line_yen,
                amount_yen=extra * prices.extra_line_yen,
            )
        )
    if usage.forwarding:
        lines.append(
            InvoiceLine(
                code="forwarding_addon",
                description="転送オプション",
                quantity=1,
                unit="ヶ月",
                unit_price_yen=prices.forwarding_yen,
                amount_yen=prices.forwarding_yen,
            )
        )
    if usage.forwarding or forwarded.calls:
        lines.append(
            InvoiceLine(
                code="forwarding_calls",
                description=f"転送通話料（通話時間 {_duration(forwarded.seconds)}）",
                quantity=forwarded.calls,
                unit="件",
                unit_price_yen=None,
                amount_yen=forwarded.charge_yen,
            )
        )
    lines.extend(
        InvoiceLine(
            code="adjustment",
            description=f"調整: {a.reason}",
            quantity=1,
            unit="式",
            unit_price_yen=a.amount_yen,
            amount_yen=a.amount_yen,
        )
        for a in adjustments
    )
    return lines


def build_invoice(
    *,
    tenant_id: int,
    addressee: str,
    period: Period,
    history: Sequence[ContractState],
    forwarded: ForwardingUsage,
    adjustments: Sequence[AdjustmentEntry],
    issuer: Issuer,
    issued_on: date,
    due_days: int,
    closed_at: datetime | None = None,
    prices: PriceList = SEED_PRICES,
    addressee_address: str = "",
) -> Invoice:
    usage = month_usage(history, period)
    lines = invoice_lines(usage, forwarded, adjustments, prices)
    rates = sorted({line.tax_rate_percent for line in lines})
    taxes = []
    for rate in rates:
        taxable = sum(line.amount_yen for line in lines if line.tax_rate_percent == rate)
        taxes.append(TaxBucket(rate_percent=rate, taxable_yen=taxable, tax_yen=tax_of(taxable, rate)))
    subtotal = sum(t.taxable_yen for t in taxes)
    tax = sum(t.tax_yen for t in taxes)
    return Invoice(
        number=invoice_number(tenant_id, period),
        status="open" if closed_at is None else "closed",
        tenant_id=tenant_id,
        addressee=addressee,
        addressee_address=addressee_address,
        period=str(period),
        period_start=period.first_day,
        period_end=period.last_day,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=due_days),
        closed_at=closed_at,
        issuer=issuer,
        lines=lines,
        taxes=taxes,
        subtotal_yen=subtotal,
        tax_yen=tax,
        total_yen=subtotal + tax,
        usage=Usage(
            max_lines=usage.max_lines,
            forwarding=usage.forwarding,
            forwarding_calls=forwarded.calls,
            forwarding_seconds=forwarded.seconds,
        ),
    )


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}時間{minutes:02d}分{secs:02d}秒" if hours else f"{minutes}分{secs:02d}秒"
