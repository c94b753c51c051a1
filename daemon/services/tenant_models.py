"""What the platform's staff send to onboard a customer: billing contact, pool numbers, the whole onboarding.

Strict pydantic models over :mod:`daemon.services.values` (as
:mod:`daemon.services.inputs`), shared by the API's bodies, the console's forms
and the CLI's arguments.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from daemon.repositories.console_users import LOGIN
from daemon.services.values import Flag, Label, Lines, PhoneNumber, Product, TenantName

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ADDRESS_FORBIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _email(value: str) -> str:
    value = value.strip()
    if value and (not value.isascii() or not _EMAIL.fullmatch(value) or len(value) > 254):
        raise PydanticCustomError(
            "email",
            "{value} is not an e-mail address (name@example.jp)",
            {"value": value, "japanese": "メールアドレスの形式が正しくありません（例: name@example.jp）"},
        )
    return value


def _address(value: str) -> str:
    """A postal address: several lines allowed (CR LF read as LF), no other control characters."""
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").strip())
    if any(unicodedata.category(ch) in _ADDRESS_FORBIDDEN for ch in text.replace("\n", "")):
        raise PydanticCustomError(
            "address",
            "the address must not contain control characters other than line breaks",
            {"japanese": "住所に使えない制御文字が含まれています"},
        )
    return text


def _tokyo(value: str) -> str:
    if not value.startswith("03"):
        raise PydanticCustomError(
            "tokyo_number",
            "{value} is not a Tokyo number: the pool holds our 03 numbers only",
            {
                "value": value,
                "japanese": f"{value} は東京（03）の番号ではありません。番号在庫には03番号だけを登録できます",
            },
        )
    return value


def _login(value: str) -> str:
    value = value.strip().lower()
    if not LOGIN.fullmatch(value):
        raise PydanticCustomError(
            "login",
            "a login is 3 to 64 of a-z, 0-9, '.', '_', '@', '-', starting with a letter or digit",
            {"japanese": "ログインIDは半角英小文字・数字・「._@-」の3〜64文字で、英数字で始めてください"},
        )
    return value


Email = Annotated[str, Field(strict=True, max_length=254), AfterValidator(_email)]
Address = Annotated[str, Field(strict=True, max_length=500), AfterValidator(_address)]
PoolNumber = Annotated[PhoneNumber, AfterValidator(_tokyo)]
Login = Annotated[str, Field(strict=True, max_length=64), AfterValidator(_login)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BillingContactIn(_In):
    billing_name: Label = Field("", description="the invoice's 宛名; empty: the tenant's name")
    billing_address: Address = Field("", description="the invoice's address (several lines allowed)")
    billing_email: Email = Field("", description="where issued invoices are e-mailed; empty: not mailed")


class PoolNumberIn(_In):
    number: PoolNumber
    note: Label = ""


class InviteIn(_In):
    login: Login
    display_name: Label = ""
    email: Email = Field("", description="the one-time link is e-mailed here too; empty: only shown, to pass on")
    role: Product = Field("ivr", description="coaching: an operator; ivr: an IVR customer")


class Onboarding(BillingContactIn):
    """A new customer in one step: tenant, billing contact, product and number, lines, add-on, first user."""

    name: TenantName
    product: Product
    number: PoolNumber | None = Field(None, description="a free number of the pool, given to the product")
    lines: Lines = 1
    forwarding: Flag = False
    first_user: InviteIn | None = Field(None, description="invited with a one-time link that sets the password")


def role_of(product: str) -> str:
    """The console role of a product's customer."""
    return "operator" if product == "coaching" else "ivr"
