"""The value rules every front door shares: what a number, a line count, a name, an amount of yen may be.

They live here once, below the front doors: the API's bodies and the console's
forms are :mod:`daemon.services.inputs` built from them, and the CLI validates
its arguments with the same types through :class:`pydantic.TypeAdapter`.  One
number rule (:mod:`daemon.rules.numbers`) serves adding, looking up and removing a
number.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from daemon.repositories.counsellors import DIAL_STRING_PATTERN
from daemon.rules.bank_statements import kana
from daemon.rules.billing.limits import (
    MAX_CREDIT_LIMIT_YEN,
    MAX_ENTRY_YEN,
    MAX_MINIMUM_CHARGE_YEN,
    MAX_RATE_YEN_PER_MIN,
)
from daemon.rules.numbers import normalise_dialled_number, normalise_number, typed_number

# Times given without a zone are Japan time, and times shown to people are in it (no DST: a fixed offset).
TOKYO = timezone(timedelta(hours=9), "Asia/Tokyo")

MAX_LINES = 100_000
MAX_NAME = 200
MAX_TENANT_ID = 2**63 - 1  # bigserial

_FORBIDDEN_IN_NAMES = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # controls, invisible formatting, separators


def _check_text(value: str, what: str, *, required: bool) -> str:
    """The one rule for names and labels: trimmed, NFC, at most 200 characters, no controls."""
    text = unicodedata.normalize("NFC", value.strip())
    if required and not text:
        raise PydanticCustomError(
            "text", "the {what} must not be empty or only spaces", {"what": what, "japanese": "入力してください"}
        )
    if len(text) > MAX_NAME:
        raise PydanticCustomError(
            "text",
            "the {what} has {length} characters; at most {max} are allowed",
            {"what": what, "length": len(text), "max": MAX_NAME, "japanese": f"{MAX_NAME}文字以内で入力してください"},
        )
    if any(unicodedata.category(ch) in _FORBIDDEN_IN_NAMES for ch in text):
        raise PydanticCustomError(
            "text",
            "the {what} must not contain control characters (tabs, newlines, invisible formatting)",
            {"what": what, "japanese": "タブ・改行・見えない制御文字は使えません"},
        )
    return text


def check_name(value: str) -> str:
    return _check_text(value, "name", required=True)


def check_label(value: str) -> str:
    return _check_text(value, "label", required=False)


def _number_schema(description: str, examples: list[str]) -> WithJsonSchema:
    """How a number field reads in the OpenAPI document (the validator itself is Python): digits, as people
    write them too (``03-1234-5678``, ``03 1234 5678``, full-width), a leading ``+81``."""
    pattern = r"^\s*(0|\+81|０|＋８１)[-‐‑‒–—―−ー－() 　0-9０-９（）]{9,20}\s*$"
    return WithJsonSchema({"type": "string", "pattern": pattern, "description": description, "examples": examples})


PhoneNumber = Annotated[
    str,
    Field(strict=True),
    BeforeValidator(typed_number),
    AfterValidator(normalise_number),
    _number_schema(
        "Japanese number: national (0312345678) or +81 (+81312345678); hyphens, spaces and full-width digits"
        " as people write them (03-1234-5678) are dropped; stored in national digits",
        ["0312345678", "0120123456", "+81312345678"],
    ),
]
Lines = Annotated[
    int,
    Field(strict=True, ge=0, le=MAX_LINES, description="concurrent calls the tenant may have"),
]
TenantName = Annotated[
    str,
    Field(strict=True, min_length=1, max_length=MAX_NAME, description="no control characters"),
    AfterValidator(check_name),
]
Label = Annotated[
    str,
    Field(strict=True, max_length=MAX_NAME, description="free text for people, may be empty; no control characters"),
    AfterValidator(check_label),
]
Product = Literal["coaching", "ivr", "duty"]  # duty: the counsellors' duty line (daemon/calls/duty.py)

# Coaching Dial: people, tariffs and money.

Name = Annotated[str, Field(strict=True, min_length=1, max_length=200), AfterValidator(check_name)]


_FURIGANA = re.compile(r"[ァ-ヴー\u3000A-Z0-9().,\-/]*")
MAX_FURIGANA = 100


def check_furigana(value: str) -> str:
    """A フリガナ / 振込名義 as banks carry it: katakana (hiragana and half-width typed are converted), stored
    in full-width katakana with one space between words; the letters, digits and ().-/ of a 振込名義 too."""
    text = kana.display(value)
    if len(text) > MAX_FURIGANA or not _FURIGANA.fullmatch(text.upper()):
        raise PydanticCustomError(
            "furigana",
            "furigana is katakana or hiragana (the name as the bank transfer shows it), at most {max} characters",
            {
                "max": MAX_FURIGANA,
                "japanese": f"フリガナはカタカナかひらがなで{MAX_FURIGANA}文字以内で入力してください",
            },
        )
    return text


Furigana = Annotated[str, Field(strict=True, max_length=400), AfterValidator(check_furigana)]
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
    BeforeValidator(typed_number),
    AfterValidator(normalise_dialled_number),
    _number_schema(
        "Japanese number, national (09012345678, 090-1234-5678) or +81; not premium-rate (0990), caller-pays"
        " (0570), 0180 or M2M (020)",
        ["09012345678", "0312345678", "+819012345678"],
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
