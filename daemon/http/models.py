"""Request and response bodies of the HTTP API, and the value rules they share with the CLI.

The rules (what a phone number, a line count, a name and a label may be) live
here once; the CLI validates its arguments with the same types through
:class:`pydantic.TypeAdapter`.  One number rule serves adding, looking up and
removing a number.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from daemon import numbers

# Times given without a zone are Japan time, and times shown to people are in it (no DST: a fixed offset).
TOKYO = timezone(timedelta(hours=9), "Asia/Tokyo")

MAX_LINES = 100_000
MAX_NAME = 200
MAX_TENANT_ID = 2**63 - 1  # bigserial

_FORBIDDEN_IN_NAMES = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # controls, invisible formatting, separators

# The number rule lives in daemon.numbers (one normaliser for the API, the CLI and the call flow).
normalise_number = numbers.normalise_number


def _check_text(value: str, what: str, *, required: bool) -> str:
    """The one rule for names and labels: trimmed, NFC, at most 200 characters, no controls."""
    text = unicodedata.normalize("NFC", value.strip())
    if required and not text:
        raise PydanticCustomError("text", "the {what} must not be empty or only spaces", {"what": what})
    if len(text) > MAX_NAME:
        raise PydanticCustomError(
            "text",
            "the {what} has {length} characters; at most {max} are allowed",
            {"what": what, "length": len(text), "max": MAX_NAME},
        )
    if any(unicodedata.category(ch) in _FORBIDDEN_IN_NAMES for ch in text):
        raise PydanticCustomError(
            "text",
            "the {what} must not contain control characters (tabs, newlines, invisible formatting)",
            {"what": what},
        )
    return text


def check_name(value: str) -> str:
    return _check_text(value, "name", required=True)


def check_label(value: str) -> str:
    return _check_text(value, "label", required=False)


PhoneNumber = Annotated[
    str,
    Field(strict=True),
    AfterValidator(normalise_number),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*(0|\+81)[1-9][0-9]{8,9}\s*$",
            "description": "Japanese number, digits only: national (0312345678) or +81 (+81312345678);"
            " stored in national form",
            "examples": ["0312345678", "0120123456", "+81312345678"],
        }
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
Product = Literal["coaching", "ivr"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


# Requests.


class TenantCreate(_Request):
    name: TenantName
    lines: Lines


class LinesUpdate(_Request):
    lines: Lines


class NumberCreate(_Request):
    number: PhoneNumber
    product: Product


# Responses.


class NumberOut(_Response):
    number: str
    product: Product


class Tenant(_Response):
    id: int
    name: str
    lines: int
    live_calls: int = Field(description="calls holding a line now, on every node")
    numbers: list[NumberOut]


class TenantList(_Response):
    tenants: list[Tenant]


class LinesChanged(_Response):
    tenant_id: int
    lines: int
    previous_lines: int


class NumberAssigned(_Response):
    number: str
    tenant_id: int
    product: Product


class Status(_Response):
    version: str
    node: str
    uptime_seconds: float
    db_reachable: bool
    esl_sessions: int = Field(description="open event-socket sessions on this node")


class ErrorDetail(_Response):
    loc: list[str | int] = Field(description='where the problem is, e.g. ["body", "lines"]')
    msg: str
    type: str


class Error(_Response):
    error: str = Field(description="what went wrong, for a human")
    detail: list[ErrorDetail] = Field(default_factory=list)
